package barrier

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
)

// Ciphertext layout, shared by stored values and the keyring blob:
//
//	version (1) | term (4, big-endian) | nonce (12) | AES-256-GCM ciphertext+tag
//
// The additional authenticated data is the full storage key, so a value
// copied or moved to another key no longer authenticates.
const (
	formatVersion byte = 1
	termOffset         = 1
	nonceOffset        = termOffset + 4
	nonceSize          = 12
	headerSize         = nonceOffset + nonceSize
	tagSize            = 16

	// rootTerm labels the keyring blob, which is encrypted with the root
	// key rather than a keyring term.
	rootTerm uint32 = 0
)

// newAEAD returns AES-256-GCM for a KeySize key.
func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("%w: got %d bytes", ErrInvalidKeyLength, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("barrier: aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("barrier: gcm: %w", err)
	}
	return aead, nil
}

// encrypt seals plaintext under aead for storage at path, labelled term.
func encrypt(aead cipher.AEAD, term uint32, path string, plaintext []byte) ([]byte, error) {
	out := make([]byte, headerSize, headerSize+len(plaintext)+aead.Overhead())
	out[0] = formatVersion
	binary.BigEndian.PutUint32(out[termOffset:], term)
	nonce := out[nonceOffset:headerSize]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("barrier: nonce: %w", err)
	}
	return aead.Seal(out, nonce, plaintext, []byte(path)), nil
}

// parseTerm validates the header of ciphertext and returns its term.
func parseTerm(ciphertext []byte) (uint32, error) {
	if len(ciphertext) < headerSize+tagSize {
		return 0, fmt.Errorf("%w: %d bytes", ErrMalformed, len(ciphertext))
	}
	if ciphertext[0] != formatVersion {
		return 0, fmt.Errorf("%w: %d", ErrUnknownVersion, ciphertext[0])
	}
	return binary.BigEndian.Uint32(ciphertext[termOffset:]), nil
}

// decrypt opens ciphertext (whose header parseTerm accepted) read from path.
func decrypt(aead cipher.AEAD, path string, ciphertext []byte) ([]byte, error) {
	nonce := ciphertext[nonceOffset:headerSize]
	plaintext, err := aead.Open(nil, nonce, ciphertext[headerSize:], []byte(path))
	if err != nil {
		return nil, ErrDecrypt
	}
	return plaintext, nil
}
