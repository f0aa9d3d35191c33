package membership

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// leaderClient calls another node's Vault-compatible API during a join.
type leaderClient struct {
	addr string
	http *http.Client
}

func newLeaderClient(p *JoinParams) (*leaderClient, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if p.LeaderCACert != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(p.LeaderCACert)) {
			return nil, logical.InvalidRequest("leader_ca_cert", "no PEM certificate found")
		}
		tc.RootCAs = pool
	}
	if p.LeaderClientCert != "" || p.LeaderClientKey != "" {
		cert, err := tls.X509KeyPair([]byte(p.LeaderClientCert), []byte(p.LeaderClientKey))
		if err != nil {
			return nil, logical.InvalidRequest("leader_client_cert", "invalid client certificate or key: %v", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	tr.TLSClientConfig = tc
	return &leaderClient{addr: strings.TrimSuffix(p.LeaderAPIAddr, "/"), http: &http.Client{
		Transport: tr, Timeout: 30 * time.Second,
		// The address comes from an unauthenticated caller: go there and
		// nowhere else.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}, nil
}

// call PUTs body as JSON to /v1/path and decodes the response's "data"
// (or the whole body when there is no envelope) into out.
func (l *leaderClient) call(ctx context.Context, path string, body, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, l.addr+"/v1/"+path, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := l.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Errors []string `json:"errors"`
		}
		_ = json.Unmarshal(data, &e)
		return fmt.Errorf("%s answered %d: %s", path, resp.StatusCode, strings.Join(e.Errors, "; "))
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(data, &env); err != nil || len(env.Data) == 0 {
		return fmt.Errorf("%s: malformed answer", path)
	}
	return json.Unmarshal(env.Data, out)
}
