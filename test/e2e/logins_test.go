package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	vault "github.com/openbao/openbao/api/v2"
)

// This file holds the helpers shared by the login tests (TestLogin*) and
// the userpass and approle tests; keypair, cert and jwt have their own
// files.

// loginServer starts a fresh vaultd, initialises and unseals it (1 of 1)
// and returns it with a root client and the root token.
func loginServer(t *testing.T) (*server, *vault.Client, string) {
	t.Helper()
	s := newServer(t)
	init := s.initUnseal(1, 1)
	return s, s.client(init.RootToken), init.RootToken
}

// writeOK writes data at path with c and fails the test on an error.
func writeOK(t *testing.T, c *vault.Client, path string, data map[string]any) *vault.Secret {
	t.Helper()
	sec, err := c.Logical().Write(path, data)
	if err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return sec
}

// readOK reads path with c and fails the test on an error or no answer.
func readOK(t *testing.T, c *vault.Client, path string) *vault.Secret {
	t.Helper()
	sec, err := c.Logical().Read(path)
	if err != nil || sec == nil {
		t.Fatalf("read %s: %+v, %v", path, sec, err)
	}
	return sec
}

// wantErrStatus fails the test unless err is a Vault error answer with
// status want.
func wantErrStatus(t *testing.T, what string, err error, want int) {
	t.Helper()
	if got := responseStatus(err); got != want {
		t.Errorf("%s: status %d (err %v), want %d", what, got, err, want)
	}
}

// wantLogin checks a login answer carries a client token, an accessor
// and an entity id, and returns it.
func wantLogin(t *testing.T, what string, sec *vault.Secret, err error) *vault.SecretAuth {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if sec == nil || sec.Auth == nil || sec.Auth.ClientToken == "" || sec.Auth.Accessor == "" || sec.Auth.EntityID == "" {
		t.Fatalf("%s: answer lacks token, accessor or entity id: %+v", what, sec)
	}
	return sec.Auth
}

// putCedar writes a Cedar policy document under name.
func putCedar(t *testing.T, root *vault.Client, name, policy string) {
	t.Helper()
	writeOK(t, root, "sys/policies/cedar/"+name, map[string]any{"policy": policy})
}

// checkEntity checks that token's lookup-self names entityID and that
// the entity is called name with Cedar type cedarType; it returns the
// entity's read answer.
func checkEntity(t *testing.T, s *server, root *vault.Client, token, entityID, name, cedarType string) map[string]any {
	t.Helper()
	self := readOK(t, s.client(token), "auth/token/lookup-self")
	if got := self.Data["entity_id"]; got != entityID {
		t.Errorf("lookup-self entity_id = %v, want %s", got, entityID)
	}
	e := readOK(t, root, "identity/entity/id/"+entityID).Data
	if e["id"] != entityID || e["name"] != name || e["cedar_type"] != cedarType {
		t.Errorf("entity %s: id %v name %v cedar_type %v, want %s %s %s", entityID, e["id"], e["name"], e["cedar_type"], entityID, name, cedarType)
	}
	return e
}

// stringList converts a JSON array answer to strings ([] for nil).
func stringList(v any) []string {
	out := []string{}
	list, _ := v.([]any)
	for _, x := range list {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// postJSONTo posts body as JSON to url with hc and returns the status and
// the decoded answer (nil for an empty body).
func postJSONTo(t *testing.T, hc *http.Client, url string, body any) (int, map[string]any) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil && resp.ContentLength != 0 {
		t.Fatalf("POST %s: status %d, undecodable answer: %v", url, resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

// authFailures scrapes secretum_vault_auth_failures_total with the root
// token.
func authFailures(t *testing.T, s *server, rootToken string) float64 {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.url()+"/v1/sys/metrics?format=prometheus", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Vault-Token", rootToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("metrics scrape: status %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if ok && name == "secretum_vault_auth_failures_total" {
			f, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			if err != nil {
				t.Fatalf("metric value %q: %v", value, err)
			}
			return f
		}
	}
	t.Fatalf("secretum_vault_auth_failures_total not in the scrape (err %v)", sc.Err())
	return 0
}

// TestLoginUserpass: a user with token_policies logs in with the OpenBao
// client; the token carries the policies and an entity (User "alice");
// a Cedar policy on User::"alice" permits one KV read and nothing else;
// wrong passwords are 403s, the mount's lockout_threshold locks the user
// out (even with the right password, and only that user), and every 403
// counts in secretum_vault_auth_failures_total.
func TestLoginUserpass(t *testing.T) {
	s, root, rootToken := loginServer(t)
	writeOK(t, root, "sys/auth/userpass", map[string]any{"type": "userpass", "options": map[string]any{"lockout_threshold": "3"}})
	mount := readOK(t, root, "sys/auth/userpass").Data
	if opts, _ := mount["options"].(map[string]any); mount["type"] != "userpass" || opts["lockout_threshold"] != "3" {
		t.Fatalf("sys/auth/userpass = %v, want type userpass with options.lockout_threshold 3", mount)
	}
	writeOK(t, root, "sys/mounts/secret", map[string]any{"type": "kv-v2"})
	writeOK(t, root, "secret/data/app/db", map[string]any{"data": map[string]any{"password": "s3cr3t"}})
	writeOK(t, root, "secret/data/other", map[string]any{"data": map[string]any{"v": "1"}})
	writeOK(t, root, "auth/userpass/users/alice", map[string]any{"password": "alice-pw-1", "token_policies": []string{"dev"}})
	writeOK(t, root, "auth/userpass/users/bob", map[string]any{"password": "bob-pw-1"})

	sec, err := s.client("").Logical().Write("auth/userpass/login/alice", map[string]any{"password": "alice-pw-1"})
	auth := wantLogin(t, "alice login", sec, err)
	if !slices.Equal(auth.Policies, []string{"default", "dev"}) || auth.Metadata["username"] != "alice" {
		t.Errorf("alice auth: policies %v metadata %v, want [default dev] and username alice", auth.Policies, auth.Metadata)
	}
	alice := s.client(auth.ClientToken)
	self := readOK(t, alice, "auth/token/lookup-self").Data
	if got := stringList(self["policies"]); !slices.Equal(got, []string{"default", "dev"}) || self["accessor"] != auth.Accessor {
		t.Errorf("lookup-self: policies %v accessor %v, want [default dev] %s", got, self["accessor"], auth.Accessor)
	}
	ent := checkEntity(t, s, root, auth.ClientToken, auth.EntityID, "alice", "User")
	if aliases, _ := ent["aliases"].([]any); len(aliases) != 1 {
		t.Errorf("entity aliases = %v, want one", ent["aliases"])
	} else if a, _ := aliases[0].(map[string]any); a["name"] != "alice" || a["mount_type"] != "userpass" {
		t.Errorf("entity alias = %v, want name alice on userpass", a)
	}
	// A second login of the same user lands on the same entity.
	sec, err = s.client("").Logical().Write("auth/userpass/login/alice", map[string]any{"password": "alice-pw-1"})
	if again := wantLogin(t, "alice second login", sec, err); again.EntityID != auth.EntityID || again.ClientToken == auth.ClientToken {
		t.Errorf("second login: entity %s token reused %v, want entity %s and a new token", again.EntityID, again.ClientToken == auth.ClientToken, auth.EntityID)
	}

	_, err = alice.Logical().Read("secret/data/app/db")
	wantErrStatus(t, "read before any Cedar policy", err, http.StatusForbidden)
	putCedar(t, root, "alice-db", `permit(principal == User::"alice", action == Action::"read", resource == Secret::"secret/data/app/db");`)
	got, err := alice.Logical().Read("secret/data/app/db")
	if err != nil || got == nil {
		t.Fatalf("permitted read: %+v, %v", got, err)
	}
	if data, _ := got.Data["data"].(map[string]any); data["password"] != "s3cr3t" {
		t.Errorf("permitted read data = %v", got.Data)
	}
	_, err = alice.Logical().Write("secret/data/app/db", map[string]any{"data": map[string]any{"password": "x"}})
	wantErrStatus(t, "write of the permitted path", err, http.StatusForbidden)
	_, err = alice.Logical().Read("secret/data/other")
	wantErrStatus(t, "read of another path", err, http.StatusForbidden)
	_, err = alice.Logical().List("secret/metadata/app")
	wantErrStatus(t, "list", err, http.StatusForbidden)
	_, err = alice.Logical().Delete("secret/data/app/db")
	wantErrStatus(t, "delete", err, http.StatusForbidden)
	sec, err = s.client("").Logical().Write("auth/userpass/login/bob", map[string]any{"password": "bob-pw-1"})
	bob := wantLogin(t, "bob login", sec, err)
	checkEntity(t, s, root, bob.ClientToken, bob.EntityID, "bob", "User")
	_, err = s.client(bob.ClientToken).Logical().Read("secret/data/app/db")
	wantErrStatus(t, "bob reads alice's path", err, http.StatusForbidden)

	// Lockout: threshold 3 wrong passwords, then even the right one fails.
	before := authFailures(t, s, rootToken)
	for i := range 3 {
		_, err = s.client("").Logical().Write("auth/userpass/login/alice", map[string]any{"password": "wrong"})
		wantErrStatus(t, fmt.Sprintf("wrong password #%d", i+1), err, http.StatusForbidden)
	}
	_, err = s.client("").Logical().Write("auth/userpass/login/alice", map[string]any{"password": "alice-pw-1"})
	wantErrStatus(t, "right password while locked out", err, http.StatusForbidden)
	if after := authFailures(t, s, rootToken); after-before != 4 {
		t.Errorf("secretum_vault_auth_failures_total went %v -> %v, want +4 (3 wrong passwords, 1 locked out)", before, after)
	}
	// The lockout is per user: bob, from the same address, still logs in.
	sec, err = s.client("").Logical().Write("auth/userpass/login/bob", map[string]any{"password": "bob-pw-1"})
	wantLogin(t, "bob login while alice is locked out", sec, err)
	// Tokens issued before the lockout keep working.
	if _, err := alice.Logical().Read("secret/data/app/db"); err != nil {
		t.Errorf("alice's earlier token after the lockout: %v", err)
	}
}

// TestLoginApprole: a role whose secret ids have one use and are bound
// to 127.0.0.0/8; the login works once and the second use is refused;
// the entity is the Service named after the role, which a Cedar policy
// on Service::"<role>" permits; a role bound to another network refuses
// logins from 127.0.0.1.
func TestLoginApprole(t *testing.T) {
	s, root, _ := loginServer(t)
	writeOK(t, root, "sys/auth/approle", map[string]any{"type": "approle"})
	writeOK(t, root, "sys/mounts/secret", map[string]any{"type": "kv-v2"})
	writeOK(t, root, "secret/data/ci/config", map[string]any{"data": map[string]any{"region": "eu-west-1"}})
	writeOK(t, root, "auth/approle/role/deployer", map[string]any{
		"secret_id_num_uses": 1, "secret_id_bound_cidrs": []string{"127.0.0.0/8"}, "token_policies": []string{"ci"},
	})
	role := readOK(t, root, "auth/approle/role/deployer").Data
	if fmt.Sprint(role["secret_id_num_uses"]) != "1" || !slices.Equal(stringList(role["secret_id_bound_cidrs"]), []string{"127.0.0.0/8"}) {
		t.Errorf("role read: secret_id_num_uses %v secret_id_bound_cidrs %v", role["secret_id_num_uses"], role["secret_id_bound_cidrs"])
	}
	roleID, _ := readOK(t, root, "auth/approle/role/deployer/role-id").Data["role_id"].(string)
	sid := writeOK(t, root, "auth/approle/role/deployer/secret-id", nil)
	secretID, _ := sid.Data["secret_id"].(string)
	if roleID == "" || secretID == "" || sid.Data["secret_id_accessor"] == "" || fmt.Sprint(sid.Data["secret_id_num_uses"]) != "1" {
		t.Fatalf("role-id %q, secret-id answer %v", roleID, sid.Data)
	}

	creds := map[string]any{"role_id": roleID, "secret_id": secretID}
	sec, err := s.client("").Logical().Write("auth/approle/login", creds)
	auth := wantLogin(t, "approle login", sec, err)
	if !slices.Equal(auth.Policies, []string{"ci", "default"}) || auth.Metadata["role_name"] != "deployer" {
		t.Errorf("approle auth: policies %v metadata %v, want [ci default] and role_name deployer", auth.Policies, auth.Metadata)
	}
	_, err = s.client("").Logical().Write("auth/approle/login", creds)
	wantErrStatus(t, "second login with a one-use secret id", err, http.StatusForbidden)
	checkEntity(t, s, root, auth.ClientToken, auth.EntityID, "deployer", "Service")

	ci := s.client(auth.ClientToken)
	_, err = ci.Logical().Read("secret/data/ci/config")
	wantErrStatus(t, "read before the Cedar policy", err, http.StatusForbidden)
	putCedar(t, root, "ci", `permit(principal == Service::"deployer", action == Action::"read", resource in Secret::"secret/data/ci");`)
	got, err := ci.Logical().Read("secret/data/ci/config")
	if err != nil || got == nil {
		t.Fatalf("permitted read: %+v, %v", got, err)
	}
	if data, _ := got.Data["data"].(map[string]any); data["region"] != "eu-west-1" {
		t.Errorf("permitted read data = %v", got.Data)
	}
	_, err = ci.Logical().Write("secret/data/ci/config", map[string]any{"data": map[string]any{"region": "x"}})
	wantErrStatus(t, "write under the read-only policy", err, http.StatusForbidden)

	// A role whose secret ids may only be used from 10.0.0.0/8.
	writeOK(t, root, "auth/approle/role/offsite", map[string]any{"secret_id_bound_cidrs": []string{"10.0.0.0/8"}})
	offID, _ := readOK(t, root, "auth/approle/role/offsite/role-id").Data["role_id"].(string)
	offSecret, _ := writeOK(t, root, "auth/approle/role/offsite/secret-id", nil).Data["secret_id"].(string)
	_, err = s.client("").Logical().Write("auth/approle/login", map[string]any{"role_id": offID, "secret_id": offSecret})
	wantErrStatus(t, "login from outside secret_id_bound_cidrs", err, http.StatusForbidden)
}
