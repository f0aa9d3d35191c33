package client

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// keypairMessagePrefix is the first line of the keypair auth method's
// canonical login message (engines/auth/keypair.MessagePrefix).
const keypairMessagePrefix = "secretumvault-keypair-login-v1"

// KeypairLoginMessage returns the canonical message a keypair login
// signs, byte for byte what the server verifies:
//
//	"secretumvault-keypair-login-v1\n" + mountPath + "\n" + name + "\n" + nonce + "\n" + timestamp + "\n"
//
// mountPath is the mount's full path ("auth/keypair/"), normalised to no
// leading and one trailing slash; name, nonce (as the nonce path returned
// it) and timestamp (RFC 3339, exactly as sent) are used as given. The
// server's package keeps its own copy (the SDK imports no server code);
// both are pinned by the same golden test.
func KeypairLoginMessage(mountPath, name, nonce, timestamp string) []byte {
	mountPath = strings.Trim(mountPath, "/") + "/"
	var b strings.Builder
	b.Grow(len(keypairMessagePrefix) + len(mountPath) + len(name) + len(nonce) + len(timestamp) + 5)
	for _, line := range [...]string{keypairMessagePrefix, mountPath, name, nonce, timestamp} {
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// KeypairLogin logs in to the keypair auth method mounted at
// auth/<mount>/ (mount as in `vault auth enable -path`, e.g. "keypair")
// as the key registered under name: it asks auth/<mount>/nonce for a
// nonce, signs the canonical message (KeypairLoginMessage) with key at
// the current time, and posts the signature to auth/<mount>/login. The
// private key never leaves the process, and, as with Login, neither
// request carries the client's token. It returns the new client token;
// the client's own token is left unchanged (call SetToken to use the new
// one).
//
// A bad argument wraps ErrInvalidArgument and sends nothing; a refused
// login is a *ResponseError matching ErrPermissionDenied (whatever was
// wrong: the server does not say).
func (c *Client) KeypairLogin(ctx context.Context, mount, name string, key ed25519.PrivateKey) (string, error) {
	mount = strings.Trim(mount, "/")
	switch {
	case mount == "":
		return "", invalidArg("keypair login: empty mount")
	case name == "":
		return "", invalidArg("keypair login: empty name")
	case len(key) != ed25519.PrivateKeySize:
		return "", invalidArg("keypair login: private key is %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	base := "auth/" + mount + "/"
	var nonce struct {
		Nonce string `json:"nonce"`
	}
	req := request{method: http.MethodPost, path: base + "nonce", body: map[string]string{"name": name}}
	if err := c.withoutToken().data(ctx, req, &nonce); err != nil {
		return "", fmt.Errorf("keypair login: nonce: %w", err)
	}
	if nonce.Nonce == "" {
		return "", fmt.Errorf("keypair login: nonce: answer carries no nonce")
	}
	ts := time.Now().UTC().Format(time.RFC3339Nano)
	sig := ed25519.Sign(key, KeypairLoginMessage(base, name, nonce.Nonce, ts))
	s, err := c.Login(ctx, mount, "login", loginData("name", name, "nonce", nonce.Nonce, "timestamp", ts,
		"signature", base64.StdEncoding.EncodeToString(sig)))
	if err == nil && s.Auth.ClientToken == "" {
		err = fmt.Errorf("client: answer carries no client token")
	}
	if err != nil {
		return "", fmt.Errorf("keypair login: %w", err)
	}
	return s.Auth.ClientToken, nil
}
