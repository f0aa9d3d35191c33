package ui

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/secretumvault/secretumvault/server/ui"
)

// TestUIEndToEnd drives the UI of a real vaultd in headless chromium:
// unseal a sealed node share by share, log in with the root token, create
// a KV secret, list it, read it masked and then revealed, write a second
// version and compare the two, delete and undelete it, save a Cedar
// policy (after the server refused an invalid one) and explain a denial
// and a permit for a limited token. Along the way: keyboard focus order,
// labels on every control, no horizontal overflow at 200% zoom, the CSP
// header, no CSP violation or script exception, and no request to
// anything but the vaultd on 127.0.0.1.
func TestUIEndToEnd(t *testing.T) {
	s := newServer(t)
	origin := s.url()
	init := s.api(http.MethodPut, "sys/init", "", map[string]any{"secret_shares": 3, "secret_threshold": 2})
	keys, _ := init["keys"].([]any)
	root, _ := init["root_token"].(string)
	if len(keys) != 3 || root == "" {
		t.Fatalf("init answer: %v", init)
	}
	b := newBrowser(t)

	b.do("open /", chromedp.Navigate(origin+"/"))
	if p := eval[string](b, "location.pathname"); p != "/ui/" {
		t.Errorf("/ led to %s, want /ui/", p)
	}
	b.waitText(`form[aria-label="Unseal"]`, "Submit key share")
	b.waitText(".card .badge", "sealed")
	checkFocusOrder(t, b)
	checkLabels(t, b, "status")
	b.shot("sealed")

	unseal := chromedp.CSS(`form[aria-label="Unseal"] input[name="key"]`)
	b.do("first share (typed, Enter)", chromedp.SendKeys(unseal, fmt.Sprint(keys[0])+kb.Enter))
	b.waitText("#unseal-progress", "1 of 2 key shares entered")
	if v := eval[float64](b, `document.querySelector("#unseal-progress progress").value`); v != 1 {
		t.Errorf("progress bar at %v, want 1", v)
	}
	b.shot("unseal-progress")
	b.do("second share", chromedp.SendKeys(unseal, fmt.Sprint(keys[1])),
		chromedp.Click(chromedp.CSS(`form[aria-label="Unseal"] button[type="submit"]`)))
	b.waitText(".card .badge", "unsealed")
	b.shot("unsealed")

	b.do("login screen", chromedp.Click(chromedp.CSS(`.nav a[href="#/login"]`)))
	b.do("token login", chromedp.SendKeys(chromedp.CSS(`form[aria-label="Token login"] input[name="token"]`), root+kb.Enter))
	b.waitText("#whoami", "Logged in as root")
	if c := eval[string](b, "document.cookie"); c != "" {
		t.Errorf("document.cookie = %q after login, want none", c)
	}
	if got := eval[string](b, "sessionStorage.getItem('secretumvault.token') || ''"); got != root {
		t.Errorf("sessionStorage token = %q, want the root token", got)
	}
	b.waitText("main", "node1")                                     // the raft peers, now that we have a token
	b.waitText(`section[aria-label="Raft peers"] table`, "healthy") // every node's health, from autopilot
	b.shot("logged-in-status")

	kvFlow(t, b, s, root)
	policyFlow(t, b, s, root)
	leaseFlow(t, b, s, root)
	auditFlow(t, b, s, root)
	rotationFlow(t, b, s, root)
	zoomCheck(t, b)
	userpassFlow(t, b, s, root)

	if bad := b.offOrigin(origin); len(bad) > 0 {
		t.Errorf("requests left %s: %v", origin, bad)
	}
	if n := b.requestCount(); n < 20 {
		t.Errorf("only %d requests recorded: the network log is not working", n)
	}
	if p := b.takeProblems(); len(p) > 0 {
		t.Errorf("the page reported problems:\n%s", strings.Join(p, "\n"))
	}
	checkCSPEnforced(t, b)
	csp := ""
	for k, v := range b.responseHeaders(origin + "/ui/") {
		if strings.EqualFold(k, "Content-Security-Policy") {
			csp = fmt.Sprint(v)
		}
	}
	if csp != ui.ContentSecurityPolicy {
		t.Errorf("the browser saw CSP %q on /ui/, want %q", csp, ui.ContentSecurityPolicy)
	}
}

// kvFlow: create, list, read masked and revealed, version, compare,
// delete and undelete a KV v2 secret.
func kvFlow(t *testing.T, b *browser, s *server, root string) {
	s.api(http.MethodPost, "sys/mounts/secret", root, map[string]any{"type": "kv-v2"})
	b.hash("#/kv/secret/")
	b.waitText("main", "Nothing here yet.")
	create := `form[aria-label="Create a secret"] `
	b.do("create secret",
		chromedp.SendKeys(chromedp.CSS(create+`input[name="path"]`), "app/db"),
		chromedp.SendKeys(chromedp.CSS(create+`input[name="k"]`), "password"),
		chromedp.SendKeys(chromedp.CSS(create+`input[name="v"]`), "s3cr3t-value"),
		chromedp.Click(chromedp.CSS(create+`button[type="submit"]`)))
	b.waitText("main table caption", "Version 1 (live)")
	checkLabels(t, b, "kv secret")
	value := "main table tbody td code"
	if got := b.text(value); got != "••••••••" {
		t.Errorf("value shown as %q before reveal, want the mask", got)
	}
	if eval[bool](b, `document.body.innerText.includes("s3cr3t-value")`) {
		t.Errorf("the secret value is on the page before it is revealed")
	}
	b.shot("kv-masked")
	b.do("reveal", chromedp.Click(chromedp.CSS("main button.reveal")))
	b.waitText(value, "s3cr3t-value")
	b.shot("kv-revealed")

	b.hash("#/kv/secret/")
	b.waitText("main table", "app/")
	b.do("open folder", chromedp.Click(chromedp.CSS(`main table a[href="#/kv/secret/app/"]`)))
	b.waitText("main table", "db")
	b.shot("kv-listed")

	b.do("open secret", chromedp.Click(chromedp.CSS(`main table a[href="#/kv/secret/app/db"]`)))
	b.waitText("main table caption", "Version 1 (live)")
	next := `form[aria-label="Write a new version"] `
	b.do("second version", chromedp.SetValue(chromedp.CSS(next+`input[name="v"]`), "rotated-value"),
		chromedp.Click(chromedp.CSS(next+`button[type="submit"]`)))
	b.waitText("main table caption", "Version 2 (live)")
	b.do("compare", chromedp.Click(chromedp.CSS(`form[aria-label="Compare versions"] button[type="submit"]`)))
	b.waitText(`section[aria-label="Compare versions"] table`, "changed")
	if got := b.text(`section[aria-label="Compare versions"] table caption`); got != "Version 1 and version 2 side by side" {
		t.Errorf("compare caption %q", got)
	}
	b.shot("kv-compare")

	b.do("delete version", chromedp.Click(chromedp.Search(`//button[text()="Delete version"]`)))
	b.waitText("main", "Version 2 is deleted")
	b.shot("kv-deleted")
	b.do("undelete version", chromedp.Click(chromedp.Search(`//button[text()="Undelete version"]`)))
	b.waitText("main table caption", "Version 2 (live)")
	got := s.api(http.MethodGet, "secret/data/app/db", root, nil)
	if data, _ := got["data"].(map[string]any)["data"].(map[string]any); data["password"] != "rotated-value" {
		t.Errorf("after undelete the API reads %v", got["data"])
	}
}

// policyFlow: an invalid Cedar policy is refused with the server's 400,
// a valid one is saved, and explain tells a limited token's denial and
// permit with the deciding policy.
func policyFlow(t *testing.T, b *browser, s *server, root string) {
	b.hash("#/policies/app-read")
	b.waitText("main", "New policy app-read")
	editor := `form[aria-label="Edit policy app-read"] `
	b.do("invalid policy", chromedp.SetValue(chromedp.CSS(editor+"textarea"), "permit("),
		chromedp.Click(chromedp.CSS(editor+`button[type="submit"]`)))
	b.waitText(`section[aria-label="New policy app-read"] .msg.error`, "400")
	b.shot("policy-refused")
	policy := `permit(principal is Token, action == Action::"read", resource in Secret::"secret/data/app") when { principal.policies.contains("app") };`
	b.do("valid policy", chromedp.SetValue(chromedp.CSS(editor+"textarea"), policy),
		chromedp.Click(chromedp.CSS(editor+`button[type="submit"]`)))
	b.waitText(`section[aria-label="New policy app-read"] .msg.ok`, "Saved policy app-read")
	if got := s.api(http.MethodGet, "sys/policies/cedar/app-read", root, nil); got["data"].(map[string]any)["policy"] != policy {
		t.Errorf("stored policy: %v", got["data"])
	}
	checkLabels(t, b, "policies")
	b.shot("policy-saved")

	created := s.api(http.MethodPost, "auth/token/create", root, map[string]any{"policies": []string{"app"}, "ttl": "1h"})
	limited, _ := created["auth"].(map[string]any)["client_token"].(string)
	explain := `form[aria-label="Explain a request"] `
	b.do("explain denial", chromedp.SetValue(chromedp.CSS(explain+`select[name="who"]`), "token"),
		chromedp.SendKeys(chromedp.CSS(explain+`input[name="value"]`), limited),
		chromedp.SetValue(chromedp.CSS(explain+`select[name="operation"]`), "read"),
		chromedp.SendKeys(chromedp.CSS(explain+`input[name="path"]`), "secret/data/other"),
		chromedp.Click(chromedp.CSS(explain+`button[type="submit"]`)))
	b.waitText(".explanation .decision", "Denied")
	if eval[bool](b, fmt.Sprintf(`document.body.innerText.includes(%q)`, limited)) {
		t.Errorf("the limited token is shown on the page")
	}
	b.shot("explain-denied")
	b.do("explain permit", chromedp.SetValue(chromedp.CSS(explain+`input[name="path"]`), "secret/data/app/db"),
		chromedp.Click(chromedp.CSS(explain+`button[type="submit"]`)))
	b.waitText(".explanation .decision", "Allowed")
	b.waitText(".explanation", "app-read")
	b.shot("explain-allowed")
}

// checkFocusOrder: Tab from the top reaches the skip link, the brand and
// then the screens' links in their visual order.
func checkFocusOrder(t *testing.T, b *browser) {
	want := []string{"Skip to content", "SecretumVault", "Status", "Log in", "Secrets", "Leases", "Policies", "Audit", "Rotation"}
	for i, w := range want {
		b.do("tab", chromedp.KeyEvent(kb.Tab))
		if got := eval[string](b, "document.activeElement ? document.activeElement.textContent.trim() : ''"); got != w {
			t.Errorf("Tab %d focuses %q, want %q", i+1, got, w)
			return
		}
	}
}

// checkLabels: every control on the screen has a label, every button a
// name.
func checkLabels(t *testing.T, b *browser, screen string) {
	bad := eval[[]string](b, `[...document.querySelectorAll("input, select, textarea, button")]
		.filter((el) => el.tagName === "BUTTON" ? !el.textContent.trim() && !el.getAttribute("aria-label") : !(el.labels && el.labels.length))
		.map((el) => el.outerHTML.slice(0, 80))`)
	if len(bad) > 0 {
		t.Errorf("%s: controls without a label: %v", screen, bad)
	}
}

// zoomCheck: at 200% zoom (a 640 CSS px wide viewport at scale 2) the
// screens reflow: no horizontal scrolling.
func zoomCheck(t *testing.T, b *browser) {
	b.do("zoom 200%", chromedp.EmulateViewport(640, 500, chromedp.EmulateScale(2)))
	for _, screen := range []struct{ hash, ready string }{
		{"#/status", "Node status"}, {"#/kv/secret/app/db", "Version 2"}, {"#/policies/app-read", "Policy app-read"}, {"#/login", "Userpass"},
		{"#/leases/auth/token/create/", "Renewal increment"}, {"#/audit", "no failures"}, {"#/rotation", "secret/data/app/db"},
	} {
		b.hash(screen.hash)
		b.waitText("main", screen.ready)
		if over := eval[bool](b, `document.documentElement.scrollWidth > window.innerWidth + 1`); over {
			t.Errorf("%s at 200%%: page is %v px wide in a %v px viewport", screen.hash,
				eval[float64](b, "document.documentElement.scrollWidth"), eval[float64](b, "window.innerWidth"))
		}
		b.shot("zoom200-" + strings.NewReplacer("#/", "", "/", "-").Replace(screen.hash))
	}
}

// leaseFlow: the limited token's lease is listed under its prefix and
// looked up; renewing it shows the server's refusal (token leases renew
// through auth/token/renew, as in Vault); revoking it (after the confirm
// dialog) removes it.
func leaseFlow(t *testing.T, b *browser, s *server, root string) {
	b.hash("#/leases/")
	b.waitText("main table", "auth/")
	b.do("open auth/", chromedp.Click(chromedp.CSS(`main table a[href="#/leases/auth/"]`)))
	b.waitText("main table", "token/")
	b.hash("#/leases/auth/token/create/")
	b.waitText("main table", "lease")
	b.do("look up", chromedp.Click(chromedp.Search(`//button[text()="Look up"]`)))
	b.waitText(`section[aria-label="Lease"]`, "Expires")
	b.shot("lease-lookup")
	b.do("renew", chromedp.SendKeys(chromedp.CSS(`main input[name="increment"]`), "2h"),
		chromedp.Click(chromedp.Search(`//button[text()="Renew"]`)))
	b.waitText("main .msg.error", "400: lease_id: tokens cannot be renewed through this endpoint")
	checkLabels(t, b, "leases")
	b.shot("lease-renew-refused")
	b.do("revoke", chromedp.Click(chromedp.Search(`//button[text()="Revoke"]`)))
	b.waitText("#flash", "Revoked auth/token/create/")
	b.waitText("main", "No leases under this prefix.")
	if d := b.dialogList(); len(d) != 1 || !strings.HasPrefix(d[0], "Revoke auth/token/create/") {
		t.Errorf("confirm dialogs: %q", d)
	}
	if code := s.status(http.MethodGet, "sys/leases/lookup/auth/token/create?list=true", root); code != http.StatusNotFound {
		t.Errorf("after revoke the lease list answers %d, want 404 (none left)", code)
	}
	b.shot("lease-revoked")
}

// auditFlow: a file device is listed with no failures, its checkpoint key
// shown, and a value hashed as the device writes it.
func auditFlow(t *testing.T, b *browser, s *server, root string) {
	s.api(http.MethodPut, "sys/audit/file", root, map[string]any{"type": "file", "options": map[string]any{"file_path": filepath.Join(t.TempDir(), "audit.log")}})
	b.hash("#/audit")
	b.waitText("main table", "file/")
	b.waitText("main table", "no failures")
	b.do("public key", chromedp.Click(chromedp.Search(`//button[text()="Public key of file/"]`)))
	b.waitText(`section[aria-label="Checkpoint key of file/"]`, "BEGIN PUBLIC KEY")
	b.do("hash", chromedp.SendKeys(chromedp.CSS(`form[aria-label="Hash a value"] input[name="input"]`), "s3cr3t-value"),
		chromedp.Click(chromedp.CSS(`form[aria-label="Hash a value"] button[type="submit"]`)))
	b.waitText(`section[aria-label="Find a value in the log"] dl`, "hmac-sha256:")
	// Live tail: a write made after the tail starts shows up, HMAC'd.
	b.do("tail", chromedp.Click(chromedp.Search(`//button[text()="Tail file/"]`)))
	b.waitText(`section[aria-label="Live tail of file/"]`, "Waiting for new entries")
	time.Sleep(1500 * time.Millisecond) // let the first poll start the tail
	s.api(http.MethodPost, "secret/data/tailed", root, map[string]any{"data": map[string]any{"pw": "tail-plaintext"}})
	b.waitText(`section[aria-label="Live tail of file/"] pre`, `"path":"secret/data/tailed"`)
	if got := b.text(`section[aria-label="Live tail of file/"] pre`); strings.Contains(got, "tail-plaintext") || !strings.Contains(got, "hmac-sha256:") {
		t.Errorf("the tail shows values unhashed or no HMAC: %.300s", got)
	}
	b.do("stop tail", chromedp.Click(chromedp.Search(`//button[text()="Stop tail"]`)))
	checkLabels(t, b, "audit")
	b.shot("audit")
}

// rotationFlow: a rotation policy over the KV secret shows its age, max
// age and next run, and runs from its button.
func rotationFlow(t *testing.T, b *browser, s *server, root string) {
	s.api(http.MethodPut, "sys/rotation/policies/app", root, map[string]any{"match": "secret/data/app/*", "schedule": "0 0 3 * * *", "max_age": "720h"})
	b.hash("#/rotation")
	b.waitText("main table", "secret/data/app/db")
	if got := b.text("main table tbody tr td:nth-child(5)"); got != "30d" {
		t.Errorf("max age shown as %q, want 30d", got)
	}
	if got := b.text("main table tbody tr td:nth-child(8)"); !strings.Contains(got, "T03:00:00Z") {
		t.Errorf("next run shown as %q, want the 03:00 schedule", got)
	}
	b.shot("rotation")
	b.do("run policy", chromedp.Click(chromedp.Search(`//button[text()="Run app now"]`)))
	b.waitText("#flash", "Ran rotation policy app.")
	b.shot("rotation-ran")
}

// userpassFlow: log out (the token leaves sessionStorage), a wrong
// password is refused, the right one logs alice in, and a read her
// policies do not allow shows the pipeline's 403.
func userpassFlow(t *testing.T, b *browser, s *server, root string) {
	s.api(http.MethodPost, "sys/auth/userpass", root, map[string]any{"type": "userpass"})
	s.api(http.MethodPost, "auth/userpass/users/alice", root, map[string]any{"password": "alice-pw-1", "token_policies": []string{"app"}})
	b.do("log out", chromedp.Click(chromedp.CSS("#logout")))
	b.waitText("#whoami", "Not logged in")
	if got := eval[string](b, "sessionStorage.getItem('secretumvault.token') || ''"); got != "" {
		t.Errorf("token still in sessionStorage after logout")
	}
	form := `form[aria-label="Userpass login"] `
	b.do("wrong password", chromedp.SetValue(chromedp.CSS(form+`input[name="username"]`), "alice"),
		chromedp.SetValue(chromedp.CSS(form+`input[name="password"]`), "wrong-pw"),
		chromedp.Click(chromedp.CSS(form+`button[type="submit"]`)))
	b.waitText(`section[aria-label="Userpass"] .msg.error`, "403: permission denied")
	b.shot("userpass-refused")
	b.do("right password", chromedp.SetValue(chromedp.CSS(form+`input[name="password"]`), "alice-pw-1"),
		chromedp.Click(chromedp.CSS(form+`button[type="submit"]`)))
	b.waitText("#whoami", "alice")
	b.hash("#/kv/secret/app/db")
	b.waitText("main .msg.error", "403")
	if eval[bool](b, `document.body.innerText.includes("rotated-value")`) {
		t.Errorf("a denied read shows the value")
	}
	b.shot("userpass-denied-read")
}

// checkCSPEnforced: the browser enforces the policy (an inline script
// and a style attribute added at run time do nothing) and reports the
// violation, which is what the problem check above relies on.
func checkCSPEnforced(t *testing.T, b *browser) {
	b.do("inline script and style", chromedp.Evaluate[chromedp.Void](`(() => {
		const s = document.createElement("script");
		s.textContent = "window.__inlineRan = true";
		document.body.append(s);
		document.getElementById("main").setAttribute("style", "color: rgb(255, 0, 0)");
	})()`))
	if eval[bool](b, "window.__inlineRan === true") {
		t.Errorf("an inline script ran despite the CSP")
	}
	if c := eval[string](b, `getComputedStyle(document.getElementById("main")).color`); c == "rgb(255, 0, 0)" {
		t.Errorf("an inline style applied despite the CSP")
	}
	deadline := time.Now().Add(stepTimeout)
	for len(b.problemList()) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // waiting for the browser's reports, not asserting on time
	}
	p := b.takeProblems()
	if len(p) < 2 || !strings.Contains(strings.Join(p, "\n"), "script-src") || !strings.Contains(strings.Join(p, "\n"), "style-src") {
		t.Errorf("CSP violations reported: %q, want the inline script's and the style attribute's", p)
	}
}
