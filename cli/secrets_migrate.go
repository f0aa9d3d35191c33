package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	sopsdecrypt "github.com/getsops/sops/v3/decrypt"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/secretumvault/secretumvault/client"
)

// secretsMigrateCmd is `vaultctl secrets migrate`.
type secretsMigrateCmd struct {
	app       *app
	mount     string
	fromSOPS  string
	prefix    string
	inputType string
	force     bool
}

func newSecretsMigrateCmd(a *app) *cobra.Command {
	c := &secretsMigrateCmd{app: a}
	cmd := &cobra.Command{
		Use:   "migrate --from-sops FILE [-prefix P] [-force]",
		Short: "Import the keys of a SOPS-encrypted file as named secrets",
		Long: `Decrypts a SOPS-encrypted YAML or JSON file (with the SOPS Go module, so with
the keys SOPS itself would use: age keys from $SOPS_AGE_KEY_FILE, $SOPS_AGE_KEY
or ~/.config/sops/age/keys.txt, and the other SOPS key sources) and stores each
key as a named secret, as "secrets put" would: nested maps become folders
({"db": {"password": ...}} is db/password), lists and other values are
stored as JSON, under the folder -prefix if given.

Every name is checked before anything is written. A name that exists already
is skipped (reported) unless -force, which stores a new version. The
cleartext stays in memory: nothing is written to disk. On a terminal, a
progress line counts the secrets stored.`,
		Args: noArgs,
		RunE: c.run,
	}
	bindCredMount(cmd, &c.mount)
	f := cmd.Flags()
	f.StringVar(&c.fromSOPS, "from-sops", "", "SOPS-encrypted file to import (required)")
	f.StringVar(&c.prefix, "prefix", "", "folder to store the names under")
	f.StringVar(&c.inputType, "input-type", "", "yaml or json (default: from the file's extension)")
	f.BoolVar(&c.force, "force", false, "store a new version of names that exist already")
	return cmd
}

// migrateResult is the json/yaml output of secrets migrate.
type migrateResult struct {
	Mount    string   `json:"mount"`
	Imported []string `json:"imported"`
	Skipped  []string `json:"skipped"`
}

func (c *secretsMigrateCmd) run(cmd *cobra.Command, _ []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	if c.fromSOPS == "" {
		return usagef("--from-sops FILE is required")
	}
	prefix, err := folderPrefix(c.prefix)
	if err != nil {
		return err
	}
	format, err := sopsFormat(c.fromSOPS, c.inputType)
	if err != nil {
		return err
	}
	clear, err := sopsdecrypt.File(c.fromSOPS, format)
	if err != nil {
		return fmt.Errorf("decrypting %s with sops: %w", c.fromSOPS, err)
	}
	values, err := flattenSecrets(clear, prefix)
	if err != nil {
		return fmt.Errorf("%s: %w", c.fromSOPS, err)
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	kv := cl.KV(c.app.credMount(c.mount))
	res, err := c.store(cmd.Context(), kv, values)
	if err != nil {
		return err
	}
	text := []string{fmt.Sprintf("Imported %d secret(s) from %s into %s/", len(res.Imported), filepath.Base(c.fromSOPS), kv.Mount())}
	for _, n := range res.Skipped {
		text = append(text, fmt.Sprintf("Skipped %s: exists (use -force for a new version)", n))
	}
	return p.print(document{Value: res, Sections: []section{{Text: text}}})
}

// store writes every value, in name order.
func (c *secretsMigrateCmd) store(ctx context.Context, kv *client.KV, values map[string]string) (migrateResult, error) {
	res := migrateResult{Mount: kv.Mount(), Imported: []string{}, Skipped: []string{}}
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	sort.Strings(names)
	prog := c.app.newCountProgress("Importing secrets", len(names))
	defer prog.done()
	for _, n := range names {
		var opts []client.PutOption
		if !c.force {
			opts = append(opts, client.WithCAS(0))
		}
		_, err := kv.Put(ctx, n, map[string]any{valueKey: values[n]}, opts...)
		prog.inc()
		switch {
		case err == nil:
			res.Imported = append(res.Imported, n)
		case !c.force && errors.Is(err, client.ErrInvalidRequest) && c.exists(ctx, kv, n):
			res.Skipped = append(res.Skipped, n)
		default:
			return res, fmt.Errorf("storing %s (after %d imported): %w", n, len(res.Imported), err)
		}
	}
	return res, nil
}

// exists tells a refused check-and-set (the name exists) from another
// refusal.
func (c *secretsMigrateCmd) exists(ctx context.Context, kv *client.KV, name string) bool {
	v, err := currentVersion(ctx, kv, name)
	return err == nil && v > 0
}

// sopsFormat picks the SOPS store format: -input-type, else the extension.
func sopsFormat(file, inputType string) (string, error) {
	t := strings.ToLower(inputType)
	if t == "" {
		switch strings.ToLower(filepath.Ext(file)) {
		case ".yaml", ".yml":
			t = "yaml"
		case ".json":
			t = "json"
		default:
			return "", usagef("cannot tell the format of %s from its extension: use -input-type yaml or json", file)
		}
	}
	if t != "yaml" && t != "json" {
		return "", usagef("-input-type %q: want yaml or json", inputType)
	}
	return t, nil
}

// flattenSecrets turns a YAML or JSON document (a map) into name → value:
// nested maps become folders, strings are kept as they are, anything else
// is stored as JSON. Every name must be valid.
func flattenSecrets(doc []byte, prefix string) (map[string]string, error) {
	var top map[string]any
	if err := yaml.Unmarshal(doc, &top); err != nil {
		return nil, fmt.Errorf("decrypted document is not a map of keys: %w", err)
	}
	out := map[string]string{}
	if err := flattenInto(out, prefix, top); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no keys to import")
	}
	return out, nil
}

func flattenInto(out map[string]string, prefix string, m map[string]any) error {
	for k, v := range m {
		name := prefix + k
		if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
			if err := flattenInto(out, name+"/", sub); err != nil {
				return err
			}
			continue
		}
		if err := validateName(name); err != nil {
			return fmt.Errorf("key %q: %w", name, err)
		}
		s, ok := v.(string)
		if !ok {
			b, err := json.Marshal(v)
			if err != nil {
				return fmt.Errorf("key %q: %w", name, err)
			}
			s = string(b)
		}
		out[name] = s
	}
	return nil
}
