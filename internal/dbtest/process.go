package dbtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// defaultBinGlobs is where Debian's postgresql packages put the server
// binaries (one directory per major version).
var defaultBinGlobs = []string{"/usr/lib/postgresql/*/bin"}

// serverBinaries are the programs the harness runs.
var serverBinaries = []string{"initdb", "pg_ctl", "postgres"}

// findBinDir returns the directory holding the server binaries: the
// highest-versioned match of globs, else the directory of initdb on PATH
// (lookPath nil: exec.LookPath). The error names the Debian package.
func findBinDir(globs []string, lookPath func(string) (string, error)) (string, error) {
	if lookPath == nil {
		lookPath = exec.LookPath
	}
	var dirs []string
	for _, g := range globs {
		m, err := filepath.Glob(g)
		if err != nil {
			return "", fmt.Errorf("bad binary glob %q: %w", g, err)
		}
		dirs = append(dirs, m...)
	}
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if hasBinaries(d) {
			return d, nil
		}
	}
	if p, err := lookPath("initdb"); err == nil && hasBinaries(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("PostgreSQL server binaries (%s) not found in %s or on PATH: "+
		"install the Debian package postgresql (apt-get install postgresql)",
		strings.Join(serverBinaries, ", "), strings.Join(globs, ", "))
}

// versionOf is the major version in a /usr/lib/postgresql/<v>/bin path
// (0 when there is none).
func versionOf(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

func hasBinaries(dir string) bool {
	for _, b := range serverBinaries {
		fi, err := os.Stat(filepath.Join(dir, b))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// runAs is the unprivileged user the server runs as when the tests run as
// root (initdb and postgres refuse to run as root).
type runAs struct {
	uid, gid uint32
}

// currentRunAs is nil when not root, else the postgres system user.
func currentRunAs() (*runAs, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, the server needs the postgres system user "+
			"(the Debian package postgresql creates it): %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("postgres user ids: %w", err)
	}
	return &runAs{uid: uint32(uid), gid: uint32(gid)}, nil
}

// prepareDir makes the temporary directory usable by the server's user:
// it owns the directory, and the directory's parent (t.TempDir's, 0700
// root) lets it traverse.
func (p *Postgres) prepareDir() error {
	if err := os.Mkdir(p.sockDir, 0o700); err != nil {
		return fmt.Errorf("socket dir: %w", err)
	}
	if p.runAs == nil {
		return nil
	}
	for _, d := range []string{p.dir, p.sockDir} {
		if err := os.Chown(d, int(p.runAs.uid), int(p.runAs.gid)); err != nil {
			return fmt.Errorf("handing %s to the postgres user: %w", d, err)
		}
	}
	parent := filepath.Dir(p.dir)
	fi, err := os.Stat(parent)
	if err != nil {
		return fmt.Errorf("temp dir parent: %w", err)
	}
	if err := os.Chmod(parent, fi.Mode().Perm()|0o111); err != nil {
		return fmt.Errorf("letting the postgres user traverse %s: %w", parent, err)
	}
	return nil
}

// initdb creates the cluster with the superuser's password and
// scram-sha-256 authentication for local and host connections.
func (p *Postgres) initdb() error {
	pwfile := filepath.Join(p.dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(p.password+"\n"), 0o600); err != nil {
		return fmt.Errorf("password file: %w", err)
	}
	defer os.Remove(pwfile)
	if p.runAs != nil {
		if err := os.Chown(pwfile, int(p.runAs.uid), int(p.runAs.gid)); err != nil {
			return fmt.Errorf("password file: %w", err)
		}
	}
	return p.run([]string{filepath.Join(p.bin, "initdb"), "-D", p.dataDir,
		"--username=" + superUser, "--pwfile=" + pwfile, "--auth=scram-sha-256",
		"--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"})
}

// run runs a server program as the server's user, in the temporary
// directory, and returns its output with any failure.
func (p *Postgres) run(args []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout+10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = p.dir
	cmd.Env = serverEnv()
	// pg_ctl start leaves the server running; its output goes to the log
	// file, but bound the wait on our pipe in case a child keeps it.
	cmd.WaitDelay = 5 * time.Second
	if p.runAs != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{
			Uid: p.runAs.uid, Gid: p.runAs.gid, Groups: []uint32{},
		}}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// serverEnv is the environment without libpq/server variables that could
// point the programs elsewhere.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C")
}
