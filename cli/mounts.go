package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/secretumvault/secretumvault/client"
)

// The mount commands of the two tables, secrets engines (sys/mounts) and
// auth methods (sys/auth): "secrets list|enable|disable" and
// "auth list|enable|disable" differ only in words, the endpoint and a few
// extras of "secrets enable".

// mountListCmd is `vaultctl secrets list` and `vaultctl auth list`.
type mountListCmd struct {
	app      *app
	detailed bool
	doing    string
	list     func(*client.Sys, context.Context) (map[string]*client.MountOutput, error)
}

// newMountListCmd lists the table list reads; doing names the call in
// errors ("listing auth methods").
func newMountListCmd(a *app, short, doing string,
	list func(*client.Sys, context.Context) (map[string]*client.MountOutput, error)) *cobra.Command {
	c := &mountListCmd{app: a, doing: doing, list: list}
	cmd := &cobra.Command{
		Use:   "list [-detailed]",
		Short: short,
		Args:  noArgs,
		RunE:  c.run,
	}
	cmd.Flags().BoolVar(&c.detailed, "detailed", false, "also show options and TTLs")
	return cmd
}

func (c *mountListCmd) run(cmd *cobra.Command, _ []string) error {
	_, err := fetchAndPrint(cmd.Context(), c.app, c.doing, onSys(c.list), c.document)
	return err
}

func (c *mountListCmd) document(mounts map[string]*client.MountOutput) document {
	return mountsDocument(mounts, c.detailed)
}

func mountsDocument(mounts map[string]*client.MountOutput, detailed bool) document {
	header := []string{"Path", "Type", "Accessor", "Description"}
	if detailed {
		header = append(header, "Options", "Default TTL", "Max TTL")
	}
	var rows [][]string
	for _, path := range sortedKeys(mounts) {
		m := mounts[path]
		row := []string{path, m.Type, m.Accessor, m.Description}
		if detailed {
			row = append(row, cell(mapOrNil(m.Options)), ttlCell(m.Config.DefaultLeaseTTL), ttlCell(m.Config.MaxLeaseTTL))
		}
		rows = append(rows, row)
	}
	return document{Value: mounts, Sections: []section{{Header: header, Rows: rows}}}
}

// ttlCell shows 0 as "system" (the server default), as Vault does.
func ttlCell(seconds int) string {
	if seconds == 0 {
		return "system"
	}
	return humanDuration(seconds)
}

func mapOrNil(m map[string]string) any {
	if len(m) == 0 {
		return nil
	}
	return m
}

// mountDisable words one "disable" command.
type mountDisable struct {
	short string
	// prefix is dropped from the PATH argument ("auth/"), if any.
	prefix string
	// failed and done format the error and the success line with the path.
	failed, done string
	disable      func(*client.Sys, context.Context, string) error
}

// mountDisableCmd is `vaultctl secrets disable` and `vaultctl auth disable`.
type mountDisableCmd struct {
	app *app
	mountDisable
}

func newMountDisableCmd(a *app, d mountDisable) *cobra.Command {
	c := &mountDisableCmd{app: a, mountDisable: d}
	return &cobra.Command{
		Use:   "disable PATH",
		Short: d.short,
		Args:  exactArgs(1),
		RunE:  c.run,
	}
}

func (c *mountDisableCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	path := strings.Trim(args[0], "/")
	if c.prefix != "" {
		path = strings.TrimPrefix(path, c.prefix)
	}
	if path == "" {
		return usagef("empty mount path")
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	if err := c.disable(cl.Sys(), cmd.Context(), path); err != nil {
		return fmt.Errorf(c.failed+": %w", path, err)
	}
	p.success(c.done, path)
	return nil
}

// mountFlags are the flags "secrets enable" and "auth enable" share.
type mountFlags struct {
	path            string
	description     string
	options         []string
	defaultLeaseTTL string
	maxLeaseTTL     string
	local           bool
	sealWrap        bool
}

// mountFlagHelp words the help of mountFlags for one kind of mount.
type mountFlagHelp struct {
	// kind is what the TYPE is ("method", "engine"); of is what is
	// mounted ("method", "mount").
	kind, of           string
	defaultTTL, maxTTL string
}

// bind adds the flags to f.
func (m *mountFlags) bind(f *pflag.FlagSet, h mountFlagHelp) {
	f.StringVar(&m.path, "path", "", "mount path (default the "+h.kind+" type)")
	f.StringVar(&m.description, "description", "", "human-readable description")
	f.StringArrayVar(&m.options, "options", nil, h.kind+" option KEY=VALUE (repeatable)")
	f.StringVar(&m.defaultLeaseTTL, "default-lease-ttl", "", h.defaultTTL)
	f.StringVar(&m.maxLeaseTTL, "max-lease-ttl", "", h.maxTTL)
	f.BoolVar(&m.local, "local", false, "do not replicate the "+h.of+" to other clusters")
	f.BoolVar(&m.sealWrap, "seal-wrap", false, "seal-wrap the "+h.of+"'s data")
}

// input builds the request and the mount path (default typ) for an engine
// or method of type typ from the flags; Options is nil without -options.
func (m *mountFlags) input(typ string) (*client.MountInput, string, error) {
	path := strings.Trim(m.path, "/")
	if path == "" {
		path = typ
	}
	if err := checkSegments(path); err != nil || path == "" {
		return nil, "", usagef("invalid mount path %q", path)
	}
	for _, ttl := range []string{m.defaultLeaseTTL, m.maxLeaseTTL} {
		if err := checkDuration(ttl); err != nil {
			return nil, "", err
		}
	}
	in := &client.MountInput{Type: typ, Description: m.description, Local: m.local, SealWrap: m.sealWrap,
		Config: client.MountConfigInput{DefaultLeaseTTL: m.defaultLeaseTTL, MaxLeaseTTL: m.maxLeaseTTL}}
	for _, o := range m.options {
		k, v, ok := strings.Cut(o, "=")
		if !ok || k == "" {
			return nil, "", usagef("-options %q is not KEY=VALUE", o)
		}
		if in.Options == nil {
			in.Options = map[string]string{}
		}
		in.Options[k] = v
	}
	return in, path, nil
}

// checkDuration accepts what the server accepts (client.ParseDuration):
// "", seconds ("3600"), a Go duration ("1h") or days ("7d").
func checkDuration(s string) error {
	if _, err := client.ParseDuration(s); err != nil {
		return usagef("%q is not a duration (e.g. 1h, 30m, 3600, 7d)", s)
	}
	return nil
}
