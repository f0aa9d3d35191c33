package cli

import "github.com/spf13/cobra"

func newSecretsCmd(a *app) *cobra.Command {
	return groupCommand("secrets", "Manage secrets engines, and store named secrets credstash-style",
		`Two families share this command.

Engine management, as in Vault:
  secrets enable [-path=P] TYPE     mount an engine ("kv-v2" = kv with version 2)
  secrets disable PATH              unmount an engine and delete its data
  secrets list                      list the mounted engines

Named secrets, credstash-style, on a KV v2 mount (-mount, $VAULTCTL_MOUNT,
default "secret"):
  secrets put NAME VALUE|@file|- [K=V ...] [-a | -v N]
                                    store a new version of NAME (-a: the next
                                    one, atomically; -v N: exactly N); K=V is
                                    an encryption context (transit-enforced)
  secrets get NAME [K=V ...] [-v N] [-n]
                                    print only the value (for $(...)); a
                                    pattern ('app.*') prints JSON name→value
  secrets ls [PREFIX]               list every name with its latest version
  secrets getall [-f FMT] [PREFIX] [K=V ...]
                                    print every name and value (json, yaml,
                                    csv, dotenv)
  secrets delete NAME               delete NAME with all its versions
  secrets migrate --from-sops FILE  import a SOPS-encrypted file's keys
  secrets rotate PATH               rotate the secret at a full API path now

"vaultctl env -prefix P -- CMD" runs CMD with the names under P as
environment variables.

NAME is the KV v2 path on that mount and the value is stored as
{"value": VALUE}: "app/db.password" is secret/data/app/db.password. Slashes
make folders (PREFIX selects one), dots are ordinary characters. The listing
of names is "secrets ls" because "secrets list" lists engines, as in Vault.`,
		newSecretsEnableCmd(a), newSecretsDisableCmd(a), newSecretsListCmd(a),
		newSecretsPutCmd(a), newSecretsGetCmd(a), newSecretsLsCmd(a), newSecretsGetallCmd(a),
		newSecretsDeleteCmd(a), newSecretsMigrateCmd(a), newSecretsRotateCmd(a))
}

// valueKey is the data key holding a named secret's value.
const valueKey = "value"

// bindCredMount adds the -mount flag of the credstash-style commands.
func bindCredMount(cmd *cobra.Command, mount *string) {
	cmd.Flags().StringVar(mount, "mount", "", "KV v2 mount of named secrets (default $VAULTCTL_MOUNT or \"secret\")")
}
