package rotation

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// What a policy does when a secret is overdue (Enforce) or a rotation or
// verification fails (OnFailure).
const (
	// EnforceRotate rotates an overdue secret at once.
	EnforceRotate = "rotate"
	// EnforceNotify only notifies (and audits).
	EnforceNotify = "notify"
	// EnforceQuarantine refuses the secret's guarded paths with a 403
	// naming the policy until it is rotated.
	EnforceQuarantine = "quarantine"
	// OnFailureRetry retries a failed rotation with backoff (and, on
	// drift, rotates).
	OnFailureRetry = "retry"
)

// Policy is one rotation policy: which secrets (Match, MountType, Tags),
// when they rotate (Schedule), how old they may get (MaxAge, WarnAt) and
// what happens otherwise (Enforce, OnFailure, Notify).
type Policy struct {
	// Name names the policy (letters, digits, "-", "_", ".").
	Name string `json:"name"`
	// Match is a glob over full API paths, as policies see them
	// ("secret/data/app/*", "database/static-roles/*"): "*" matches any
	// run of characters, "/" included.
	Match string `json:"match"`
	// MountType, when set, limits the policy to mounts of that type.
	MountType string `json:"mount_type,omitempty"`
	// Tags, when set, must all be in a secret's custom metadata.
	Tags map[string]string `json:"tags,omitempty"`
	// Schedule is a cron expression (five fields, or six with seconds
	// first; "CRON_TZ=Zone" prefix and descriptors such as "@daily"
	// accepted); empty means no scheduled rotation (age checks only).
	Schedule string `json:"schedule,omitempty"`
	// MaxAge is the age past which a secret is overdue (0: never).
	MaxAge time.Duration `json:"max_age,omitempty"`
	// WarnAt is the age past which a secret is reported (0: never).
	WarnAt time.Duration `json:"warn_at,omitempty"`
	// Enforce is what happens to an overdue secret.
	Enforce string `json:"enforce"`
	// OnFailure is what happens when a rotation fails or drift is found:
	// retry, notify or quarantine.
	OnFailure string `json:"on_failure"`
	// VerifyInterval is how often verifiable secrets are checked for
	// drift (0: never).
	VerifyInterval time.Duration `json:"verify_interval,omitempty"`
	// Notify are the webhooks told of warnings, overdue secrets,
	// failures, drift and quarantines (never the secret).
	Notify []Webhook `json:"notify,omitempty"`
	// Source is "api" or "config" (declared in the server
	// configuration, which alone may change it).
	Source string `json:"source"`
}

// Webhook is one notification target: events are POSTed as JSON with an
// X-Secretum-Signature header, "sha256=" + hex HMAC-SHA256 of the body
// keyed by Secret.
type Webhook struct {
	URL    string `json:"url"`
	Secret string `json:"secret,omitempty"`
}

var (
	namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	// cronParser accepts an optional seconds field and descriptors.
	cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
)

// parseSchedule parses a cron expression.
func parseSchedule(s string) (cron.Schedule, error) {
	return cronParser.Parse(s)
}

// Validate checks p; errors are logical.InvalidRequest naming the field.
func (p *Policy) Validate() error {
	switch {
	case !namePattern.MatchString(p.Name):
		return logical.InvalidRequest("name", "invalid policy name %q: letters, digits, '.', '-' and '_'", p.Name)
	case p.Match == "" || strings.HasPrefix(p.Match, "/"):
		return logical.InvalidRequest("match", "a glob over full API paths is required, e.g. secret/data/app/*")
	case p.Schedule == "" && p.MaxAge == 0:
		return logical.InvalidRequest("schedule", "a policy needs a schedule, a max_age, or both")
	case p.MaxAge < 0 || p.WarnAt < 0 || p.VerifyInterval < 0:
		return logical.InvalidRequest("max_age", "durations must not be negative")
	case p.WarnAt > 0 && p.MaxAge > 0 && p.WarnAt >= p.MaxAge:
		return logical.InvalidRequest("warn_at", "warn_at (%s) must be less than max_age (%s)", p.WarnAt, p.MaxAge)
	case p.VerifyInterval > 0 && p.VerifyInterval < time.Second:
		return logical.InvalidRequest("verify_interval", "at least 1s")
	}
	if p.Schedule != "" {
		if _, err := parseSchedule(p.Schedule); err != nil {
			return logical.InvalidRequest("schedule", "invalid cron expression %q: %v", p.Schedule, err)
		}
	}
	if !slices.Contains([]string{EnforceRotate, EnforceNotify, EnforceQuarantine}, p.Enforce) {
		return logical.InvalidRequest("enforce", "must be rotate, notify or quarantine, not %q", p.Enforce)
	}
	if !slices.Contains([]string{OnFailureRetry, EnforceNotify, EnforceQuarantine}, p.OnFailure) {
		return logical.InvalidRequest("on_failure", "must be retry, notify or quarantine, not %q", p.OnFailure)
	}
	for i, w := range p.Notify {
		u, err := url.Parse(w.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return logical.InvalidRequest("notify", "target %d: url %q must be an http(s) URL", i, w.URL)
		}
	}
	return nil
}

// withDefaults fills Enforce and OnFailure.
func (p *Policy) withDefaults() {
	if p.Enforce == "" {
		p.Enforce = EnforceRotate
	}
	if p.OnFailure == "" {
		p.OnFailure = OnFailureRetry
	}
	if p.Source == "" {
		p.Source = "api"
	}
}

// Matches reports whether the secret at full path (mount included) on a
// mount of mountType with tags falls under p.
func (p *Policy) Matches(full, mountType string, tags map[string]string) bool {
	if p.MountType != "" && p.MountType != mountType {
		return false
	}
	for k, v := range p.Tags {
		if tags[k] != v {
			return false
		}
	}
	return globMatch(p.Match, full)
}

// globMatch matches s against pattern, where "*" matches any run of
// characters (iteratively: no exponential backtracking).
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, last)
}

// String names the policy in messages.
func (p *Policy) String() string { return fmt.Sprintf("rotation policy %q", p.Name) }
