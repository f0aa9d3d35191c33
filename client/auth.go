package client

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// ListAuth returns the enabled auth methods keyed by path with a trailing
// slash, e.g. "userpass/" (GET sys/auth). The entries have the shape of
// secrets engine mounts.
func (s *Sys) ListAuth(ctx context.Context) (map[string]*MountOutput, error) {
	methods, err := s.mountTable(ctx, "sys/auth")
	if err != nil {
		return nil, fmt.Errorf("list auth methods: %w", err)
	}
	return methods, nil
}

// EnableAuth enables an auth method of in.Type at path (POST
// sys/auth/:path); the method then answers under auth/<path>/.
func (s *Sys) EnableAuth(ctx context.Context, path string, in *MountInput) error {
	return s.enableAt(ctx, "sys/auth/", "auth method", path, in)
}

// DisableAuth disables the auth method at path and revokes the tokens it
// issued (DELETE sys/auth/:path).
func (s *Sys) DisableAuth(ctx context.Context, path string) error {
	return s.disableAt(ctx, "sys/auth/", "auth method", path)
}

// Login posts data to auth/<mountPath>/<subPath> (subPath "" means
// "login") and returns the answer, whose Auth block is never nil: its
// ClientToken is the new token. The request carries no X-Vault-Token, and
// the client's own token is left unchanged: call SetToken with
// s.Auth.ClientToken to use the new one. A refused login is a
// *ResponseError (usually matching ErrInvalidRequest or
// ErrPermissionDenied); credentials never appear in an error.
func (c *Client) Login(ctx context.Context, mountPath, subPath string, data map[string]any) (*Secret, error) {
	mountPath = strings.Trim(mountPath, "/")
	subPath = strings.Trim(subPath, "/")
	if mountPath == "" {
		return nil, invalidArg("login needs the auth method's mount path")
	}
	if subPath == "" {
		subPath = "login"
	}
	if data == nil {
		data = map[string]any{}
	}
	path := "auth/" + mountPath + "/" + subPath
	s, err := c.withoutToken().secret(ctx, request{method: http.MethodPost, path: path, body: data})
	if err == nil && (s == nil || s.Auth == nil) {
		err = fmt.Errorf("client: answer carries no auth block")
	}
	if err != nil {
		return nil, fmt.Errorf("login at auth/%s: %w", mountPath, err)
	}
	return s, nil
}

// LoginUserpass logs in as username with password on the userpass method
// at mount (POST auth/<mount>/login/<username>).
func (c *Client) LoginUserpass(ctx context.Context, mount, username, password string) (*Secret, error) {
	if username == "" || strings.Contains(username, "/") {
		return nil, invalidArg("userpass login needs a username without /")
	}
	if password == "" {
		return nil, invalidArg("userpass login needs a password")
	}
	return c.Login(ctx, mount, "login/"+username, map[string]any{"password": password})
}

// LoginAppRole logs in with roleID and secretID on the approle method at
// mount (POST auth/<mount>/login). secretID may be empty for a role that
// does not require one (bind_secret_id=false).
func (c *Client) LoginAppRole(ctx context.Context, mount, roleID, secretID string) (*Secret, error) {
	if roleID == "" {
		return nil, invalidArg("approle login needs a role_id")
	}
	return c.Login(ctx, mount, "", loginData("role_id", roleID, "secret_id", secretID))
}

// LoginJWT logs in with the signed token jwt as role (empty: the method's
// default role) on the jwt method at mount (POST auth/<mount>/login).
func (c *Client) LoginJWT(ctx context.Context, mount, role, jwt string) (*Secret, error) {
	if jwt == "" {
		return nil, invalidArg("jwt login needs a jwt")
	}
	return c.Login(ctx, mount, "", loginData("jwt", jwt, "role", role))
}

// LoginCert logs in with the TLS client certificate of the connection on
// the cert method at mount (POST auth/<mount>/login); name (optional)
// selects the trusted certificate role to match. The certificate is not a
// parameter: build the client with WithClientCert (or give WithHTTPClient
// a transport whose tls.Config holds Certificates).
func (c *Client) LoginCert(ctx context.Context, mount, name string) (*Secret, error) {
	return c.Login(ctx, mount, "", loginData("name", name))
}

// loginData is the login body of the key, value pairs in kv whose value is
// not empty (optional parameters are left out, not sent as "").
func loginData(kv ...string) map[string]any {
	data := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			data[kv[i]] = kv[i+1]
		}
	}
	return data
}

// withoutToken returns a client sharing c's transport and settings that
// sends no token.
func (c *Client) withoutToken() *Client { return c.clone() }

// withToken returns a client sharing c's transport and settings that
// sends token.
func (c *Client) withToken(token string) *Client {
	lc := c.clone()
	lc.SetToken(token)
	return lc
}
