package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// daemon is a process the test started (Prometheus, the blackbox
// exporter), stopped by t.Cleanup; its output is printed if t failed.
type daemon struct {
	name   string
	cmd    *exec.Cmd
	out    syncWriter
	exited chan struct{}
}

// startDaemon starts bin with args and waits until GET readyURL answers
// 200 (30 s at most).
func startDaemon(t testing.TB, bin, readyURL string, args ...string) *daemon {
	t.Helper()
	d := &daemon{name: filepath.Base(bin), exited: make(chan struct{})}
	d.out.w = new(bytes.Buffer)
	d.cmd = exec.Command(bin, args...)
	d.cmd.Stdout, d.cmd.Stderr = &d.out, &d.out
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", d.name, err)
	}
	go func() { _ = d.cmd.Wait(); close(d.exited) }()
	t.Cleanup(func() {
		_ = d.cmd.Process.Signal(os.Interrupt)
		select {
		case <-d.exited:
		case <-time.After(15 * time.Second):
			_ = d.cmd.Process.Kill()
			<-d.exited
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", d.name, lastLines(d.out.w.String(), 40))
		}
	})
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := hc.Get(readyURL); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d
			}
		}
		select {
		case <-d.exited:
			t.Fatalf("%s exited during start-up:\n%s", d.name, d.out.w.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("%s not ready at %s within 30s:\n%s", d.name, readyURL, d.out.w.String())
	return nil
}

// promAPI is a client of Prometheus's HTTP API.
type promAPI struct {
	base string
	hc   *http.Client
}

// sample is one series of an instant vector.
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// float is the sample's value.
func (s sample) float() float64 {
	v, _ := s.Value[1].(string)
	f, _ := strconv.ParseFloat(v, 64)
	return f
}

// get decodes the data of GET /api/v1/<path>?<q> into out.
func (p *promAPI) get(path string, q url.Values, out any) error {
	resp, err := p.hc.Get(p.base + "/api/v1/" + path + "?" + q.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var env struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return fmt.Errorf("%s: decode: %w", path, err)
	}
	if env.Status != "success" {
		return fmt.Errorf("%s %s: %s", path, q.Encode(), env.Error)
	}
	return json.Unmarshal(env.Data, out)
}

// query evaluates an instant vector query.
func (p *promAPI) query(expr string) ([]sample, error) {
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := p.get("query", url.Values{"query": {expr}}, &data); err != nil {
		return nil, err
	}
	if data.ResultType != "vector" {
		return nil, nil // scalars: evaluated, nothing to list
	}
	var out []sample
	return out, json.Unmarshal(data.Result, &out)
}

// alert is one entry of /api/v1/alerts.
type alert struct {
	Labels map[string]string `json:"labels"`
	State  string            `json:"state"`
}

// alerts lists the pending and firing alerts.
func (p *promAPI) alerts() ([]alert, error) {
	var data struct {
		Alerts []alert `json:"alerts"`
	}
	return data.Alerts, p.get("alerts", nil, &data)
}

// ruleGroup is one group of /api/v1/rules.
type ruleGroup struct {
	Name  string `json:"name"`
	File  string `json:"file"`
	Rules []struct {
		Name      string `json:"name"`
		Type      string `json:"type"`
		Health    string `json:"health"`
		LastError string `json:"lastError"`
	} `json:"rules"`
}

// rules lists the loaded rule groups.
func (p *promAPI) rules() ([]ruleGroup, error) {
	var data struct {
		Groups []ruleGroup `json:"groups"`
	}
	return data.Groups, p.get("rules", nil, &data)
}

// eventually polls check every 250 ms until it returns nil or timeout
// passes, then fails the test with what it last said.
func eventually(t testing.TB, what string, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = check(); err == nil {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v: %v", what, timeout, err)
}
