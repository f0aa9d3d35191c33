// Package cli implements the vaultctl commands on top of the client SDK.
//
// Run is the single entry point used by cmd/vaultctl and by tests. Exit
// codes: 0 success, 1 error (message on stderr), 2 usage error; like Vault,
// "status" exits 2 when the server is sealed and "read", "list", "kv get",
// "kv list" and "kv metadata get" exit 2 when nothing is stored at the
// path. The key ceremony commands (operator rekey, rotate-keys,
// generate-root and rotate) use the codes of Vault's own commands: 1 for a
// mistake on the command line or a local failure, 2 for an error from the
// server.
//
// Flags may be written Vault-style with one dash (-format=json,
// -key-shares=5) or GNU-style with two (--format=json).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Exit codes returned by Run.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// usageError marks a mistake in the command line: exit code 2, or code
// when set (the key ceremony commands use Vault's 1).
type usageError struct {
	msg  string
	code int
}

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitError ends the command with a given code; msg, when not empty, goes
// to stderr.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// Run executes vaultctl with args (the program name excluded), reading
// stdin and writing stdout and stderr, taking VAULT_* settings from env.
// It returns the process exit code and never panics on bad input.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) string) int {
	if env == nil {
		env = func(string) string { return "" }
	}
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, env: env, environ: os.Environ}
	root := a.rootCommand()
	root.SetArgs(normalizeArgs(root, args))
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	return report(stderr, cmd, err)
}

// report prints err (if any) and maps it to an exit code.
func report(stderr io.Writer, cmd *cobra.Command, err error) int {
	if err == nil {
		return ExitOK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "Error: %s\n", ue.msg)
		if cmd != nil {
			fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
		if ue.code != 0 {
			return ue.code
		}
		return ExitUsage
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, ee.msg)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "Error: %s\n", err)
	return ExitError
}

// normalizeArgs rewrites Vault-style single-dash long flags ("-format=json")
// into the double-dash form pflag expects. Only names that are flags of the
// command being invoked are rewritten; values of flags and everything after
// "--" are left alone.
func normalizeArgs(root *cobra.Command, args []string) []string {
	out := make([]string, 0, len(args))
	cmd, descending := root, true
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return append(out, args[i:]...)
		case a == "-help":
			a = "--help"
		case len(a) > 2 && a[0] == '-' && a[1] != '-':
			if name, _, _ := strings.Cut(a[1:], "="); len(name) > 1 && lookupFlag(cmd, name) != nil {
				a = "-" + a
			}
		}
		out = append(out, a)
		if f := flagTakingValue(cmd, a); f && i+1 < len(args) {
			i++
			out = append(out, args[i])
			continue
		}
		if descending && !strings.HasPrefix(a, "-") {
			if sub := findSub(cmd, a); sub != nil {
				cmd = sub
			} else {
				descending = false
			}
		}
	}
	return out
}

// flagTakingValue reports whether a is a flag of cmd written without
// "=value" that consumes the next argument.
func flagTakingValue(cmd *cobra.Command, a string) bool {
	var f *pflag.Flag
	switch {
	case strings.HasPrefix(a, "--"):
		name, _, hasValue := strings.Cut(a[2:], "=")
		if hasValue {
			return false
		}
		f = lookupFlag(cmd, name)
	case len(a) == 2 && a[0] == '-':
		f = lookupShorthand(cmd, a[1:])
	}
	return f != nil && f.NoOptDefVal == ""
}

// lookupFlag finds a flag of cmd by long name: local, persistent or inherited.
func lookupFlag(cmd *cobra.Command, name string) *pflag.Flag {
	for _, fs := range []*pflag.FlagSet{cmd.Flags(), cmd.PersistentFlags(), cmd.InheritedFlags()} {
		if f := fs.Lookup(name); f != nil {
			return f
		}
	}
	return nil
}

// lookupShorthand finds a flag of cmd by its one-letter name.
func lookupShorthand(cmd *cobra.Command, name string) *pflag.Flag {
	for _, fs := range []*pflag.FlagSet{cmd.Flags(), cmd.PersistentFlags(), cmd.InheritedFlags()} {
		if f := fs.ShorthandLookup(name); f != nil {
			return f
		}
	}
	return nil
}

func findSub(cmd *cobra.Command, name string) *cobra.Command {
	for _, c := range cmd.Commands() {
		if c.Name() == name || c.HasAlias(name) {
			return c
		}
	}
	return nil
}

// Argument validators that report usage errors.

func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected arguments: %q", args)
	}
	return nil
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("expected %d argument(s), got %d", n, len(args))
		}
		return nil
	}
}

func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return usagef("expected %d to %d arguments, got %d", lo, hi, len(args))
		}
		return nil
	}
}

func minArgs(n int) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) < n {
			return usagef("expected at least %d argument(s), got %d", n, len(args))
		}
		return nil
	}
}

// groupCommand is a command that only holds subcommands: run alone it
// prints its help and exits 2, with an unknown subcommand it is a usage error.
func groupCommand(use, short, long string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Long:  long,
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown subcommand %q for %q", args[0], cmd.CommandPath())
			}
			cmd.SetOut(cmd.ErrOrStderr())
			_ = cmd.Help()
			return &exitError{code: ExitUsage}
		},
	}
	c.AddCommand(subs...)
	return c
}
