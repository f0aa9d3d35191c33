package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// secretsGetCmd is `vaultctl secrets get`.
type secretsGetCmd struct {
	app       *app
	mount     string
	version   int
	noNewline bool
}

func newSecretsGetCmd(a *app) *cobra.Command {
	c := &secretsGetCmd{app: a}
	cmd := &cobra.Command{
		Use:   "get NAME [-v VERSION] [-n]",
		Short: "Print only the value of a named secret",
		Long: `Prints the value of NAME (latest version, or -v VERSION) and nothing else, for
use in $(vaultctl secrets get NAME). -n omits the trailing newline.`,
		Args: exactArgs(1),
		RunE: c.run,
	}
	bindCredMount(cmd, &c.mount)
	cmd.Flags().IntVarP(&c.version, "version", "v", 0, "version to print (default latest)")
	cmd.Flags().BoolVarP(&c.noNewline, "no-newline", "n", false, "do not print a trailing newline")
	return cmd
}

func (c *secretsGetCmd) run(cmd *cobra.Command, args []string) error {
	name := args[0]
	if err := validateName(name); err != nil {
		return err
	}
	if c.version < 0 {
		return usagef("-v must not be negative")
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	mount := c.app.credMount(c.mount)
	value, err := getValue(cmd, cl.KV(mount), name, c.version)
	if err != nil {
		return err
	}
	if !c.noNewline {
		value += "\n"
	}
	_, err = fmt.Fprint(c.app.stdout, value)
	return err
}

// Errors of getValue, matched by "secrets getall".
var (
	// errNameNotFound: no such name, or its version is deleted or destroyed.
	errNameNotFound = errors.New("not found")
	// errNoValueField: a KV secret that was not written by "secrets put".
	errNoValueField = errors.New(`no "value" key (not stored by "secrets put"; use "kv get")`)
)

// getValue reads the value of a named secret.
func getValue(cmd *cobra.Command, kv *client.KV, name string, version int) (string, error) {
	s, err := kv.Get(cmd.Context(), name, client.WithVersion(version))
	if errors.Is(err, client.ErrNotFound) {
		return "", fmt.Errorf("secret %s %w in %s/", name, errNameNotFound, kv.Mount())
	}
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", name, err)
	}
	v, ok := s.Data[valueKey]
	if !ok {
		return "", fmt.Errorf("secret %s: %w", name, errNoValueField)
	}
	return rawValue(v)
}
