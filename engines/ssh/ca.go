package ssh

import (
	"context"
	"fmt"

	"golang.org/x/crypto/ssh"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// parsedCA is the CA key as last parsed, kept so that signing does not
// parse the stored key on every request; it is replaced whenever the
// stored key differs from the one it was parsed from.
type parsedCA struct {
	privPEM string
	signer  ssh.Signer
}

// caSigner returns a signer of the mount's CA key that signs with the
// role's algorithm_signer: for an RSA key rsa-sha2-256 by default (or
// rsa-sha2-512), for other keys their only algorithm. No CA is ErrNoCA;
// an RSA algorithm for a non-RSA key is a 400 naming algorithm_signer.
func (b *Backend) caSigner(ctx context.Context, s logical.Storage, algo string) (ssh.Signer, error) {
	ca, err := loadCA(ctx, s)
	if err != nil {
		return nil, err
	}
	if ca == nil {
		return nil, ErrNoCA
	}
	cached := b.parsed.Load()
	if cached == nil || cached.privPEM != ca.PrivateKey {
		signer, err := ssh.ParsePrivateKey([]byte(ca.PrivateKey))
		if err != nil {
			// Never wrap the parse error: it may quote the key.
			return nil, fmt.Errorf("%w: %s: the CA private key does not parse", ErrCorrupt, caKey)
		}
		cached = &parsedCA{privPEM: ca.PrivateKey, signer: signer}
		b.parsed.Store(cached)
	}
	signer := cached.signer
	keyType := signer.PublicKey().Type()
	if keyType != ssh.KeyAlgoRSA {
		if algo != signerDefault && algo != "" {
			return nil, logical.InvalidRequest("algorithm_signer", "algorithm_signer %s needs an RSA CA key; the CA key is %s", algo, keyType)
		}
		return signer, nil
	}
	if algo == signerDefault || algo == "" {
		algo = ssh.KeyAlgoRSASHA256
	}
	as, ok := signer.(ssh.AlgorithmSigner)
	if !ok {
		return nil, fmt.Errorf("ssh: the CA key cannot choose its signature algorithm")
	}
	ms, err := ssh.NewSignerWithAlgorithms(as, []string{algo})
	if err != nil {
		return nil, fmt.Errorf("ssh: CA signer for %s: %w", algo, err)
	}
	return ms, nil
}
