package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/secretumvault/secretumvault/client"
)

// operatorUnsealCmd is `vaultctl operator unseal`.
type operatorUnsealCmd struct {
	app   *app
	reset bool
}

func newOperatorUnsealCmd(a *app) *cobra.Command {
	c := &operatorUnsealCmd{app: a}
	cmd := &cobra.Command{
		Use:   "unseal [KEY]",
		Short: "Submit one unseal key share",
		Long: `Submits one unseal key share and prints the unseal progress. Without KEY the
key is read from stdin: with a prompt and without echo on a terminal, else
the first line. KEY "-" also reads stdin. -reset discards the shares
submitted so far.`,
		Args: rangeArgs(0, 1),
		RunE: c.run,
	}
	cmd.Flags().BoolVar(&c.reset, "reset", false, "discard the key shares submitted so far")
	return cmd
}

func (c *operatorUnsealCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	if c.reset && len(args) > 0 {
		return usagef("-reset takes no key")
	}
	var key string
	if !c.reset {
		if len(args) == 1 && args[0] != "-" {
			key = strings.TrimSpace(args[0])
		} else if key, err = readSecretLine(c.app.stdin, c.app.stderr, "Unseal Key (will be hidden): "); err != nil {
			return err
		}
		if key == "" {
			return usagef("no unseal key given")
		}
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	var st *client.SealStatus
	if c.reset {
		st, err = cl.Sys().UnsealReset(cmd.Context())
	} else {
		st, err = cl.Sys().Unseal(cmd.Context(), key)
	}
	if err != nil {
		return fmt.Errorf("unsealing: %w", err)
	}
	return p.print(sealStatusDocument(st))
}

// readSecretLine reads one line from in: without echo after a prompt on
// stderr when in is a terminal, else plainly (pipes, tests).
func readSecretLine(in io.Reader, prompt io.Writer, label string) (string, error) {
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(prompt, label)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("reading key: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if in == nil {
		return "", usagef("no key given and no stdin")
	}
	line, err := bufio.NewReader(io.LimitReader(in, 64<<10)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("reading key: %w", err)
	}
	return strings.TrimSpace(line), nil
}
