package cli

import "github.com/spf13/cobra"

func newAuditCmd(a *app) *cobra.Command {
	return groupCommand("audit", "Manage audit devices, check audit logs and export evidence",
		`Manages audit devices, as "vault audit" does, checks their logs offline and
exports evidence bundles for auditors:

  audit list [-detailed]                    list the enabled audit devices
  audit enable [-path=P] TYPE [K=V...]      enable an audit device
  audit disable PATH                        disable an audit device
  audit hash PATH INPUT                     the HMAC a device writes for INPUT
  audit public-key PATH                     a device's checkpoint signing key
  audit verify FILE...                      check a file log (offline)
  audit export -since=T -out=ZIP FILE...    export an evidence bundle of a range
  audit verify-bundle ZIP                   check an evidence bundle (offline)`,
		newAuditListCmd(a), newAuditEnableCmd(a), newAuditDisableCmd(a), newAuditHashCmd(a),
		newAuditPublicKeyCmd(a), newAuditVerifyCmd(a), newAuditExportCmd(a), newAuditVerifyBundleCmd(a))
}
