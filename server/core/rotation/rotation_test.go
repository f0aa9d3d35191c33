package rotation_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/rotation"
	"github.com/secretumvault/secretumvault/storage"
)

func TestPolicyValidate(t *testing.T) {
	ok := rotation.Policy{Name: "db", Match: "secret/data/*", Schedule: "0 0 * * 0", MaxAge: 30 * 24 * time.Hour, WarnAt: 25 * 24 * time.Hour, Enforce: "rotate", OnFailure: "retry"}
	for _, tc := range []struct {
		name  string
		mod   func(*rotation.Policy)
		field string
	}{
		{"valid", func(*rotation.Policy) {}, ""},
		{"seconds field and time zone", func(p *rotation.Policy) { p.Schedule = "CRON_TZ=Europe/Berlin */5 * * * * *" }, ""},
		{"descriptor", func(p *rotation.Policy) { p.Schedule = "@every 10s" }, ""},
		{"bad cron", func(p *rotation.Policy) { p.Schedule = "every sunday" }, "schedule"},
		{"bad cron field", func(p *rotation.Policy) { p.Schedule = "61 * * * *" }, "schedule"},
		{"no schedule nor max_age", func(p *rotation.Policy) { p.Schedule, p.MaxAge, p.WarnAt = "", 0, 0 }, "schedule"},
		{"warn after max", func(p *rotation.Policy) { p.WarnAt = 31 * 24 * time.Hour }, "warn_at"},
		{"bad enforce", func(p *rotation.Policy) { p.Enforce = "delete" }, "enforce"},
		{"bad on_failure", func(p *rotation.Policy) { p.OnFailure = "ignore" }, "on_failure"},
		{"bad name", func(p *rotation.Policy) { p.Name = "a/b" }, "name"},
		{"no match", func(p *rotation.Policy) { p.Match = "" }, "match"},
		{"bad webhook", func(p *rotation.Policy) { p.Notify = []rotation.Webhook{{URL: "ftp://x"}} }, "notify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := ok
			tc.mod(&p)
			err := p.Validate()
			var ir *logical.InvalidRequestError
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("Validate = %v", err)
			case tc.field != "" && (!errors.As(err, &ir) || ir.Field != tc.field):
				t.Fatalf("Validate = %v, want a 400 on %s", err, tc.field)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	p := rotation.Policy{Match: "secret/data/app/*/db", MountType: "kv", Tags: map[string]string{"env": "prod"}}
	prod := map[string]string{"env": "prod", "team": "a"}
	for _, tc := range []struct {
		path, typ string
		tags      map[string]string
		want      bool
	}{
		{"secret/data/app/x/db", "kv", prod, true},
		{"secret/data/app/x/y/db", "kv", prod, true},
		{"secret/data/app/x/db", "kv", map[string]string{"env": "dev"}, false},
		{"secret/data/app/x/db", "database", prod, false},
		{"secret/data/app/db", "kv", prod, false},
		{"secret/data/other/x/db", "kv", prod, false},
	} {
		if got := p.Matches(tc.path, tc.typ, tc.tags); got != tc.want {
			t.Errorf("Matches(%s, %s, %v) = %v", tc.path, tc.typ, tc.tags, got)
		}
	}
}

// A scheduled policy rotates its secrets slot after slot; each run is
// audited and in the history.
func TestScheduledRotation(t *testing.T) {
	h := newHarness(t)
	h.fake.add("data/app/db", time.Now())
	h.fake.add("data/other", time.Now())
	h.start()
	h.put(&rotation.Policy{Name: "every-second", Match: "secret/data/app/*", Schedule: "* * * * * *"})
	eventually(t, "two scheduled rotations", func() bool { return h.fake.rotations("data/app/db") >= 2 })
	if n := h.fake.rotations("data/other"); n != 0 {
		t.Fatalf("a secret outside the match was rotated %d times", n)
	}
	if !h.audited("rotate", "secret/data/app/db") {
		t.Fatal("rotation not audited")
	}
	runs, err := h.s.History(context.Background(), "every-second")
	if err != nil || len(runs) < 2 || runs[0].Result != rotation.ResultSuccess || runs[0].Reason != rotation.ReasonScheduled || runs[0].Slot.IsZero() {
		t.Fatalf("history = %+v, %v", runs, err)
	}
}

// A slot the previous active node committed but did not finish is
// resumed by the next one, rotating only what was not rotated since the
// slot started: no double, no miss.
func TestResumeUnfinishedSlot(t *testing.T) {
	h := newHarness(t)
	started := time.Now().Add(-time.Minute)
	h.fake.add("data/a", started.Add(10*time.Second)) // rotated by the dead node after the slot started
	h.fake.add("data/b", started.Add(-time.Hour))     // not yet
	h.start()
	h.put(&rotation.Policy{Name: "weekly", Match: "secret/data/*", Schedule: "0 0 * * 0"})
	h.s.Stop()
	putSlot(t, h.st, "weekly", map[string]any{"slot": started, "started": started, "done": false})
	h.start()
	eventually(t, "the unfinished slot resumed", func() bool { return h.fake.rotations("data/b") == 1 })
	time.Sleep(100 * time.Millisecond) // a few check passes: nothing more may happen
	if a, b := h.fake.rotations("data/a"), h.fake.rotations("data/b"); a != 0 || b != 1 {
		t.Fatalf("rotations a=%d b=%d, want 0 and 1", a, b)
	}
}

// Slots missed while no node was active run once, not once per slot.
func TestMissedSlotsRunOnce(t *testing.T) {
	h := newHarness(t)
	h.fake.add("data/a", time.Now().Add(-time.Hour))
	h.start()
	h.put(&rotation.Policy{Name: "minutely", Match: "secret/data/*", Schedule: "0 * * * * *"})
	h.s.Stop()
	last := time.Now().Add(-30 * time.Minute).Truncate(time.Minute)
	putSlot(t, h.st, "minutely", map[string]any{"slot": last, "started": last, "done": true})
	h.start()
	eventually(t, "the missed slot ran", func() bool { return h.fake.rotations("data/a") >= 1 })
	time.Sleep(100 * time.Millisecond)
	if n := h.fake.rotations("data/a"); n != 1 {
		t.Fatalf("30 missed slots rotated %d times, want once", n)
	}
}

func putSlot(t *testing.T, st storage.Backend, name string, v map[string]any) {
	t.Helper()
	b, _ := json.Marshal(v)
	if err := st.Put(context.Background(), &storage.Entry{Key: "slots/" + name, Value: b}); err != nil {
		t.Fatal(err)
	}
}

// An overdue secret under enforce=quarantine answers 403 naming the
// policy until it is rotated; a write to it (a rotation by hand) passes.
func TestQuarantine(t *testing.T) {
	h := newHarness(t)
	h.fake.add("data/app", time.Now().Add(-time.Hour))
	h.start()
	h.put(&rotation.Policy{Name: "strict", Match: "secret/data/*", MaxAge: time.Minute, Enforce: "quarantine"})
	eventually(t, "quarantine", func() bool { return h.s.Quarantined("secret/data/app", logical.ReadOperation) != nil })
	err := h.s.Quarantined("secret/data/app", logical.ReadOperation)
	var coded *logical.CodedError
	if !errors.As(err, &coded) || coded.Status != http.StatusForbidden || !strings.Contains(coded.Message, `"strict"`) {
		t.Fatalf("quarantined read = %v, want a 403 naming the policy", err)
	}
	if err := h.s.Quarantined("secret/data/app", logical.UpdateOperation); err != nil {
		t.Fatalf("a write to the quarantined secret is refused: %v", err)
	}
	if err := h.s.Quarantined("secret/data/other", logical.ReadOperation); err != nil {
		t.Fatalf("another path refused: %v", err)
	}
	// A new active node keeps the quarantine.
	h.s.Stop()
	h.start()
	if h.s.Quarantined("secret/data/app", logical.ReadOperation) == nil {
		t.Fatal("the quarantine did not survive a failover")
	}
	if _, err := h.s.RotateNow(context.Background(), "secret/data/app"); err != nil {
		t.Fatal(err)
	}
	if err := h.s.Quarantined("secret/data/app", logical.ReadOperation); err != nil {
		t.Fatalf("still quarantined after a rotation: %v", err)
	}
	if !h.audited(rotation.ResultQuarantine, "secret/data/app") || !h.audited(rotation.ResultLift, "secret/data/app") {
		t.Fatal("quarantine or lift not audited")
	}
}

// enforce=rotate rotates an overdue secret at once; warn_at reports it.
func TestOverdueRotatesAndWarns(t *testing.T) {
	h := newHarness(t)
	h.fake.add("data/old", time.Now().Add(-2*time.Hour))
	h.fake.add("data/aging", time.Now().Add(-50*time.Minute))
	hk := newHook(t, "hook-key", http.StatusOK)
	h.start()
	h.put(&rotation.Policy{Name: "hourly", Match: "secret/data/*", MaxAge: time.Hour, WarnAt: 45 * time.Minute,
		Notify: []rotation.Webhook{{URL: hk.srv.URL, Secret: "hook-key"}}})
	eventually(t, "overdue secret rotated", func() bool { return h.fake.rotations("data/old") == 1 })
	eventually(t, "warning sent", func() bool { return hk.got("warn", "secret/data/aging") })
	if h.fake.rotations("data/aging") != 0 {
		t.Fatal("a secret inside warn_at was rotated")
	}
	st, err := h.s.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, s := range st {
		states[s.Path] = s.State
	}
	if states["secret/data/aging"] != rotation.StateWarn || states["secret/data/old"] != rotation.StateOK {
		t.Fatalf("status = %v", states)
	}
}

// Drift on a verifiable secret rotates it (on_failure=retry) or
// notifies (on_failure=notify) with a signed body holding no secret.
func TestDrift(t *testing.T) {
	h := newHarness(t)
	h.fake.add("data/fixme", time.Now())
	h.fake.add("data/tellme", time.Now())
	hk := newHook(t, "k", http.StatusOK)
	h.start()
	h.put(&rotation.Policy{Name: "fix", Match: "secret/data/fixme", MaxAge: time.Hour, VerifyInterval: time.Second})
	h.put(&rotation.Policy{Name: "tell", Match: "secret/data/tellme", MaxAge: time.Hour, VerifyInterval: time.Second, OnFailure: "notify",
		Notify: []rotation.Webhook{{URL: hk.srv.URL, Secret: "k"}}})
	h.fake.set("data/fixme", func(s *fakeSecret) { s.drift = true })
	h.fake.set("data/tellme", func(s *fakeSecret) { s.drift = true })
	eventually(t, "drifted secret rotated", func() bool { return h.fake.rotations("data/fixme") == 1 })
	eventually(t, "drift notified", func() bool { return hk.got("drift", "secret/data/tellme") })
	if h.fake.rotations("data/tellme") != 0 {
		t.Fatal("on_failure=notify rotated the drifted secret")
	}
	hk.mu.Lock()
	defer hk.mu.Unlock()
	for _, b := range hk.bodies {
		if strings.Contains(b, secretValue) {
			t.Fatalf("a webhook body holds the secret: %s", b)
		}
	}
	if hk.bad != 0 {
		t.Fatalf("%d webhook bodies did not verify", hk.bad)
	}
}

// A failing rotation is retried with backoff and notified; a failing
// webhook never blocks the rotation.
func TestFailureRetriedAndWebhookNeverBlocks(t *testing.T) {
	h := newHarness(t)
	h.fake.add("data/flaky", time.Now().Add(-2*time.Hour)).fail = true
	slow := newHook(t, "x", http.StatusInternalServerError)
	h.start()
	h.put(&rotation.Policy{Name: "p", Match: "secret/data/*", MaxAge: time.Hour,
		Notify: []rotation.Webhook{{URL: slow.srv.URL, Secret: "x"}, {URL: "http://127.0.0.1:1/refused", Secret: "x"}}})
	eventually(t, "failure notified", func() bool { return slow.got("failure", "secret/data/flaky") })
	h.fake.set("data/flaky", func(s *fakeSecret) { s.fail = false })
	eventually(t, "retried until it worked", func() bool { return h.fake.rotations("data/flaky") == 1 })
	runs, _ := h.s.History(context.Background(), "p")
	failures := 0
	for _, r := range runs {
		if r.Result == rotation.ResultFailure {
			failures++
			if strings.Contains(r.Error, secretValue) {
				t.Fatal("history holds the secret")
			}
		}
	}
	if failures == 0 {
		t.Fatalf("history has no failure: %+v", runs)
	}
}

// Declared policies replace API ones and cannot be changed by the API.
func TestDeclaredPolicies(t *testing.T) {
	h := newHarness(t)
	h.start(&rotation.Policy{Name: "from-config", Match: "secret/data/*", MaxAge: time.Hour})
	err := h.s.PutPolicy(context.Background(), &rotation.Policy{Name: "from-config", Match: "secret/*", MaxAge: time.Minute})
	if !errors.Is(err, rotation.ErrDeclared) || !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("API write of a declared policy = %v", err)
	}
	if err := h.s.DeletePolicy(context.Background(), "from-config"); !errors.Is(err, rotation.ErrDeclared) {
		t.Fatalf("API delete of a declared policy = %v", err)
	}
	p, err := h.s.GetPolicy(context.Background(), "from-config")
	if err != nil || p.Source != "config" || p.Match != "secret/data/*" {
		t.Fatalf("declared policy = %+v, %v", p, err)
	}
}

// A new policy's first slot falling due while no node is active runs
// once on the next active node (its slots count from its creation).
func TestFirstSlotMissedDuringFailover(t *testing.T) {
	h := newHarness(t)
	var mu sync.Mutex
	clock := time.Date(2030, 1, 1, 10, 0, 30, 0, time.UTC)
	h.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	h.fake.add("data/a", time.Now())
	h.start()
	h.put(&rotation.Policy{Name: "minutely", Match: "secret/data/*", Schedule: "0 * * * * *"})
	h.s.Stop() // the active node dies before 10:01:00
	mu.Lock()
	clock = clock.Add(5 * time.Minute)
	mu.Unlock()
	h.start()
	eventually(t, "the missed first slot ran", func() bool { return h.fake.rotations("data/a") == 1 })
	time.Sleep(100 * time.Millisecond)
	if n := h.fake.rotations("data/a"); n != 1 {
		t.Fatalf("rotated %d times, want once", n)
	}
}
