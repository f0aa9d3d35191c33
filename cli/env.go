package cli

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// envCmd is `vaultctl env`.
type envCmd struct {
	app     *app
	mount   string
	prefix  string
	context []string
}

// childWaitDelay is how long a child asked to stop (SIGTERM, when vaultctl
// is interrupted) may take before it is killed.
const childWaitDelay = 10 * time.Second

func newEnvCmd(a *app) *cobra.Command {
	c := &envCmd{app: a}
	cmd := &cobra.Command{
		Use:   "env [-prefix P] [-context KEY=VALUE ...] -- CMD [ARGS ...]",
		Short: "Run a command with named secrets as environment variables",
		Long: `Reads every named secret under the folder -prefix (latest versions) and runs
CMD with them added to its environment, then exits with CMD's exit code.

The variable of a secret is its name below the prefix, upper-cased, with every
character other than a letter or digit as "_": with -prefix app,
"app/db.password" is DB_PASSWORD. Two names giving one variable are refused.
Context-bound secrets are decrypted with -context (repeatable); a refusal
stops before CMD is run.

CMD is executed directly (looked up in $PATH, no shell): the values are never
written to disk, never put on a command line (neither vaultctl's nor CMD's),
and are not in vaultctl's own environment.`,
		Args: minArgs(1),
		RunE: c.run,
	}
	cmd.Flags().SetInterspersed(false)
	bindCredMount(cmd, &c.mount)
	cmd.Flags().StringVar(&c.prefix, "prefix", "", "folder of the secrets to inject (default: every name)")
	cmd.Flags().StringArrayVar(&c.context, "context", nil, "KEY=VALUE of the encryption context (repeatable)")
	return cmd
}

func (c *envCmd) run(cmd *cobra.Command, args []string) error {
	prefix, err := folderPrefix(c.prefix)
	if err != nil {
		return err
	}
	ec, err := parseContext(c.context)
	if err != nil {
		return err
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		return &exitError{code: 127, msg: fmt.Sprintf("Error: %v", err)}
	}
	vars, err := c.secretVars(cmd, prefix, ec)
	if err != nil {
		return err
	}
	child := exec.CommandContext(cmd.Context(), path, args[1:]...)
	child.Args[0] = args[0]
	child.Env = mergeEnv(c.app.environ(), vars)
	child.Stdin, child.Stdout, child.Stderr = c.app.stdin, c.app.stdout, c.app.stderr
	child.Cancel = func() error { return child.Process.Signal(syscall.SIGTERM) }
	child.WaitDelay = childWaitDelay
	return childExit(child.Run())
}

// secretVars reads the secrets under prefix as NAME=value entries.
func (c *envCmd) secretVars(cmd *cobra.Command, prefix string, ec encContext) ([]string, error) {
	cl, err := c.app.client()
	if err != nil {
		return nil, err
	}
	kv := cl.KV(c.app.credMount(c.mount))
	names, err := walkNames(cmd.Context(), kv, prefix)
	if err != nil {
		return nil, fmt.Errorf("listing names: %w", err)
	}
	r := valueReader{cl: cl, kv: kv, ec: ec}
	values, err := r.values(cmd.Context(), names, c.skip, nil)
	if err != nil {
		return nil, err
	}
	rows := valuesDocument(values).Sections[0].Rows
	for _, row := range rows {
		row[0] = strings.TrimPrefix(row[0], prefix)
	}
	return envVars(rows)
}

// skip leaves out deleted names, and KV secrets not stored by "secrets
// put" with a warning; anything else (a refused context) stops.
func (c *envCmd) skip(name string, err error) bool {
	switch {
	case errors.Is(err, errNameNotFound):
		return true
	case errors.Is(err, errNoValueField):
		fmt.Fprintf(c.app.stderr, "warning: skipping %s: %v\n", name, errNoValueField)
		return true
	}
	return false
}

// mergeEnv returns base with vars added, a variable of vars replacing the
// same one in base.
func mergeEnv(base, vars []string) []string {
	set := make(map[string]bool, len(vars))
	for _, kv := range vars {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	out := make([]string, 0, len(base)+len(vars))
	for _, kv := range base {
		if k, _, _ := strings.Cut(kv, "="); !set[k] {
			out = append(out, kv)
		}
	}
	return append(out, vars...)
}

// childExit maps the child's end to vaultctl's: its exit code, or 128+N
// when signal N killed it, as shells do.
func childExit(err error) error {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		if err != nil {
			return fmt.Errorf("running the command: %w", err)
		}
		return nil
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return &exitError{code: 128 + int(ws.Signal())}
	}
	return &exitError{code: ee.ExitCode()}
}
