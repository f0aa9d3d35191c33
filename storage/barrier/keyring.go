package barrier

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"
	"time"
)

// termKey is one data-encryption key of the keyring. Its fields never change
// after construction except the two counters; keyring copies share termKey
// pointers so counters survive rotation and reloads.
type termKey struct {
	term        uint32
	key         []byte
	installTime time.Time
	aead        cipher.AEAD
	// encryptions is every encryption under this term known to this node:
	// the count persisted at EncryptionsPath when it was last read or
	// written, plus this node's own encryptions since.
	encryptions atomic.Uint64
	// persisted is the value of encryptions that EncryptionsPath holds, as
	// of this node's last read or write of it.
	persisted atomic.Uint64
}

// keyring is an immutable snapshot: every change builds a new keyring and
// publishes it through AESGCMBarrier.keyring, so readers never lock.
type keyring struct {
	rootKey    []byte
	activeTerm uint32
	keys       map[uint32]*termKey
	rotation   RotationConfig
}

func newTermKey(term uint32, key []byte, installed time.Time) (*termKey, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("barrier: term %d: %w", term, err)
	}
	return &termKey{term: term, key: key, installTime: installed, aead: aead}, nil
}

func (kr *keyring) active() *termKey { return kr.keys[kr.activeTerm] }

// withActive returns a copy of kr with tk added and made active.
func (kr *keyring) withActive(tk *termKey) *keyring {
	keys := maps.Clone(kr.keys)
	keys[tk.term] = tk
	return &keyring{rootKey: kr.rootKey, activeTerm: tk.term, keys: keys, rotation: kr.rotation}
}

// withRootKey returns a copy of kr wrapped by a different root key.
func (kr *keyring) withRootKey(rootKey []byte) *keyring {
	return &keyring{rootKey: rootKey, activeTerm: kr.activeTerm, keys: kr.keys, rotation: kr.rotation}
}

// withRotation returns a copy of kr with another rotation config.
func (kr *keyring) withRotation(cfg RotationConfig) *keyring {
	return &keyring{rootKey: kr.rootKey, activeTerm: kr.activeTerm, keys: kr.keys, rotation: cfg}
}

// zero overwrites the key material this keyring owns. The AES key
// schedules inside cipher.AEAD cannot be reached; they are dropped with the
// keyring.
func (kr *keyring) zero() {
	clear(kr.rootKey)
	for _, tk := range kr.keys {
		clear(tk.key)
	}
}

// zeroExcept is zero for a keyring just loaded beside prev (may be nil): it
// leaves alone the term keys it shares with prev.
func (kr *keyring) zeroExcept(prev *keyring) {
	clear(kr.rootKey)
	for term, tk := range kr.keys {
		if prev.lookup(term) != tk {
			clear(tk.key)
		}
	}
}

// keyringJSON is the persisted form, encrypted with the root key. A
// keyring written before rotation configs existed has none and gets
// DefaultRotationConfig.
type keyringJSON struct {
	ActiveTerm     uint32          `json:"active_term"`
	RootKey        []byte          `json:"root_key"`
	Keys           []keyJSON       `json:"keys"`
	RotationConfig *RotationConfig `json:"rotation_config,omitempty"`
}

type keyJSON struct {
	Term        uint32    `json:"term"`
	Value       []byte    `json:"value"`
	InstallTime time.Time `json:"install_time"`
}

// marshal returns the keyring plaintext. The caller must clear it.
func (kr *keyring) marshal() ([]byte, error) {
	rotation := kr.rotation
	out := keyringJSON{ActiveTerm: kr.activeTerm, RootKey: kr.rootKey, RotationConfig: &rotation}
	for _, term := range slices.Sorted(maps.Keys(kr.keys)) {
		tk := kr.keys[term]
		out.Keys = append(out.Keys, keyJSON{Term: term, Value: tk.key, InstallTime: tk.installTime})
	}
	buf, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("barrier: encode keyring: %w", err)
	}
	return buf, nil
}

// unmarshalKeyring parses and validates a keyring plaintext. It reuses the
// termKey of prev for terms whose key is unchanged, keeping their counters.
func unmarshalKeyring(plaintext []byte, prev *keyring) (_ *keyring, err error) {
	var in keyringJSON
	defer func() {
		if err != nil { // nothing parsed is kept: wipe it
			clear(in.RootKey)
			for _, k := range in.Keys {
				clear(k.Value)
			}
		}
	}()
	if err := json.Unmarshal(plaintext, &in); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorruptKeyring, err)
	}
	if len(in.RootKey) != KeySize {
		return nil, fmt.Errorf("%w: root key is %d bytes", ErrCorruptKeyring, len(in.RootKey))
	}
	kr := &keyring{rootKey: in.RootKey, activeTerm: in.ActiveTerm, keys: make(map[uint32]*termKey, len(in.Keys)), rotation: DefaultRotationConfig()}
	if in.RotationConfig != nil {
		if err := in.RotationConfig.Validate(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCorruptKeyring, err)
		}
		kr.rotation = *in.RotationConfig
	}
	for _, k := range in.Keys {
		if _, dup := kr.keys[k.Term]; dup || k.Term == rootTerm {
			return nil, fmt.Errorf("%w: bad or repeated term %d", ErrCorruptKeyring, k.Term)
		}
		if old := prev.lookup(k.Term); old != nil && subtle.ConstantTimeCompare(old.key, k.Value) == 1 {
			clear(k.Value)
			kr.keys[k.Term] = old
			continue
		}
		tk, err := newTermKey(k.Term, k.Value, k.InstallTime)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCorruptKeyring, err)
		}
		kr.keys[k.Term] = tk
	}
	if kr.active() == nil {
		return nil, fmt.Errorf("%w: active term %d has no key", ErrCorruptKeyring, in.ActiveTerm)
	}
	return kr, nil
}

// lookup returns the key for term, or nil; kr may be nil.
func (kr *keyring) lookup(term uint32) *termKey {
	if kr == nil {
		return nil
	}
	return kr.keys[term]
}
