package barrier

// Physical keys the barrier owns, defined once. All three are reserved:
// Get, Put, Delete and Transaction through the barrier refuse them with
// ErrReservedKey and List leaves them out, so only the barrier reads and
// writes them.
const (
	// KeyringPath holds the keyring (every term key, the active term, the
	// root key and the rotation config), encrypted with the root key under
	// term 0.
	KeyringPath = "core/keyring"
	// RootKeyPath holds the root key encrypted with every term the keyring
	// had when the root key last changed (one envelope per term,
	// concatenated), so that a node still holding an older keyring in
	// memory can learn a rotated root key in ReloadKeyring. It is absent
	// until the root key is first rotated.
	RootKeyPath = "core/root-key"
	// EncryptionsPath holds the persisted encryption count of the active
	// term, encrypted with that term.
	EncryptionsPath = "core/keyring-encryptions"
)

// reserved reports whether key is one of the barrier's own keys.
func reserved(key string) bool {
	switch key {
	case KeyringPath, RootKeyPath, EncryptionsPath:
		return true
	}
	return false
}
