package cli

import (
	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

func newKVCmd(a *app) *cobra.Command {
	return groupCommand("kv", "Work with KV version 2 secrets",
		`Commands for the KV version 2 engine. PATH starts with the mount, as in Vault:
"secret/app/db" is path "app/db" on mount "secret". With -mount=M, PATH is the
path inside mount M (needed for mounts whose name has a slash).`,
		newKVPutCmd(a), newKVGetCmd(a), newKVDeleteCmd(a), newKVUndeleteCmd(a),
		newKVDestroyCmd(a), newKVListCmd(a), newKVMetadataCmd(a))
}

// bindMount adds the -mount flag of the kv commands.
func bindMount(cmd *cobra.Command, mount *string) {
	cmd.Flags().StringVar(mount, "mount", "", "KV v2 mount; PATH is then relative to it")
}

// versionMetaFields lists a KV version's metadata as Vault's kv put shows it.
func versionMetaFields(m *client.KVVersionMetadata) []field {
	if m == nil {
		return nil
	}
	var custom any
	if m.CustomMetadata != nil {
		custom = m.CustomMetadata
	}
	return []field{
		{"created_time", formatTime(m.CreatedTime)},
		{"custom_metadata", custom},
		{"deletion_time", formatTime(m.DeletionTime)},
		{"destroyed", m.Destroyed},
		{"version", m.Version},
	}
}

// versionMetaValue is the json/yaml form of versionMetaFields, with
// Vault's field names and "" for an unset deletion time.
func versionMetaValue(m *client.KVVersionMetadata) map[string]any {
	out := map[string]any{}
	for _, f := range versionMetaFields(m) {
		if s, ok := f.value.(string); ok && s == "n/a" {
			f.value = ""
		}
		out[f.key] = f.value
	}
	return out
}
