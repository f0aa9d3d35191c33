package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// loginCmd is `vaultctl login`.
type loginCmd struct {
	app        *app
	method     string
	path       string
	field      string
	tokenOnly  bool
	noStore    bool
	clientCert string
	clientKey  string
}

func newLoginCmd(a *app) *cobra.Command {
	c := &loginCmd{app: a}
	cmd := &cobra.Command{
		Use:   "login [-method=TYPE] [-path=MOUNT] [TOKEN | KEY=VALUE...]",
		Short: "Authenticate and print the new token and its policies",
		Long: `Logs in through an auth method, as "vault login" does, and prints the token
with its accessor, TTL and policies.

  -method=token (default)  login TOKEN  (no TOKEN: read from stdin); checks the token
  -method=userpass         username=U [password=P]  (no password: read from stdin)
  -method=approle          role_id=R [secret_id=S]
  -method=jwt              jwt=J [role=R]
  -method=cert             [name=N], with -client-cert and -client-key
                           (default $VAULT_CLIENT_CERT, $VAULT_CLIENT_KEY)
  -method=keypair          name=N key=@FILE  (an ed25519 private key, OpenSSH or
                           PEM; it signs the server's nonce and never leaves)

-path is the method's mount (default: the method name). A VALUE may be
"@file" or "-" (stdin), as with "write".

The token is not stored: vaultctl has no token helper, so -no-store is
always in effect. Use it for later commands with
  export VAULT_TOKEN="$(vaultctl login -token-only -method=... ...)"
-token-only prints only the token; -field prints one field of the table.`,
		Args: cobra.ArbitraryArgs,
		RunE: c.run,
	}
	f := cmd.Flags()
	f.StringVar(&c.method, "method", "token", "auth method: token, userpass, approle, jwt, cert or keypair")
	f.StringVar(&c.path, "path", "", "mount path of the auth method (default: the method name)")
	f.StringVar(&c.field, "field", "", "print only this field (e.g. token, token_policies)")
	f.BoolVar(&c.tokenOnly, "token-only", false, "print only the token")
	f.BoolVar(&c.noStore, "no-store", true, "do not store the token (always: vaultctl has no token helper)")
	f.StringVar(&c.clientCert, "client-cert", "", "PEM client certificate for -method=cert (default $VAULT_CLIENT_CERT)")
	f.StringVar(&c.clientKey, "client-key", "", "PEM private key of -client-cert (default $VAULT_CLIENT_KEY)")
	return cmd
}

// loginKeys are the KEY=VALUE arguments each method takes; required ones
// are checked by the method itself.
var loginKeys = map[string][]string{
	"token":    {"token"},
	"userpass": {"username", "password"},
	"approle":  {"role_id", "secret_id"},
	"jwt":      {"jwt", "role"},
	"cert":     {"name"},
	"keypair":  {"name", "key"},
}

func (c *loginCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	method := strings.ToLower(strings.TrimSpace(c.method))
	if _, ok := loginKeys[method]; !ok {
		return usagef("unknown auth method %q: want one of token, userpass, approle, jwt, cert or keypair "+
			"(\"vaultctl auth list\" shows the enabled ones)", c.method)
	}
	if !c.noStore {
		return usagef("vaultctl has no token helper and cannot store the token: print it and set VAULT_TOKEN")
	}
	if c.tokenOnly && c.field != "" {
		return usagef("-token-only and -field are exclusive")
	}
	params, err := c.params(method, args)
	if err != nil {
		return err
	}
	mount := strings.TrimPrefix(strings.Trim(c.path, "/"), "auth/")
	if mount == "" {
		mount = method
	}
	s, err := c.login(cmd.Context(), method, mount, params)
	if err != nil {
		return err
	}
	return c.print(p, s)
}

// params parses the arguments into the method's parameters.
func (c *loginCmd) params(method string, args []string) (map[string]string, error) {
	if method == "token" && len(args) == 1 && !strings.Contains(args[0], "=") {
		args = []string{"token=" + args[0]}
	}
	kvp := &kvParser{stdin: c.app.stdin}
	data, err := kvp.parse(args)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(data))
	for _, k := range sortedKeys(data) {
		if !slices.Contains(loginKeys[method], k) {
			return nil, usagef("-method=%s takes %s, not %q", method, strings.Join(loginKeys[method], ", "), k)
		}
		v, ok := data[k].(string)
		if !ok {
			return nil, usagef("%s must be given once, as a string", k)
		}
		out[k] = v
	}
	if err := c.prompt(method, out, kvp.stdinUsed); err != nil {
		return nil, err
	}
	return out, nil
}

// prompt reads the token or password from stdin when it was not given.
func (c *loginCmd) prompt(method string, params map[string]string, stdinUsed bool) error {
	key, label := "", ""
	switch {
	case method == "token" && params["token"] == "":
		key, label = "token", "Token (will be hidden): "
	case method == "userpass" && params["password"] == "" && params["username"] != "":
		key, label = "password", "Password (will be hidden): "
	default:
		return nil
	}
	if stdinUsed {
		return usagef("no %s given", key)
	}
	v, err := readSecretLine(c.app.stdin, c.app.stderr, label)
	if err != nil {
		return err
	}
	if v == "" {
		return usagef("no %s given", key)
	}
	params[key] = v
	return nil
}

// login calls the method and returns the answer with its auth block.
func (c *loginCmd) login(ctx context.Context, method, mount string, params map[string]string) (*client.Secret, error) {
	var cl *client.Client
	var err error
	if method == "cert" {
		cl, err = c.app.certClient(c.clientCert, c.clientKey)
	} else {
		cl, err = c.app.client()
	}
	if err != nil {
		return nil, err
	}
	var s *client.Secret
	switch method {
	case "token":
		s, err = tokenLogin(ctx, cl, params["token"])
	case "userpass":
		if params["username"] == "" {
			return nil, usagef("-method=userpass needs username=NAME")
		}
		s, err = cl.LoginUserpass(ctx, mount, params["username"], params["password"])
	case "approle":
		if params["role_id"] == "" {
			return nil, usagef("-method=approle needs role_id=ID")
		}
		s, err = cl.LoginAppRole(ctx, mount, params["role_id"], params["secret_id"])
	case "jwt":
		if params["jwt"] == "" {
			return nil, usagef("-method=jwt needs jwt=TOKEN (or jwt=@file)")
		}
		s, err = cl.LoginJWT(ctx, mount, params["role"], params["jwt"])
	case "cert":
		s, err = cl.LoginCert(ctx, mount, params["name"])
	case "keypair":
		s, err = keypairLogin(ctx, cl, mount, params["name"], params["key"])
	}
	if err != nil {
		return nil, fmt.Errorf("authenticating: %w", err)
	}
	return s, nil
}

// tokenLogin checks tok by looking it up with itself, and describes it as
// a login answer, as "vault login TOKEN" does.
func tokenLogin(ctx context.Context, cl *client.Client, tok string) (*client.Secret, error) {
	cl.SetToken(tok)
	s, err := cl.Token().LookupSelf(ctx)
	if err == nil && (s == nil || s.Data == nil) {
		err = fmt.Errorf("empty answer")
	}
	if err != nil {
		return nil, err
	}
	d := s.Data
	policies := stringList(d["policies"])
	au := &client.SecretAuth{ClientToken: tok, Accessor: str(d["accessor"]), Policies: policies,
		TokenPolicies: policies, IdentityPolicies: stringList(d["identity_policies"]), Metadata: stringMap(d["meta"]),
		Orphan: d["orphan"] == true, EntityID: str(d["entity_id"]), Renewable: d["renewable"] == true,
		TokenType: str(d["type"])}
	if n, ok := d["ttl"].(interface{ Int64() (int64, error) }); ok {
		if v, err := n.Int64(); err == nil {
			au.LeaseDuration = int(v)
		}
	}
	return &client.Secret{RequestID: s.RequestID, Warnings: s.Warnings, Auth: au}, nil
}

// print shows the answer: the token alone, one field, or the success line
// and the token table; the not-stored note goes to stderr.
func (c *loginCmd) print(p *printer, s *client.Secret) error {
	switch {
	case c.tokenOnly:
		return printField(c.app.stdout, secretFields(s), "token")
	case c.field != "":
		return printField(c.app.stdout, secretFields(s), c.field)
	}
	fmt.Fprintln(c.app.stderr, "The token was not stored: vaultctl has no token helper. Set VAULT_TOKEN to the"+
		" token below for later commands, e.g. export VAULT_TOKEN=\"$(vaultctl login -token-only ...)\".")
	p.success("Success! You are now authenticated.\n")
	return c.app.printSecret(p, s, "")
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func stringList(v any) []string {
	raw, _ := v.([]any)
	out := make([]string, 0, len(raw))
	for _, e := range raw {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func stringMap(v any) map[string]string {
	raw, _ := v.(map[string]any)
	if len(raw) == 0 {
		return nil
	}
	out := make(map[string]string, len(raw))
	for k, e := range raw {
		out[k] = str(e)
	}
	return out
}
