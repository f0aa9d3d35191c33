package cli

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/authz/hcl"
)

// policyConvertCmd is `vaultctl policy convert`.
type policyConvertCmd struct {
	app  *app
	name string
}

func newPolicyConvertCmd(a *app) *cobra.Command {
	c := &policyConvertCmd{app: a}
	cmd := &cobra.Command{
		Use:   "convert [-name NAME] FILE.hcl|-",
		Short: "Print the Cedar equivalent of an HCL policy (offline)",
		Long: `Compiles the Vault HCL ACL policy in FILE ("-": stdin) to Cedar locally,
without a server, and prints the Cedar text: the same compiler the server
uses for sys/policies/acl. The policy ids are derived from -name, by
default the file name without its extension.`,
		Args: exactArgs(1),
		RunE: c.run,
	}
	cmd.Flags().StringVar(&c.name, "name", "", "policy name (default: the file name without extension)")
	return cmd
}

func (c *policyConvertCmd) run(_ *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	file := args[0]
	name := c.name
	if name == "" {
		if file == "-" {
			return usagef("reading the policy from stdin: give its name with -name")
		}
		name = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	}
	if err := checkPolicyNameArg(name); err != nil {
		return err
	}
	w := &policyWriteCmd{app: c.app}
	text, err := w.read(file)
	if err != nil {
		return err
	}
	cedar, err := hcl.Convert(name, text)
	if err != nil {
		return fmt.Errorf("converting %s: %w", displayFile(file), err)
	}
	return p.print(document{Value: map[string]string{"name": name, "cedar": cedar}, Sections: []section{{Text: textLines(cedar)}}})
}
