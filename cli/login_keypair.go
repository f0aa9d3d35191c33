package cli

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/secretumvault/secretumvault/client"
)

// keypairLogin signs in as name with the private key in keyText through
// client.KeypairLogin, then describes the new token as a token login does
// (its lookup-self), for the same table and fields as the other methods.
func keypairLogin(ctx context.Context, cl *client.Client, mount, name, keyText string) (*client.Secret, error) {
	if name == "" || keyText == "" {
		return nil, usagef("-method=keypair needs name=NAME and key=@FILE (an ed25519 private key)")
	}
	key, err := parseKeypairKey(keyText)
	if err != nil {
		return nil, err
	}
	tok, err := cl.KeypairLogin(ctx, mount, name, key)
	if err != nil {
		return nil, err
	}
	return tokenLogin(ctx, cl, tok)
}

// parseKeypairKey reads an unencrypted ed25519 private key: OpenSSH's
// format (ssh-keygen -t ed25519) or PEM PKCS#8 ("PRIVATE KEY"). Errors
// never quote the key.
func parseKeypairKey(text string) (ed25519.PrivateKey, error) {
	raw, err := ssh.ParseRawPrivateKey([]byte(strings.TrimSpace(text) + "\n"))
	var encrypted *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &encrypted):
		return nil, usagef("key: the private key is passphrase-protected; give an unencrypted copy (ssh-keygen -p -N \"\")")
	case err != nil:
		return nil, usagef("key: not an OpenSSH or PEM private key (%v)", err)
	}
	switch k := raw.(type) {
	case ed25519.PrivateKey:
		return k, nil
	case *ed25519.PrivateKey:
		return *k, nil
	}
	return nil, usagef("key: a keypair login needs an ed25519 private key, not %T", raw)
}
