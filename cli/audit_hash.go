package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// auditHashCmd is `vaultctl audit hash`.
type auditHashCmd struct {
	app        *app
	generation uint64
}

func newAuditHashCmd(a *app) *cobra.Command {
	c := &auditHashCmd{app: a}
	cmd := &cobra.Command{
		Use:   "hash [-generation=N] PATH INPUT",
		Short: "Compute the HMAC an audit device writes for a value",
		Long: `Prints the HMAC the audit device at PATH writes in its log for INPUT
("hmac-sha256:<hex>"), to find where a token or a secret value you know
appears in the log (PUT sys/audit-hash/PATH). INPUT "-" reads the value
from stdin (one trailing newline dropped), which keeps it out of the shell
history and the process list.

Devices derive a new HMAC key generation every so many entries and at every
start; each line names its generation in "hmac_key_gen". Without
-generation the current one is used; give -generation=N to compare with a
line of generation N. -format=json prints {"hash","generation"}.`,
		Args: exactArgs(2),
		RunE: c.run,
	}
	cmd.Flags().Uint64Var(&c.generation, "generation", 0, "HMAC key generation (default the current one)")
	return cmd
}

func (c *auditHashCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	path := strings.Trim(args[0], "/")
	if path == "" || checkSegments(path) != nil {
		return usagef("invalid audit device path %q", args[0])
	}
	input, err := c.input(args[1])
	if err != nil {
		return err
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	var h *client.AuditHashOutput
	if cmd.Flags().Changed("generation") {
		h, err = cl.Sys().AuditHashGeneration(cmd.Context(), path, input, c.generation)
	} else {
		h, err = cl.Sys().AuditHash(cmd.Context(), path, input)
	}
	if err != nil {
		return fmt.Errorf("hashing with audit device %s: %w", path, err)
	}
	return p.raw(h.Hash, h)
}

// input is the argument, or stdin for "-".
func (c *auditHashCmd) input(arg string) (string, error) {
	if arg != "-" {
		return arg, nil
	}
	b, err := io.ReadAll(io.LimitReader(c.app.stdin, maxInputBytes+1))
	if err != nil {
		return "", fmt.Errorf("reading the input from stdin: %w", err)
	}
	if len(b) > maxInputBytes {
		return "", usagef("the input on stdin is larger than %d bytes", maxInputBytes)
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if s == "" {
		return "", usagef("no input on stdin")
	}
	return s, nil
}
