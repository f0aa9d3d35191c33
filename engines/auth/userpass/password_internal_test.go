package userpass

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage/inmem"
	"golang.org/x/crypto/argon2"
)

var testParams = Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// countingKDF records the cost of every argon2id call.
type countingKDF struct {
	mu    sync.Mutex
	calls []string
}

func (c *countingKDF) derive(pw, salt []byte, t, m uint32, p uint8, l uint32) []byte {
	c.mu.Lock()
	c.calls = append(c.calls, fmt.Sprintf("m=%d,t=%d,p=%d,len=%d", m, t, p, l))
	c.mu.Unlock()
	return argon2.IDKey(pw, salt, t, m, p, l)
}

func (c *countingKDF) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = nil
	return out
}

// TestUnknownUserSpendsTheSameHashWork checks a login for an unknown user
// (or one without a hash) computes exactly the argon2id work a login for
// a real user does, so timing does not tell them apart.
func TestUnknownUserSpendsTheSameHashWork(t *testing.T) {
	ctx := context.Background()
	store := inmem.New()
	b, err := New(ctx, &logical.BackendConfig{}, WithArgon2Params(testParams))
	if err != nil {
		t.Fatal(err)
	}
	k := &countingKDF{}
	b.kdf = k.derive
	do := func(path string, data map[string]any) error {
		_, err := b.HandleRequest(ctx, &logical.Request{Operation: logical.UpdateOperation, Path: path, Data: data, Storage: store,
			Connection: &logical.Connection{RemoteAddr: "127.0.0.1"}})
		return err
	}
	if err := do("users/alice", map[string]any{"password": "s3cret"}); err != nil {
		t.Fatal(err)
	}
	k.take()
	cases := []struct {
		name, user, password string
	}{
		{"right password", "alice", "s3cret"},
		{"wrong password", "alice", "wrong"},
		{"unknown user", "nobody", "wrong"},
	}
	var want []string
	for _, c := range cases {
		do("login/"+c.user, map[string]any{"password": c.password})
		got := k.take()
		if want == nil {
			want = got
		}
		if len(got) != 1 || got[0] != want[0] {
			t.Errorf("%s: hash work %v, want %v", c.name, got, want)
		}
	}
}

func TestPHCRoundTrip(t *testing.T) {
	b, err := New(context.Background(), nil, WithArgon2Params(testParams))
	if err != nil {
		t.Fatal(err)
	}
	phc, err := b.hashPassword(context.Background(), "pw", testParams)
	if err != nil {
		t.Fatal(err)
	}
	ok, p, err := b.verifyPassword(context.Background(), "pw", phc)
	if err != nil || !ok || p != testParams {
		t.Fatalf("verify = %v %+v %v", ok, p, err)
	}
	if ok, _, _ := b.verifyPassword(context.Background(), "PW", phc); ok {
		t.Fatal("a wrong password verified")
	}
	other, _ := b.hashPassword(context.Background(), "pw", testParams)
	if other == phc {
		t.Fatal("two hashes of one password share a salt")
	}
}

func TestParsePHCRefuses(t *testing.T) {
	salt := b64.EncodeToString(make([]byte, 16))
	key := b64.EncodeToString(make([]byte, 32))
	tests := map[string]string{
		"bcrypt":          "$2a$10$abcdefghijklmnopqrstuv",
		"argon2i":         "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"old version":     "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key,
		"huge memory":     "$argon2id$v=19$m=4194304,t=1,p=1$" + salt + "$" + key,
		"zero time":       "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key,
		"trailing junk":   "$argon2id$v=19$m=64,t=1,p=1x$" + salt + "$" + key,
		"short salt":      "$argon2id$v=19$m=64,t=1,p=1$" + b64.EncodeToString([]byte("abc")) + "$" + key,
		"bad base64":      "$argon2id$v=19$m=64,t=1,p=1$!!$" + key,
		"too many fields": "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "$x",
		"threads 0":       "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key,
		"threads 256":     "$argon2id$v=19$m=4096,t=1,p=256$" + salt + "$" + key,
	}
	for name, phc := range tests {
		if _, _, _, err := parsePHC(phc); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: parsePHC(%q) = %v, want ErrCorrupt", name, phc, err)
		}
	}
	good := "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key
	if _, _, _, err := parsePHC(good); err != nil || !strings.HasPrefix(good, "$argon2id") {
		t.Fatalf("parsePHC(good) = %v", err)
	}
}
