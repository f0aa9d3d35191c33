package keypair_test

import (
	"testing"

	"github.com/secretumvault/secretumvault/engines/auth/keypair"
)

// goldenMessage is the canonical login message of the fields below. The
// client package's test pins the very same bytes: change both together,
// and bump MessagePrefix's version when you do.
const goldenMessage = "secretumvault-keypair-login-v1\n" +
	"auth/keypair/\n" +
	"alice@example.com\n" +
	"q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k\n" +
	"2025-01-02T03:04:05.123456789Z\n"

func TestLoginMessageGolden(t *testing.T) {
	const (
		name  = "alice@example.com"
		nonce = "q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k"
		ts    = "2025-01-02T03:04:05.123456789Z"
	)
	for _, mount := range []string{"auth/keypair/", "auth/keypair", "/auth/keypair/", "/auth/keypair"} {
		if got := string(keypair.LoginMessage(mount, name, nonce, ts)); got != goldenMessage {
			t.Errorf("LoginMessage(%q) = %q, want %q", mount, got, goldenMessage)
		}
	}
	if got := string(keypair.LoginMessage("auth/other/", name, nonce, ts)); got == goldenMessage {
		t.Error("the mount path does not change the message")
	}
}
