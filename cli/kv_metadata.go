package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

func newKVMetadataCmd(a *app) *cobra.Command {
	return groupCommand("metadata", "Work with the metadata of KV secrets", "", newKVMetadataGetCmd(a))
}

// kvMetadataGetCmd is `vaultctl kv metadata get`.
type kvMetadataGetCmd struct {
	app   *app
	mount string
}

func newKVMetadataGetCmd(a *app) *cobra.Command {
	c := &kvMetadataGetCmd{app: a}
	cmd := &cobra.Command{
		Use:   "get [-mount=M] PATH",
		Short: "Print a secret's metadata and versions",
		Args:  exactArgs(1),
		RunE:  c.run,
	}
	bindMount(cmd, &c.mount)
	return cmd
}

func (c *kvMetadataGetCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	t, err := parseKVPath(c.mount, args[0], false)
	if err != nil {
		return err
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	m, err := cl.KV(t.mount).Metadata(cmd.Context(), t.path)
	if errors.Is(err, client.ErrNotFound) {
		return noValueAt(t.api("metadata"))
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", t.api("metadata"), err)
	}
	return p.print(metadataDocument(t, m))
}

func metadataDocument(t kvTarget, m *client.KVMetadata) document {
	var custom any
	if m.CustomMetadata != nil {
		custom = m.CustomMetadata
	}
	sections := []section{
		{Title: "Metadata Path", Text: []string{t.api("metadata")}},
		keyValueSection("Metadata", []field{
			{"cas_required", m.CASRequired},
			{"created_time", formatTime(m.CreatedTime)},
			{"current_version", m.CurrentVersion},
			{"custom_metadata", custom},
			{"delete_version_after", m.DeleteVersionAfter},
			{"max_versions", m.MaxVersions},
			{"oldest_version", m.OldestVersion},
			{"updated_time", formatTime(m.UpdatedTime)},
		}),
	}
	for _, v := range m.VersionNumbers() {
		vm := m.Versions[v]
		sections = append(sections, keyValueSection(fmt.Sprintf("Version %d", v), []field{
			{"created_time", formatTime(vm.CreatedTime)},
			{"deletion_time", formatTime(vm.DeletionTime)},
			{"destroyed", vm.Destroyed},
		}))
	}
	return document{Value: m.Raw, Sections: sections}
}
