package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// operatorInitCmd is `vaultctl operator init`.
type operatorInitCmd struct {
	app       *app
	shares    int
	threshold int
	status    bool
}

func newOperatorInitCmd(a *app) *cobra.Command {
	c := &operatorInitCmd{app: a}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Initialize a new server and print its unseal keys and root token",
		Long: `Initializes the server: generates the root key, splits it into -key-shares
unseal keys of which any -key-threshold unseal it, and prints them with the
initial root token. With -status, only reports whether the server is
initialized (exit 0: initialized, 2: not initialized).`,
		Args: noArgs,
		RunE: c.run,
	}
	f := cmd.Flags()
	f.IntVar(&c.shares, "key-shares", 5, "number of unseal key shares to generate")
	f.IntVar(&c.threshold, "key-threshold", 3, "number of shares needed to unseal")
	f.BoolVar(&c.status, "status", false, "only print whether the server is initialized")
	return cmd
}

func (c *operatorInitCmd) run(cmd *cobra.Command, _ []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	if !c.status && (c.shares < 1 || c.threshold < 1 || c.threshold > c.shares) {
		return usagef("need 1 <= -key-threshold (%d) <= -key-shares (%d)", c.threshold, c.shares)
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	if c.status {
		return c.runStatus(cmd, cl, p)
	}
	res, err := cl.Sys().Init(cmd.Context(), &client.InitRequest{SecretShares: c.shares, SecretThreshold: c.threshold})
	if err != nil {
		return fmt.Errorf("initializing: %w", err)
	}
	return p.print(initDocument(res, c.shares, c.threshold))
}

func (c *operatorInitCmd) runStatus(cmd *cobra.Command, cl *client.Client, p *printer) error {
	ok, err := cl.Sys().InitStatus(cmd.Context())
	if err != nil {
		return fmt.Errorf("checking init status: %w", err)
	}
	msg := "Vault is initialized"
	if !ok {
		msg = "Vault is not initialized"
	}
	if err := p.print(document{Value: map[string]bool{"initialized": ok}, Sections: []section{{Text: []string{msg}}}}); err != nil {
		return err
	}
	if !ok {
		return &exitError{code: ExitUsage}
	}
	return nil
}

// initOutput is the json/yaml form of `operator init`, as Vault's.
type initOutput struct {
	UnsealKeysB64         []string `json:"unseal_keys_b64"`
	UnsealKeysHex         []string `json:"unseal_keys_hex"`
	UnsealShares          int      `json:"unseal_shares"`
	UnsealThreshold       int      `json:"unseal_threshold"`
	RecoveryKeysB64       []string `json:"recovery_keys_b64"`
	RecoveryKeysHex       []string `json:"recovery_keys_hex"`
	RecoveryKeysShares    int      `json:"recovery_keys_shares"`
	RecoveryKeysThreshold int      `json:"recovery_keys_threshold"`
	RootToken             string   `json:"root_token"`
}

func initDocument(res *client.InitResponse, shares, threshold int) document {
	keys := res.KeysB64
	if len(keys) == 0 {
		keys = res.Keys
	}
	var lines []string
	for i, k := range keys {
		lines = append(lines, fmt.Sprintf("Unseal Key %d: %s", i+1, k))
	}
	lines = append(lines, "", "Initial Root Token: "+res.RootToken, "",
		fmt.Sprintf("Vault initialized with %d key shares and a key threshold of %d. Please securely", shares, threshold),
		"distribute the key shares printed above. When the server is re-sealed or",
		fmt.Sprintf("restarted, it must be unsealed with at least %d of these keys:", threshold),
		"`vaultctl operator unseal`.")
	out := initOutput{UnsealKeysB64: nonNil(res.KeysB64), UnsealKeysHex: nonNil(res.Keys),
		UnsealShares: shares, UnsealThreshold: threshold,
		RecoveryKeysB64: []string{}, RecoveryKeysHex: []string{}, RootToken: res.RootToken}
	return document{Value: out, Sections: []section{{Text: lines}}}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
