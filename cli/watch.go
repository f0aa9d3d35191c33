package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/secretumvault/secretumvault/client"
)

// watchInterval is the refresh period of the live view.
const watchInterval = time.Second

// Terminal control sequences of the live view.
const (
	altScreenOn  = "\x1b[?1049h\x1b[?25l" // alternate screen, cursor hidden
	altScreenOff = "\x1b[?25h\x1b[?1049l"
	homeClear    = "\x1b[H\x1b[2J"
)

// maxMetricsBytes bounds the metrics text read for the audit counters.
const maxMetricsBytes = 8 << 20

// newRotationWatchCmd is `vaultctl rotation watch`.
func newRotationWatchCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "watch",
		Short: "Live view: cluster, rotation policies' secrets and audit failures",
		Long:  watchHelp,
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return a.watch(cmd.Context()) },
	}
}

const watchHelp = `Shows, refreshed every second until "q" (or Ctrl-C) is pressed: the
cluster's nodes (sys/storage/raft/configuration) with the leader, the seal
status, every secret a rotation policy matches with its age against max_age
and the next scheduled rotation (sys/rotation/status), and the failure count
of each audit device, in total and since the view started (from
sys/metrics). Parts the token may not read show the server's error.

On a terminal the view takes the whole screen (stdin in raw mode, restored on
exit). Otherwise, or with -format=json|yaml, one frame is printed per second
until stdin reaches "q" or its end.`

// watch runs the live view until q, end of stdin, or ctx is done; the
// first frame is always drawn.
func (a *app) watch(ctx context.Context) error {
	p, cl, err := a.session()
	if err != nil {
		return err
	}
	src := &viewSource{cl: cl, now: time.Now, metrics: a.metricsFetcher(cl)}
	screen := !p.structured() && isTerminal(a.stdout)
	restore, err := a.rawStdin(screen)
	if err != nil {
		return err
	}
	defer restore()
	quit := make(chan struct{})
	go func() {
		waitQuit(a.stdin)
		close(quit)
	}()
	if screen {
		fmt.Fprint(a.stdout, altScreenOn)
		defer fmt.Fprint(a.stdout, altScreenOff)
	}
	tick := time.NewTicker(watchInterval)
	defer tick.Stop()
	for {
		v, err := src.fetch(ctx)
		if err != nil {
			return nil // interrupted
		}
		if err := a.drawView(p, v, screen); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-quit:
			return nil
		case <-tick.C:
		}
	}
}

// drawView prints one frame: the whole screen redrawn, or appended.
func (a *app) drawView(p *printer, v *clusterView, screen bool) error {
	if p.structured() {
		return p.print(document{Value: v})
	}
	width := 0
	if screen {
		if w, _, err := term.GetSize(int(a.stdout.(*os.File).Fd())); err == nil {
			width = w
		}
	}
	lines := v.render(width)
	var b strings.Builder
	if screen {
		b.WriteString(homeClear)
		b.WriteString(strings.Join(lines, "\r\n"))
	} else {
		b.WriteString(strings.Join(lines, "\n"))
		b.WriteString("\n\n")
	}
	_, err := io.WriteString(a.stdout, b.String())
	return err
}

// rawStdin puts a terminal stdin in raw mode (keys arrive one by one,
// unechoed) when on is set; the returned func restores it.
func (a *app) rawStdin(on bool) (func(), error) {
	f, ok := a.stdin.(*os.File)
	if !on || !ok || !term.IsTerminal(int(f.Fd())) {
		return func() {}, nil
	}
	old, err := term.MakeRaw(int(f.Fd()))
	if err != nil {
		return nil, fmt.Errorf("terminal raw mode: %w", err)
	}
	return func() { _ = term.Restore(int(f.Fd()), old) }, nil
}

// waitQuit returns at "q", "Q", Ctrl-C, Ctrl-D or the end of r.
func waitQuit(r io.Reader) {
	buf := make([]byte, 64)
	for {
		n, err := r.Read(buf)
		for _, c := range buf[:n] {
			if c == 'q' || c == 'Q' || c == 3 || c == 4 {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// metricsFetcher reads the server's Prometheus text
// (GET /v1/sys/metrics?format=prometheus) with the client's address and
// token and the TLS settings of the command line. The SDK has no call
// for it: its generic Read decodes JSON only.
func (a *app) metricsFetcher(cl *client.Client) func(context.Context) (string, error) {
	var hc *http.Client
	return func(ctx context.Context) (string, error) {
		if hc == nil {
			c, err := a.plainHTTPClient()
			if err != nil {
				return "", err
			}
			hc = c
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(cl.Address(), "/")+"/v1/sys/metrics?format=prometheus", nil)
		if err != nil {
			return "", err
		}
		if tok := cl.ClientToken(); tok != "" {
			req.Header.Set("X-Vault-Token", tok)
		}
		resp, err := hc.Do(req)
		if err != nil {
			var ue interface{ Unwrap() error }
			if errors.As(err, &ue) {
				err = ue.Unwrap() // drop the URL, which is in the view already
			}
			return "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetricsBytes))
		if err != nil {
			return "", err
		}
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("sys/metrics: %s", resp.Status)
		}
		return string(body), nil
	}
}

// plainHTTPClient is an HTTP client with the CLI's TLS settings.
func (a *app) plainHTTPClient() (*http.Client, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	skip := a.skipVerify
	if v := a.env(client.EnvSkipVerify); !skip && v != "" {
		skip, _ = strconv.ParseBool(v)
	}
	cfg.InsecureSkipVerify = skip //nolint:gosec // opt-in, as for the SDK
	ca := a.caCert
	if ca == "" {
		ca = a.env(client.EnvCACert)
	}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("read CA certificate: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA certificate %s holds no PEM certificate", ca)
		}
		cfg.RootCAs = pool
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}, nil
}
