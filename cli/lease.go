package cli

import "github.com/spf13/cobra"

func newLeaseCmd(a *app) *cobra.Command {
	return groupCommand("lease", "Look up, renew and revoke the leases of dynamic secrets",
		`Manages leases, as "vault lease" does. Every dynamic secret (database
credentials, cloud keys ...) comes with a lease: when it ends the server
revokes the secret. The ID is the full lease ID, the lease_id of the answer
that issued the secret, e.g. database/creds/readonly/2f6a614c...

  lease lookup ID                            describe a lease
  lease list [PREFIX]                        list the leases under a prefix
  lease renew [-increment=DURATION] ID       extend a lease
  lease revoke [-sync] ID                    revoke a lease and its secret
  lease revoke -prefix [-sync] PREFIX        revoke every lease under PREFIX
  lease revoke -prefix -force PREFIX         forget leases whose revocation fails
  lease tidy                                 clean up the lease store`,
		newLeaseLookupCmd(a), newLeaseListCmd(a), newLeaseRenewCmd(a), newLeaseRevokeCmd(a), newLeaseTidyCmd(a))
}
