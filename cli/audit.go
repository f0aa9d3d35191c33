package cli

import "github.com/spf13/cobra"

func newAuditCmd(a *app) *cobra.Command {
	return groupCommand("audit", "Work with audit logs (offline)", "",
		newAuditVerifyCmd(a))
}
