package cli

import "github.com/spf13/cobra"

func newTokenCmd(a *app) *cobra.Command {
	return groupCommand("token", "Create, look up and revoke tokens", "",
		newTokenCreateCmd(a), newTokenLookupCmd(a), newTokenRevokeCmd(a))
}

// tokenArg resolves a TOKEN argument; "-" reads it from stdin so that it
// need not appear in the process list.
func (a *app) tokenArg(arg string) (string, error) {
	if arg != "-" {
		return arg, nil
	}
	tok, err := readSecretLine(a.stdin, a.stderr, "Token (will be hidden): ")
	if err != nil {
		return "", err
	}
	if tok == "" {
		return "", usagef("no token given on stdin")
	}
	return tok, nil
}
