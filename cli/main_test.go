package cli

import (
	"context"
	"os"
	"testing"
)

// envAsMain makes the test binary behave as vaultctl (cli.Run on its
// arguments), so tests can run vaultctl as a real process: under tmux,
// or to look at its /proc entries from a child.
const envAsMain = "VAULTCTL_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envAsMain) == "1" {
		os.Exit(Run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
	}
	os.Exit(m.Run())
}
