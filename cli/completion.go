package cli

import (
	"github.com/spf13/cobra"
)

// newCompletionCmd is `vaultctl completion bash|zsh|fish`: cobra's
// completion scripts, which complete commands, flags and flag values by
// calling vaultctl's hidden __complete command.
func newCompletionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print a shell completion script",
		Long: `Prints the completion script of a shell to stdout.

  bash:  source <(vaultctl completion bash)
         (or save it as /etc/bash_completion.d/vaultctl; needs bash-completion 2)
  zsh:   vaultctl completion zsh > "${fpath[1]}/_vaultctl"
  fish:  vaultctl completion fish > ~/.config/fish/completions/vaultctl.fish`,
		Args:      exactArgs(1),
		ValidArgs: []string{"bash", "zsh", "fish"},
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(a.stdout, true)
			case "zsh":
				return root.GenZshCompletion(a.stdout)
			case "fish":
				return root.GenFishCompletion(a.stdout, true)
			}
			return usagef("unknown shell %q (want bash, zsh or fish)", args[0])
		},
	}
}
