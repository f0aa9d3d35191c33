package audit

import "encoding/hex"

// ManifestMessage is what a bundle manifest's signature covers.
func ManifestMessage(sum [32]byte) []byte {
	return append([]byte("secretum-audit-bundle-manifest-v1\n"), hex.EncodeToString(sum[:])...)
}
