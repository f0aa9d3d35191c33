package barrier

import "fmt"

// Encrypt seals plaintext under the active term bound to context (used as
// AAD exactly like a storage key) without storing it: the raft join
// challenge travels this way, so only a node that holds the keyring can
// read it.
func (b *AESGCMBarrier) Encrypt(context string, plaintext []byte) ([]byte, error) {
	kr, err := b.access(context)
	if err != nil {
		return nil, err
	}
	ct, err := kr.seal(context, plaintext)
	if err != nil {
		return nil, fmt.Errorf("barrier: encrypt %q: %w", context, err)
	}
	return ct, nil
}

// Decrypt opens a value made by Encrypt with the same context.
func (b *AESGCMBarrier) Decrypt(context string, ciphertext []byte) ([]byte, error) {
	kr, err := b.access(context)
	if err != nil {
		return nil, err
	}
	pt, err := kr.open(context, ciphertext)
	if err != nil {
		return nil, fmt.Errorf("barrier: decrypt %q: %w", context, err)
	}
	return pt, nil
}
