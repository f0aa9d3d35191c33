package seal

// Physical keys of the seal, defined once. They live in the physical
// backend outside the barrier, so they can be read while sealed, and they
// replicate with it. None is readable without a key: the configuration is
// public, the two wrapped keys are AES-256-GCM ciphertexts whose AAD is
// their own path.
const (
	// ConfigPath holds the seal configuration as plaintext JSON; its
	// presence means the seal is initialized.
	ConfigPath = "core/seal-config"
	// WrappedRootKeyPath holds the barrier's root key encrypted with the
	// unseal key (the key the shares combine to), like Vault's stored
	// barrier keys. Its absence means a seal written before unseal keys
	// were separate from the root key: the shares combine to the root key
	// itself.
	WrappedRootKeyPath = "core/root-key-shamir"
	// WrappedUnsealKeyPath holds the unseal key encrypted with the root
	// key, so that a node holding the root key can wrap a rotated root key
	// under the unchanged unseal key (Vault keeps this key, its "shamir
	// KEK", at core/shamir-kek inside the barrier). Present exactly when
	// WrappedRootKeyPath is.
	WrappedUnsealKeyPath = "core/shamir-kek"
)
