package cli

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// policyWriteCmd is `vaultctl policy write`.
type policyWriteCmd struct {
	app  *app
	kind string
}

func newPolicyWriteCmd(a *app) *cobra.Command {
	c := &policyWriteCmd{app: a}
	cmd := &cobra.Command{
		Use:   "write [-type cedar|hcl] NAME FILE|-",
		Short: "Upload a Cedar or HCL policy",
		Long: `Uploads the policy in FILE ("-": stdin) as NAME, replacing any policy of the
same kind and name. The kind is -type, else the file extension: *.cedar
goes to sys/policies/cedar/NAME, *.hcl (a Vault ACL policy, compiled to
Cedar by the server) to sys/policies/acl/NAME. When the server refuses
the policy, the error points at the line and column it named.`,
		Args: exactArgs(2),
		RunE: c.run,
	}
	bindPolicyType(cmd, &c.kind)
	return cmd
}

func (c *policyWriteCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	name, file := args[0], args[1]
	if err := checkPolicyNameArg(name); err != nil {
		return err
	}
	kind, err := kindOfFile(c.kind, file)
	if err != nil {
		return err
	}
	text, err := c.read(file)
	if err != nil {
		return err
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	if kind == kindCedar {
		err = cl.Sys().PutCedarPolicy(cmd.Context(), name, text)
	} else {
		err = cl.Sys().PutACLPolicy(cmd.Context(), name, text)
	}
	if err != nil {
		return uploadError(name, file, text, err)
	}
	p.success("Success! Uploaded %s policy: %s", kind, name)
	return nil
}

// read returns the policy text of file or stdin; an empty one is refused.
func (c *policyWriteCmd) read(file string) (string, error) {
	var b []byte
	var err error
	if file == "-" {
		if c.app.stdin == nil {
			return "", usagef("no stdin to read the policy from")
		}
		b, err = readLimited(c.app.stdin, "stdin")
	} else {
		b, err = readFileLimited(file)
	}
	if err != nil {
		return "", fmt.Errorf("reading policy: %w", err)
	}
	if strings.TrimSpace(string(b)) == "" {
		return "", usagef("policy file %s is empty", displayFile(file))
	}
	return string(b), nil
}

// uploadError describes a failed upload; a policy the server refused with
// a position shows FILE:LINE:COLUMN and the offending line, compiler style.
func uploadError(name, file, text string, err error) error {
	var pe *client.PolicyError
	if !errors.As(err, &pe) {
		return fmt.Errorf("uploading policy %s: %w", name, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "policy %s in %s was refused by the server:", name, displayFile(file))
	msgs := pe.Errors
	if len(msgs) == 0 {
		msgs = []string{"invalid policy"}
	}
	if pe.Line > 0 {
		fmt.Fprintf(&b, "\n%s:%d:%d: %s", displayFile(file), pe.Line, pe.Column, msgs[0])
		b.WriteString(sourceExcerpt(text, pe.Line, pe.Column))
		msgs = msgs[1:]
	}
	for _, m := range msgs {
		b.WriteString("\n  ")
		b.WriteString(m)
	}
	return errors.New(b.String())
}

// sourceExcerpt shows line (1-based) of text with a caret under column
// (1-based, in characters), or "" when the line does not exist.
func sourceExcerpt(text string, line, column int) string {
	lines := strings.Split(text, "\n")
	if line < 1 || line > len(lines) {
		return ""
	}
	src := strings.TrimRight(lines[line-1], "\r")
	gutter := fmt.Sprintf("%5d | ", line)
	out := "\n" + gutter + src
	if column < 1 || column > utf8.RuneCountInString(src)+1 {
		return out
	}
	var pad strings.Builder
	i := 0
	for _, r := range src {
		if i == column-1 {
			break
		}
		if r == '\t' {
			pad.WriteRune('\t')
		} else {
			pad.WriteByte(' ')
		}
		i++
	}
	return out + "\n" + strings.Repeat(" ", len(gutter)-2) + "| " + pad.String() + "^"
}

// displayFile names a policy source in messages.
func displayFile(file string) string {
	if file == "-" {
		return "<stdin>"
	}
	return file
}
