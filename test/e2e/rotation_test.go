package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	vault "github.com/openbao/openbao/api/v2"

	"github.com/secretumvault/secretumvault/internal/dbtest"
)

// hookReceiver records the webhook bodies whose signature verifies
// (computed here, independently of the server's code).
type hookReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []string
	bad    int
}

func newHookReceiver(t *testing.T, secret string) *hookReceiver {
	h := &hookReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if r.Header.Get("X-Secretum-Signature") == "sha256="+hex.EncodeToString(m.Sum(nil)) {
			h.bodies = append(h.bodies, string(body))
		} else {
			h.bad++
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// event returns the first verified body of event on path, or "".
func (h *hookReceiver) event(event, path string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, b := range h.bodies {
		var ev struct{ Event, Path string }
		if json.Unmarshal([]byte(b), &ev) == nil && ev.Event == event && ev.Path == path {
			return b
		}
	}
	return ""
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func pgLogin(url string) error {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return err
	}
	defer db.Close()
	var one int
	return db.QueryRow("SELECT 1").Scan(&one)
}

// TestRotationPolicies drives rotation policies on a real vaultd with a
// password-checking PostgreSQL: a static role and a KV secret rotate on
// a 2-second schedule (the old database password stops working); the CI
// gate passes, then fails once max_age is shorter than the secret's age;
// quarantine refuses the overdue secret with a 403 naming the policy
// until "vaultctl secrets rotate" lifts it; a password changed behind the
// server's back is reported as drift to a signed webhook, then repaired.
func TestRotationPolicies(t *testing.T) {
	pg := dbtest.StartPostgres(t)
	su, err := sql.Open("pgx", pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer su.Close()
	if _, err := su.Exec(`CREATE ROLE svapp LOGIN PASSWORD 'Initial-pw-0001'`); err != nil {
		t.Fatal(err)
	}
	s := newServerWith(t, "rotation_check_interval = \"200ms\"\n")
	init := s.initUnseal(1, 1)
	c := s.client(init.RootToken)
	for path, typ := range map[string]string{"database": "database", "secret": "kv-v2"} {
		in := &vault.MountInput{Type: typ}
		if typ == "kv-v2" {
			in = &vault.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}
		}
		if err := c.Sys().Mount(path, in); err != nil {
			t.Fatalf("mount %s: %v", path, err)
		}
	}
	write := func(path string, data map[string]any) {
		t.Helper()
		if _, err := c.Logical().Write(path, data); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
	}
	write("database/config/pg", map[string]any{"plugin_name": "postgresql-database-plugin", "connection_url": pg.TemplateURL(),
		"username": pg.SuperUser(), "password": pg.Password(), "allowed_roles": "*"})
	write("database/static-roles/app", map[string]any{"db_name": "pg", "username": "svapp", "rotation_period": "24h"})
	write("secret/data/app/api", map[string]any{"data": map[string]any{"token": "initial"}})
	write("secret/metadata/app/api", map[string]any{"custom_metadata": map[string]any{"rotate_length": "20"}})
	staticPW := func() string {
		t.Helper()
		sec, err := c.Logical().Read("database/static-creds/app")
		if err != nil || sec == nil {
			t.Fatalf("read static-creds: %v", err)
		}
		return sec.Data["password"].(string)
	}
	kvVersion := func() int {
		t.Helper()
		sec, err := c.Logical().Read("secret/data/app/api")
		if err != nil || sec == nil {
			t.Fatalf("read secret: %v", err)
		}
		v, _ := sec.Data["metadata"].(map[string]any)["version"].(json.Number).Int64()
		return int(v)
	}

	write("sys/rotation/policies/db", map[string]any{"match": "database/static-roles/*", "schedule": "*/2 * * * * *", "max_age": "1h"})
	write("sys/rotation/policies/kv", map[string]any{"match": "secret/data/app/*", "schedule": "*/2 * * * * *", "max_age": "1h"})
	pw0 := staticPW()
	var pw1, pw2 string
	waitFor(t, "a scheduled rotation of the static role", 20*time.Second, func() bool { pw1 = staticPW(); return pw1 != pw0 })
	waitFor(t, "a second scheduled rotation", 20*time.Second, func() bool { pw2 = staticPW(); return pw2 != pw1 })
	if err := pgLogin(pg.URLFor("svapp", pw0)); err == nil {
		t.Fatal("the password from before the rotations still logs in")
	}
	if err := pgLogin(pg.URLFor("svapp", pw2)); err != nil {
		t.Fatalf("the current static-creds password does not log in: %v", err)
	}
	waitFor(t, "KV versions advancing on schedule", 20*time.Second, func() bool { return kvVersion() >= 3 })

	if out, errOut, code := s.vaultctl(init.RootToken, "", "rotation", "check"); code != 0 || !strings.Contains(out, "OK") {
		t.Fatalf("rotation check with everything fresh: exit %d\n%s%s", code, out, errOut)
	}
	checkRotationCLI(t, s, init.RootToken)
	checkRotationMetrics(t, s, init.RootToken)
	pwBefore := staticPW()
	if out, errOut, code := s.vaultctl(init.RootToken, "", "rotation", "run", "db"); code != 0 {
		t.Fatalf("vaultctl rotation run db: exit %d\n%s%s", code, out, errOut)
	}
	if pw2 = staticPW(); pw2 == pwBefore {
		t.Fatal("rotation run did not rotate the static role")
	}

	// Stop rotating; a strict policy quarantines the now overdue secret.
	for _, p := range []string{"db", "kv"} {
		if _, err := c.Logical().Delete("sys/rotation/policies/" + p); err != nil {
			t.Fatal(err)
		}
	}
	write("sys/rotation/policies/kv-strict", map[string]any{"match": "secret/data/app/*", "max_age": "2s", "enforce": "quarantine"})
	waitFor(t, "rotation check failing on the overdue secret", 20*time.Second, func() bool {
		out, _, code := s.vaultctl(init.RootToken, "", "rotation", "check")
		return code == 1 && strings.Contains(out, "secret/data/app/api")
	})
	out, _, code := s.vaultctl(init.RootToken, "", "rotation", "check", "-format=json")
	var gate struct {
		OK      bool `json:"ok"`
		Secrets []struct{ Path, Policy, State string }
	}
	if code != 1 || json.Unmarshal([]byte(out), &gate) != nil || gate.OK || len(gate.Secrets) != 1 || gate.Secrets[0].Policy != "kv-strict" {
		t.Fatalf("rotation check -format=json: exit %d, %s", code, out)
	}
	waitFor(t, "the quarantine", 20*time.Second, func() bool {
		_, err := c.Logical().Read("secret/data/app/api")
		return responseStatus(err) == http.StatusForbidden && strings.Contains(err.Error(), "kv-strict")
	})
	if out, errOut, code := s.vaultctl(init.RootToken, "", "secrets", "rotate", "secret/data/app/api"); code != 0 {
		t.Fatalf("vaultctl secrets rotate: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := c.Logical().Read("secret/data/app/api"); err != nil {
		t.Fatalf("the rotated secret is still refused: %v", err)
	}
	if _, err := c.Logical().Delete("sys/rotation/policies/kv-strict"); err != nil {
		t.Fatal(err)
	}

	// Drift: the password is changed behind the server's back.
	hook := newHookReceiver(t, "hook-key")
	write("sys/rotation/policies/drift", map[string]any{"match": "database/static-roles/*", "max_age": "1h", "verify_interval": "1s",
		"on_failure": "notify", "notify": []string{hook.srv.URL}, "notify_secret": "hook-key"})
	pw2 = staticPW() // the stored password the drift replaces (no policy rotates it now)
	if _, err := su.Exec(`ALTER ROLE svapp PASSWORD 'Hand-set-pw-0002'`); err != nil {
		t.Fatal(err)
	}
	var body string
	waitFor(t, "a signed drift notification", 20*time.Second, func() bool {
		body = hook.event("drift", "database/static-roles/app")
		return body != ""
	})
	if strings.Contains(body, "Hand-set-pw-0002") || strings.Contains(body, pw2) {
		t.Fatalf("the drift notification holds a password: %s", body)
	}
	write("sys/rotation/policies/drift", map[string]any{"match": "database/static-roles/*", "max_age": "1h", "verify_interval": "1s", "on_failure": "retry"})
	var repaired string
	waitFor(t, "the drifted password repaired", 20*time.Second, func() bool { repaired = staticPW(); return repaired != pw2 })
	if err := pgLogin(pg.URLFor("svapp", repaired)); err != nil {
		t.Fatalf("the repaired password does not log in: %v", err)
	}
	if err := pgLogin(pg.URLFor("svapp", "Hand-set-pw-0002")); err == nil {
		t.Fatal("the hand-set password still logs in after the repair")
	}
	hook.mu.Lock()
	defer hook.mu.Unlock()
	if hook.bad != 0 {
		t.Fatalf("%d webhook bodies did not verify", hook.bad)
	}
}

// checkRotationCLI: list, status and history show the policies, the
// matched secrets and their scheduled runs.
func checkRotationCLI(t *testing.T, s *server, token string) {
	t.Helper()
	out, errOut, code := s.vaultctl(token, "", "rotation", "list")
	if code != 0 || !strings.Contains(out, "db") || !strings.Contains(out, "kv") {
		t.Fatalf("rotation list: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = s.vaultctl(token, "", "rotation", "status", "-format=json")
	var st struct {
		Secrets []struct{ Path, Policy, State string }
		OK      int `json:"ok"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.OK != 2 || len(st.Secrets) != 2 {
		t.Fatalf("rotation status -format=json: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = s.vaultctl(token, "", "rotation", "history", "kv")
	if code != 0 || !strings.Contains(out, "secret/data/app/api") || !strings.Contains(out, "scheduled") || !strings.Contains(out, "success") {
		t.Fatalf("rotation history kv: exit %d\n%s%s", code, out, errOut)
	}
}

// checkRotationMetrics scrapes the rotation series of both policies.
func checkRotationMetrics(t *testing.T, s *server, token string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.url()+"/v1/sys/metrics?format=prometheus", nil)
	req.Header.Set("X-Vault-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`secretum_vault_rotation_runs_total{policy="kv",result="success"}`,
		`secretum_vault_rotation_runs_total{policy="db",result="success"}`,
		`secretum_vault_secret_age_seconds{policy="kv"}`,
		`secretum_vault_rotation_overdue{policy="db"} 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
