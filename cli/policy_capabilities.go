package cli

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
)

// policyCapabilitiesCmd is `vaultctl policy capabilities`.
type policyCapabilitiesCmd struct {
	app      *app
	token    string
	accessor string
}

func newPolicyCapabilitiesCmd(a *app) *cobra.Command {
	c := &policyCapabilitiesCmd{app: a}
	cmd := &cobra.Command{
		Use:   "capabilities [-token T|-accessor A] PATH...",
		Short: "Show a token's capabilities on paths",
		Long: `Prints the capabilities (read, list, create, update, delete, sudo, deny ...)
of the token in use, of -token ("-" reads it from stdin) or of the token
with -accessor, on each PATH. One PATH prints "read, list" as
"vault token capabilities" does; several print a Path/Capabilities table.
-format=json prints {PATH: [capabilities]}.`,
		Args: minArgs(1),
		RunE: c.run,
	}
	cmd.Flags().StringVar(&c.token, "token", "", "token to check (\"-\": read it from stdin)")
	cmd.Flags().StringVar(&c.accessor, "accessor", "", "accessor of the token to check")
	return cmd
}

func (c *policyCapabilitiesCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	if c.token != "" && c.accessor != "" {
		return usagef("-token and -accessor are exclusive")
	}
	paths := make([]string, len(args))
	for i, a := range args {
		if paths[i] = strings.Trim(a, "/"); paths[i] == "" {
			return usagef("empty path")
		}
	}
	tok := c.token
	if tok != "" {
		if tok, err = c.app.tokenArg(tok); err != nil {
			return err
		}
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	sys := cl.Sys()
	var caps map[string][]string
	switch {
	case tok != "":
		caps, err = sys.Capabilities(cmd.Context(), tok, paths...)
	case c.accessor != "":
		caps, err = sys.CapabilitiesAccessor(cmd.Context(), c.accessor, paths...)
	default:
		caps, err = sys.CapabilitiesSelf(cmd.Context(), paths...)
	}
	if err != nil {
		return fmt.Errorf("reading capabilities: %w", err)
	}
	return p.print(capabilitiesDocument(paths, caps))
}

// capabilitiesDocument lists each path's sorted capabilities.
func capabilitiesDocument(paths []string, caps map[string][]string) document {
	joined := func(p string) string {
		list := append([]string(nil), caps[p]...)
		sort.Strings(list)
		if len(list) == 0 {
			return "deny"
		}
		return strings.Join(list, ", ")
	}
	if len(paths) == 1 {
		return document{Value: caps, Sections: []section{{Text: []string{joined(paths[0])}}}}
	}
	rows := make([][]string, len(paths))
	for i, p := range paths {
		rows[i] = []string{p, joined(p)}
	}
	return document{Value: caps, Sections: []section{{Header: []string{"Path", "Capabilities"}, Rows: rows}}}
}
