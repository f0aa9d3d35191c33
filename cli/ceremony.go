package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// What the key ceremony commands (operator rekey, rotate-keys,
// generate-root, rotate) share: Vault's exit codes, reading a key share,
// and Vault's wrapped messages.

// serverError is a failure of a call to the server (or of reaching it):
// Vault's commands exit 2 for it.
type serverError struct{ err error }

func (e *serverError) Error() string { return e.err.Error() }
func (e *serverError) Unwrap() error { return e.err }

// remotef builds a serverError; the message is what is printed, e.g.
// remotef("Error initializing rekey: %w", err).
func remotef(format string, args ...any) error {
	return &serverError{err: fmt.Errorf(format, args...)}
}

// localf is a local failure or a refused option, printed wrapped at
// maxLineLength: exit 1.
func localf(format string, args ...any) error {
	return &exitError{code: ExitError, msg: wrapped(fmt.Sprintf(format, args...))}
}

// vaultExitCodes makes cmd report as Vault's own commands do: a mistake
// on the command line (a bad flag, too many arguments) or a local failure
// exits 1, an error from the server exits 2. It returns cmd.
func vaultExitCodes(cmd *cobra.Command) *cobra.Command {
	run := cmd.RunE
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		err := run(cmd, args)
		var ue *usageError
		var ee *exitError
		var se *serverError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &ee):
			return ee
		case errors.As(err, &ue):
			return &usageError{msg: ue.msg, code: ExitError}
		case errors.As(err, &se):
			return &exitError{code: ExitUsage, msg: se.Error()}
		}
		return &exitError{code: ExitError, msg: "Error: " + err.Error()}
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &usageError{msg: err.Error(), code: ExitError}
	})
	return cmd
}

// tooManyArgs is Vault's message for extra arguments.
func tooManyArgs(args []string, most int) error {
	if len(args) <= most {
		return nil
	}
	want := "0"
	if most > 0 {
		want = fmt.Sprintf("0-%d", most)
	}
	return usagef("Too many arguments (expected %s, got %d)", want, len(args))
}

// shareReader reads the key share of a ceremony update as Vault's CLI
// does: KEY given as an argument, or "-" for all of stdin, takes its
// nonce from -nonce alone; without KEY the share is prompted for (hidden,
// after showing the ceremony's nonce) on a terminal, or read from the
// first line of piped stdin, and the nonce is -nonce or else the
// ceremony's current one.
type shareReader struct {
	stdin  io.Reader
	stderr io.Writer
	// nonceLabel and keyLabel introduce the prompt, e.g. "Rekey operation
	// nonce" and "Unseal Key".
	nonceLabel, keyLabel string
}

// read returns the share and the nonce to send with it. arg is the KEY
// argument ("" for none), flagNonce the -nonce flag and current the
// ceremony's nonce from its status.
func (r shareReader) read(arg, flagNonce, current string) (key, nonce string, err error) {
	switch arg {
	case "-":
		b, err := io.ReadAll(io.LimitReader(r.stdin, 64<<10))
		if err != nil {
			return "", "", localf("Failed to read from stdin: %v", err)
		}
		key, nonce = string(b), flagNonce
	case "":
		nonce = flagNonce
		if nonce == "" {
			nonce = current
		}
		if isTerminalReader(r.stdin) {
			fmt.Fprintf(r.stderr, "%s: %s\n", r.nonceLabel, current)
		}
		if key, err = readSecretLine(r.stdin, r.stderr, r.keyLabel+" (will be hidden): "); err != nil {
			return "", "", localf("Failed to read the %s: %v", strings.ToLower(r.keyLabel), err)
		}
	default:
		key, nonce = arg, flagNonce
	}
	key = strings.TrimSpace(key)
	switch {
	case key == "":
		return "", "", localf("Missing %s: give it as an argument, or \"-\" to read it from stdin", strings.ToLower(r.keyLabel))
	case nonce == "":
		return "", "", localf("Missing nonce value: specify it via the -nonce flag")
	}
	return key, nonce, nil
}

// isTerminalReader reports whether r is a terminal.
func isTerminalReader(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// maxLineLength is the width Vault wraps its messages at.
const maxLineLength = 78

// wrapLines splits text into lines of at most maxLineLength characters at
// spaces (a longer word stays whole on its own line).
func wrapLines(text string) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		switch {
		case line == "":
			line = w
		case len(line)+1+len(w) > maxLineLength:
			lines = append(lines, line)
			line = w
		default:
			line += " " + w
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// wrapped is text wrapped at maxLineLength, each of its lines (paragraphs)
// on its own.
func wrapped(text string) string {
	var out []string
	for _, para := range strings.Split(text, "\n") {
		out = append(out, wrapLines(para)...)
	}
	return strings.Join(out, "\n")
}

// warn writes text wrapped to w (stderr), as Vault's UI.Warn does.
func warn(w io.Writer, text string) {
	fmt.Fprintln(w, wrapped(text))
}

// orNA is s, or "n/a" when empty, as Vault's tables show empty values.
func orNA(s string) string {
	if s == "" {
		return "n/a"
	}
	return s
}

// columnRows renders fields as rows for a header-less table (Vault's
// column output).
func columnRows(fields []field) [][]string {
	rows := make([][]string, len(fields))
	for i, f := range fields {
		rows[i] = []string{f.key, cell(f.value)}
	}
	return rows
}
