// Command vaultctl is the command-line client of SecretumVault. All logic
// lives in package cli; this file only wires the process to cli.Run.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/secretumvault/secretumvault/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
