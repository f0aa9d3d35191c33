package cli

import (
	"context"
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
		Use:   "get NAME|PATTERN [KEY=VALUE ...] [-v VERSION] [-n]",
		Short: "Print only the value of a named secret",
		Long: `Prints the value of NAME (latest version, or -v VERSION) and nothing else, for
use in $(vaultctl secrets get NAME). -n omits the trailing newline;
-format=json|yaml prints {"name": NAME, "value": VALUE} instead.

KEY=VALUE arguments are the encryption context the value was stored with
("secrets put NAME VALUE KEY=VALUE ..."): the server decrypts only with the
same context, in any order; a wrong or missing one is refused by the server.

A NAME holding *, ? or [ is a pattern (as in credstash: 'app.*'): every
matching name is printed as a JSON object {"NAME": "VALUE"} (-format=yaml
for YAML). "*" does not cross "/".`,
		Args: minArgs(1),
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
	ec, err := parseContext(args[1:])
	if err != nil {
		return err
	}
	if isPattern(name) {
		if c.version != 0 {
			return usagef("-v cannot be used with a pattern")
		}
		return c.runPattern(cmd, name, ec)
	}
	p, cl, err := c.app.session()
	if err != nil {
		return err
	}
	r := valueReader{cl: cl, kv: cl.KV(c.app.credMount(c.mount)), ec: ec, strict: true}
	value, err := r.value(cmd.Context(), name, c.version)
	if err != nil {
		return err
	}
	if p.structured() {
		return p.print(document{Value: map[string]string{"name": name, "value": value}})
	}
	if !c.noNewline {
		value += "\n"
	}
	_, err = fmt.Fprint(c.app.stdout, value)
	return err
}

// runPattern prints every name matching pattern as a JSON (or YAML) object.
func (c *secretsGetCmd) runPattern(cmd *cobra.Command, pattern string, ec encContext) error {
	format := c.app.formatOrEnv()
	if format == "" || format == formatTable {
		format = formatJSON
	}
	p, err := newPrinter(c.app.stdout, format)
	if err != nil {
		return err
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	kv := cl.KV(c.app.credMount(c.mount))
	names, err := matchNames(cmd.Context(), kv, pattern)
	if err != nil {
		return err
	}
	r := valueReader{cl: cl, kv: kv, ec: ec}
	values, err := r.values(cmd.Context(), names, skipDeleted, nil)
	if err != nil {
		return err
	}
	return p.print(valuesDocument(values))
}

// Errors of valueReader, matched by "secrets getall".
var (
	// errNameNotFound: no such name, or its version is deleted or destroyed.
	errNameNotFound = errors.New("not found")
	// errNoValueField: a KV secret that was not written by "secrets put".
	errNoValueField = errors.New(`no "value" key (not stored by "secrets put"; use "kv get")`)
)

// valueReader reads named secrets' values, decrypting context-bound ones
// with ec. With strict set, a value stored without a context is refused
// when a context is given (one name asked for with a context); otherwise
// such values are returned as they are (patterns, getall, env).
type valueReader struct {
	cl     *client.Client
	kv     *client.KV
	ec     encContext
	strict bool
}

// value reads the value of a named secret (version 0: the latest).
func (r valueReader) value(ctx context.Context, name string, version int) (string, error) {
	s, err := r.kv.Get(ctx, name, client.WithVersion(version))
	if errors.Is(err, client.ErrNotFound) {
		return "", fmt.Errorf("secret %s %w in %s/", name, errNameNotFound, r.kv.Mount())
	}
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", name, err)
	}
	if _, bound := s.Data[encryptedWithKey]; bound {
		return openValue(ctx, r.cl, name, s.Data, r.ec)
	}
	v, ok := s.Data[valueKey]
	if !ok {
		return "", fmt.Errorf("secret %s: %w", name, errNoValueField)
	}
	if r.strict && len(r.ec) > 0 {
		return "", fmt.Errorf("secret %s %w: drop the KEY=VALUE arguments", name, errNotContextBound)
	}
	return rawValue(v)
}

// values reads every name's latest value. skip, when set, decides for
// each error whether the name is left out (true) or the whole read fails;
// done, when set, is called after each name.
func (r valueReader) values(ctx context.Context, names []string, skip func(string, error) bool, done func()) (map[string]string, error) {
	out := make(map[string]string, len(names))
	for _, n := range names {
		v, err := r.value(ctx, n, 0)
		if done != nil {
			done()
		}
		if err != nil {
			if skip != nil && skip(n, err) {
				continue
			}
			return nil, err
		}
		out[n] = v
	}
	return out, nil
}
