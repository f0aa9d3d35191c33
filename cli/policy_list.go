package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// policyListCmd is `vaultctl policy list`.
type policyListCmd struct {
	app  *app
	kind string
}

func newPolicyListCmd(a *app) *cobra.Command {
	c := &policyListCmd{app: a}
	cmd := &cobra.Command{
		Use:   "list [-type cedar|hcl]",
		Short: "List the policies",
		Long: `Lists the policy names. With -type, the names of that kind one per line (as
"vault policy list"; -format=json: an array of names); without it, both
kinds in a Name/Type table (-format=json: [{"name","type"}]).`,
		Args: noArgs,
		RunE: c.run,
	}
	bindPolicyType(cmd, &c.kind)
	return cmd
}

// policyEntry is one row of the listing of both kinds.
type policyEntry struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

func (c *policyListCmd) run(cmd *cobra.Command, _ []string) error {
	p, kind, sys, err := c.app.policySession(c.kind)
	if err != nil {
		return err
	}
	var cedar, hcl []string
	if kind != kindHCL {
		if cedar, err = sys.ListCedarPolicies(cmd.Context()); err != nil {
			return fmt.Errorf("listing policies: %w", err)
		}
	}
	if kind != kindCedar {
		if hcl, err = sys.ListACLPolicies(cmd.Context()); err != nil {
			return fmt.Errorf("listing policies: %w", err)
		}
	}
	switch kind {
	case kindCedar:
		return p.print(namesDocument(cedar))
	case kindHCL:
		return p.print(namesDocument(hcl))
	}
	return p.print(policyEntriesDocument(cedar, hcl))
}

// namesDocument prints names one per line, or a JSON array.
func namesDocument(names []string) document {
	rows := make([][]string, len(names))
	for i, n := range names {
		rows[i] = []string{n}
	}
	return document{Value: names, Sections: []section{{Rows: rows}}}
}

func policyEntriesDocument(cedar, hcl []string) document {
	entries := make([]policyEntry, 0, len(cedar)+len(hcl))
	rows := make([][]string, 0, cap(entries))
	for _, group := range []struct {
		kind  string
		names []string
	}{{kindCedar, cedar}, {kindHCL, hcl}} {
		for _, n := range group.names {
			entries = append(entries, policyEntry{Name: n, Type: group.kind})
			rows = append(rows, []string{n, group.kind})
		}
	}
	return document{Value: entries, Sections: []section{{Header: []string{"Name", "Type"}, Rows: rows}}}
}
