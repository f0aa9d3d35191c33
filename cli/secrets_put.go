package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// secretsPutCmd is `vaultctl secrets put`.
type secretsPutCmd struct {
	app          *app
	mount        string
	transitMount string
	cas          int
	version      int
	auto         bool
}

func newSecretsPutCmd(a *app) *cobra.Command {
	c := &secretsPutCmd{app: a}
	cmd := &cobra.Command{
		Use:   "put NAME VALUE|@file|- [KEY=VALUE ...] [-a | -v N | -cas N]",
		Short: "Store a new version of a named secret",
		Long: `Stores VALUE as a new version of NAME, i.e. {"value": VALUE} at the KV v2 path
NAME on the named-secrets mount. "@file" stores the file's contents and "-"
stdin, byte for byte (a trailing newline is kept).

Versions, as in credstash: -a stores the next version (check-and-set on the
current one, so two writers cannot both win); -v N stores exactly version N
and is refused when N exists already (or is not the next one: KV versions are
consecutive); -cas=N stores only if the current version is N (0: only if NAME
does not exist).

KEY=VALUE arguments are an encryption context: the value is then encrypted by
the transit engine (-transit-mount, default "transit") with the derived key
"credstash" (created if missing), the context being the key derivation
context, and KV keeps only the ciphertext. "secrets get NAME KEY=VALUE ..."
reads it back with the same context; the server refuses any other.`,
		Args: minArgs(2),
		RunE: c.run,
	}
	bindCredMount(cmd, &c.mount)
	f := cmd.Flags()
	f.IntVar(&c.cas, "cas", -1, "check-and-set: the version NAME must be at (0: must not exist)")
	f.IntVarP(&c.version, "version", "v", 0, "store exactly this version (refused if it exists)")
	f.BoolVarP(&c.auto, "autoversion", "a", false, "store the next version, atomically (check-and-set)")
	f.StringVar(&c.transitMount, "transit-mount", defaultTransitMnt, "transit mount that encrypts values stored with an encryption context")
	return cmd
}

// putResult is the json/yaml output of secrets put.
type putResult struct {
	Name         string `json:"name"`
	Mount        string `json:"mount"`
	Version      int    `json:"version"`
	ContextBound bool   `json:"context_bound,omitempty"`
}

// putPlan is a parsed "secrets put" command line.
type putPlan struct {
	name, value string
	ec          encContext
	cas         int // -1: none; -2: read the current version first (-a)
	version     int // -v N, 0 when not given
}

// casAuto asks for check-and-set on the version current when writing.
const casAuto = -2

// plan checks the arguments and flags.
func (c *secretsPutCmd) plan(args []string) (putPlan, error) {
	pl := putPlan{name: args[0], cas: c.cas, version: c.version}
	if err := validateName(pl.name); err != nil {
		return pl, err
	}
	set := 0
	for _, on := range []bool{c.auto, c.version != 0, c.cas >= 0} {
		if on {
			set++
		}
	}
	switch {
	case set > 1:
		return pl, usagef("-a, -v and -cas exclude each other")
	case c.version < 0:
		return pl, usagef("-v must be a version number (1 or more)")
	case c.cas < -1:
		return pl, usagef("-cas must not be negative")
	case c.auto:
		pl.cas = casAuto
	case c.version > 0:
		pl.cas = c.version - 1
	}
	ec, err := parseContext(args[2:])
	if err != nil {
		return pl, err
	}
	pl.ec = ec
	kvp := &kvParser{stdin: c.app.stdin}
	if pl.value, err = kvp.value(args[1]); err != nil {
		return pl, err
	}
	return pl, nil
}

func (c *secretsPutCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	pl, err := c.plan(args)
	if err != nil {
		return err
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	kv := cl.KV(c.app.credMount(c.mount))
	data := map[string]any{valueKey: pl.value}
	if len(pl.ec) > 0 {
		ref := transitRef{mount: strings.Trim(c.transitMount, "/"), key: transitKeyName}
		if ref.mount == "" {
			return usagef("empty -transit-mount")
		}
		if data, err = sealValue(ctx, cl, ref, pl.ec, pl.value); err != nil {
			return fmt.Errorf("storing %s: %w", pl.name, err)
		}
	}
	if pl.cas == casAuto {
		if pl.cas, err = currentVersion(ctx, kv, pl.name); err != nil {
			return err
		}
	}
	var opts []client.PutOption
	if pl.cas >= 0 {
		opts = append(opts, client.WithCAS(pl.cas))
	}
	meta, err := kv.Put(ctx, pl.name, data, opts...)
	if err != nil {
		return c.putError(ctx, kv, pl, err)
	}
	res := putResult{Name: pl.name, Mount: kv.Mount(), Version: meta.Version, ContextBound: len(pl.ec) > 0}
	return p.print(document{Value: res, Sections: []section{{
		Text: []string{fmt.Sprintf("Stored %s (version %d) in %s/", pl.name, meta.Version, kv.Mount())},
	}}})
}

// putError explains a refused -v N: the version exists, or is not next.
func (c *secretsPutCmd) putError(ctx context.Context, kv *client.KV, pl putPlan, err error) error {
	if pl.version == 0 || !errors.Is(err, client.ErrInvalidRequest) {
		return fmt.Errorf("storing %s: %w", pl.name, err)
	}
	cur, cerr := currentVersion(ctx, kv, pl.name)
	switch {
	case cerr != nil:
		return fmt.Errorf("storing %s: %w", pl.name, err)
	case cur >= pl.version:
		return fmt.Errorf("version %d of %s already exists (latest is %d): use -a for the next one", pl.version, pl.name, cur)
	default:
		return fmt.Errorf("version %d of %s cannot be stored: the latest is %d and versions are consecutive", pl.version, pl.name, cur)
	}
}

// currentVersion is NAME's current version, 0 when it does not exist.
func currentVersion(ctx context.Context, kv *client.KV, name string) (int, error) {
	m, err := kv.Metadata(ctx, name)
	if errors.Is(err, client.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the versions of %s: %w", name, err)
	}
	return m.CurrentVersion, nil
}
