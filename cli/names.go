package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/secretumvault/secretumvault/client"
)

// kvTarget addresses a KV v2 secret: the engine's mount and the path
// inside it.
type kvTarget struct {
	mount, path string
}

// parseKVPath resolves the PATH argument of the "kv" commands. With
// -mount set, arg is the path inside that mount; otherwise the first
// segment of arg is the mount, as in `vault kv put secret/app/db ...`
// (mount "secret", path "app/db"). Mounts with a slash in their name need
// -mount. allowRoot permits an empty path (kv list of a whole mount).
func parseKVPath(mountFlag, arg string, allowRoot bool) (kvTarget, error) {
	arg = strings.Trim(arg, "/")
	var t kvTarget
	if m := strings.Trim(mountFlag, "/"); m != "" {
		t = kvTarget{mount: m, path: arg}
	} else {
		t.mount, t.path, _ = strings.Cut(arg, "/")
	}
	if t.mount == "" {
		return t, usagef("no mount in %q: use MOUNT/PATH or -mount", arg)
	}
	if t.path == "" && !allowRoot {
		return t, usagef("no secret path after the mount in %q", arg)
	}
	if err := checkSegments(t.path); err != nil {
		return t, err
	}
	return t, nil
}

// api returns the API path of kind ("data", "metadata", ...) for t.
func (t kvTarget) api(kind string) string {
	if t.path == "" {
		return t.mount + "/" + kind + "/"
	}
	return t.mount + "/" + kind + "/" + t.path
}

// validateName checks a name of the credstash-style "secrets" commands.
//
// Mapping: NAME is used verbatim as the KV v2 path on the credential mount
// (-mount, $VAULTCTL_MOUNT, default "secret"), and the value is stored as
// {"value": VALUE}. "app/db.password" is therefore the secret
// secret/data/app/db.password; slashes make folders, dots are ordinary
// characters. A name must not be empty, start or end with "/", hold empty,
// "." or ".." segments, or contain control characters.
func validateName(name string) error {
	if name == "" {
		return usagef("empty secret name")
	}
	if strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") {
		return usagef("secret name %q must not start or end with /", name)
	}
	return checkSegments(name)
}

// checkSegments rejects empty, "." and ".." segments and control characters.
func checkSegments(p string) error {
	if p == "" {
		return nil
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return usagef("path %q holds an empty, \".\" or \"..\" segment", p)
		}
	}
	if strings.IndexFunc(p, unicode.IsControl) >= 0 {
		return usagef("path %q contains control characters", p)
	}
	return nil
}

// folderPrefix normalizes a PREFIX argument to "" or "a/b/".
func folderPrefix(prefix string) (string, error) {
	prefix = strings.Trim(prefix, "/")
	if prefix == "" {
		return "", nil
	}
	if err := checkSegments(prefix); err != nil {
		return "", err
	}
	return prefix + "/", nil
}

// maxWalkNames bounds a recursive listing, so a runaway server answer
// cannot make the CLI loop forever.
const maxWalkNames = 1_000_000

// walkNames lists every secret under the folder prefix ("" or "a/b/"),
// recursively, sorted.
func walkNames(ctx context.Context, kv *client.KV, prefix string) ([]string, error) {
	var names []string
	queue := []string{prefix}
	for len(queue) > 0 {
		dir := queue[0]
		queue = queue[1:]
		keys, err := kv.List(ctx, dir)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if k == "" || k == "/" {
				continue
			}
			if strings.HasSuffix(k, "/") {
				queue = append(queue, dir+k)
			} else {
				names = append(names, dir+k)
			}
			if len(names)+len(queue) > maxWalkNames {
				return nil, fmt.Errorf("more than %d entries under %q", maxWalkNames, prefix)
			}
		}
	}
	sort.Strings(names)
	return names, nil
}
