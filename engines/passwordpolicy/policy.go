package passwordpolicy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds on a policy's length, as Vault's sys/policies/password enforces.
const (
	// MinLength is the shortest password a policy may ask for.
	MinLength = 4
	// MaxLength is the longest password a policy may ask for.
	MaxLength = 100
)

// Sentinel errors. Match them with errors.Is; the wrapping error says what
// was wrong and where.
var (
	// ErrInvalidPolicy is wrapped by every error Parse and New return: the
	// text is not valid HCL, or it is not a policy Vault would accept.
	ErrInvalidPolicy = errors.New("passwordpolicy: invalid policy")

	// ErrRandomSource is wrapped by Generate's error when the random
	// reader fails (its own error is wrapped too), stops making progress,
	// or yields data that rejection sampling keeps refusing.
	ErrRandomSource = errors.New("passwordpolicy: random source failed")
)

// Rule is one `rule "charset"` block: at least MinChars runes of every
// generated password come from Charset.
type Rule struct {
	// Charset holds the runes of the rule, each once, in the order they
	// first appear in the policy text.
	Charset string
	// MinChars is how many runes of the password, at least, come from
	// Charset. Zero is allowed: the charset then only widens the alphabet.
	MinChars int
}

// Policy is a parsed, validated password policy. It is immutable, so one
// Policy may be used by any number of goroutines at once. The zero Policy
// is not valid: obtain one from Parse, New or Default.
type Policy struct {
	text   string // the text as given to Parse, or the canonical form
	length int    // runes per password
	rules  []rule // in policy order, charsets deduplicated
	union  []rune // every rule's runes, deduplicated and sorted
	minSum int    // sum of min-chars over rules
}

// rule is the internal form of Rule.
type rule struct {
	charset []rune
	min     int
}

// Parse reads a policy in Vault's password policy HCL (or its JSON form)
// and validates it. The returned Policy keeps text verbatim for String.
// Every error wraps ErrInvalidPolicy.
func Parse(text string) (*Policy, error) {
	length, rules, err := parseText(text)
	if err != nil {
		return nil, err
	}
	p, err := build(length, rules)
	if err != nil {
		return nil, err
	}
	p.text = text
	return p, nil
}

// New builds a policy from values rather than text, with the same checks
// as Parse. Its String is the canonical HCL rendering.
func New(length int, rules ...Rule) (*Policy, error) {
	in := make([]parsedRule, len(rules))
	for i, r := range rules {
		if !utf8.ValidString(r.Charset) {
			return nil, invalid("rule %d: charset is not valid UTF-8", i+1)
		}
		in[i] = parsedRule{charset: []rune(r.Charset), min: r.MinChars}
	}
	p, err := build(length, in)
	if err != nil {
		return nil, err
	}
	p.text = p.Canonical()
	return p, nil
}

// Default returns Vault's default password policy (OpenBao's
// DefaultStringGenerator): 20 runes with at least one lowercase letter,
// one uppercase letter, one digit and one "-". Each call returns a new
// Policy.
func Default() *Policy {
	p, err := New(20,
		Rule{Charset: "abcdefghijklmnopqrstuvwxyz", MinChars: 1},
		Rule{Charset: "ABCDEFGHIJKLMNOPQRSTUVWXYZ", MinChars: 1},
		Rule{Charset: "0123456789", MinChars: 1},
		Rule{Charset: "-", MinChars: 1},
	)
	if err != nil {
		panic("passwordpolicy: default policy is invalid: " + err.Error())
	}
	return p
}

// Length is the number of runes in every generated password.
func (p *Policy) Length() int { return p.length }

// Rules returns a copy of the policy's rules, in policy order.
func (p *Policy) Rules() []Rule {
	out := make([]Rule, len(p.rules))
	for i, r := range p.rules {
		out[i] = Rule{Charset: string(r.charset), MinChars: r.min}
	}
	return out
}

// Charset is the alphabet passwords are drawn from: the union of every
// rule's charset, each rune once, in ascending order.
func (p *Policy) Charset() string { return string(p.union) }

// String returns the policy text exactly as given to Parse (what Vault
// returns as `policy` on a read), or the canonical rendering for a policy
// made by New or Default.
func (p *Policy) String() string { return p.text }

// Canonical renders the policy as HCL in a fixed layout: the length, then
// one block per rule with its deduplicated charset. Parsing the result
// gives back an equal policy.
func (p *Policy) Canonical() string {
	var b strings.Builder
	fmt.Fprintf(&b, "length = %d\n", p.length)
	for _, r := range p.rules {
		fmt.Fprintf(&b, "\nrule \"charset\" {\n  charset   = %s\n  min-chars = %d\n}\n",
			quoteHCL(r.charset), r.min)
	}
	return b.String()
}

// Generate returns a new password that satisfies every rule of the policy
// (see the package documentation for its distribution). Randomness comes
// from rand, or from crypto/rand.Reader when rand is nil; rand must be a
// cryptographically secure source for the password to be secret.
//
// ctx is checked before every read from rand; a Read that blocks is not
// interrupted. Errors wrap ctx.Err() on cancellation, ErrRandomSource (and
// the reader's error) when rand fails, and ErrInvalidPolicy for a Policy
// that did not come from Parse, New or Default.
func (p *Policy) Generate(ctx context.Context, rand io.Reader) (string, error) {
	if p == nil || p.length == 0 || len(p.union) == 0 {
		return "", invalid("the policy is empty: build it with Parse, New or Default")
	}
	return generate(ctx, p, rand)
}

// parsedRule is a rule as read, before deduplication and checks.
type parsedRule struct {
	charset []rune
	min     int
	where   string // " (line L, column C)" or ""
}

// build checks the values Parse or New read and assembles a Policy.
func build(length int, in []parsedRule) (*Policy, error) {
	if length < MinLength || length > MaxLength {
		return nil, invalid("length %d is out of range: passwords must be between %d and %d characters",
			length, MinLength, MaxLength)
	}
	if len(in) == 0 {
		return nil, invalid(`at least one rule "charset" is required`)
	}
	p := &Policy{length: length, rules: make([]rule, 0, len(in))}
	var all []rune
	for i, r := range in {
		checked, err := checkRule(r)
		if err != nil {
			return nil, invalid("rule %d%s: %v", i+1, r.where, err)
		}
		if checked.min > length { // also keeps minSum from overflowing
			return nil, invalid("rule %d%s: min-chars is %d but length is %d", i+1, r.where, checked.min, length)
		}
		p.rules = append(p.rules, checked)
		p.minSum += checked.min
		all = append(all, checked.charset...)
	}
	if p.minSum > length {
		return nil, invalid("the rules require at least %d characters but length is %d", p.minSum, length)
	}
	slices.Sort(all)
	p.union = slices.Compact(all)
	return p, nil
}

// checkRule validates one rule and deduplicates its charset, keeping the
// first occurrence of each rune.
func checkRule(r parsedRule) (rule, error) {
	if r.min < 0 {
		return rule{}, fmt.Errorf("min-chars is %d: it must not be negative", r.min)
	}
	if len(r.charset) == 0 {
		return rule{}, errors.New("charset is empty")
	}
	seen := make(map[rune]bool, len(r.charset))
	out := make([]rune, 0, len(r.charset))
	for _, c := range r.charset {
		if !unicode.IsPrint(c) {
			return rule{}, fmt.Errorf("charset contains the non-printable character %U", c)
		}
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return rule{charset: out, min: r.min}, nil
}

// invalid formats an error that wraps ErrInvalidPolicy.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidPolicy, fmt.Sprintf(format, args...))
}

// quoteHCL renders runes as an HCL v1 string literal. Only `\` and `"`
// need escaping, and `$` before `{`, which would start an interpolation
// that hcl copies without unescaping; all runes are printable.
func quoteHCL(rs []rune) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, c := range rs {
		switch {
		case c == '\\' || c == '"':
			b.WriteByte('\\')
			b.WriteRune(c)
		case c == '$' && i+1 < len(rs) && rs[i+1] == '{':
			b.WriteString(`\u0024`)
		default:
			b.WriteRune(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
