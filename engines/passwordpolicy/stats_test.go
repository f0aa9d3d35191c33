package passwordpolicy_test

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/engines/passwordpolicy"
)

// The statistical tests generate passwords from a seeded ChaCha8 stream,
// so they are deterministic: they never flake, and they fail only if the
// generator's output distribution changes.
//
// The statistic is Pearson's X² = Σ (O−E)²/E over cells (a rune, or a
// (position, rune) pair), where E is the exact expected count under the
// documented construction. The counts are sums of independent
// categorical draws, so X² tends to Σ λ_i Z_i² with 0 ≤ λ_i ≤ 1 (the
// normalised covariance is I minus positive semidefinite terms). By
// Laurent and Massart (2000, Lemma 1), P(X² ≥ k + 2√(k·t) + 2t) ≤ e^(−t)
// for k cells. With t = 30 a correct generator exceeds the bound with
// probability below 1e-13, whatever the seed; a modulo-biased or
// unshuffled generator exceeds it by far (TestChiSquareDetectsBias).
const (
	passwords = 10000
	tailT     = 30.0
)

// chiBound is the Laurent–Massart bound for k cells.
func chiBound(k int) float64 {
	return float64(k) + 2*math.Sqrt(float64(k)*tailT) + 2*tailT
}

// expectedPerPassword is how often each rune appears in one password on
// average: min-chars draws from each rule's charset, the rest from the
// union; the shuffle does not change counts.
func expectedPerPassword(length int, rules []passwordpolicy.Rule, union string) map[rune]float64 {
	e := map[rune]float64{}
	fill := length
	for _, r := range rules {
		set := []rune(r.Charset)
		for _, c := range set {
			e[c] += float64(r.MinChars) / float64(len(set))
		}
		fill -= r.MinChars
	}
	u := []rune(union)
	for _, c := range u {
		e[c] += float64(fill) / float64(len(u))
	}
	return e
}

// tally counts runes overall and per position.
type tally struct {
	overall map[rune]int
	at      []map[rune]int
}

func newTally(length int) *tally {
	t := &tally{overall: map[rune]int{}, at: make([]map[rune]int, length)}
	for i := range t.at {
		t.at[i] = map[rune]int{}
	}
	return t
}

func (t *tally) add(pw []rune) {
	for i, c := range pw {
		t.overall[c]++
		t.at[i][c]++
	}
}

// chiSquares returns X² over runes and over (position, rune) cells, with
// the number of cells of each.
func (t *tally) chiSquares(e map[rune]float64, n int) (runes float64, k int, positions float64, kp int) {
	length := float64(len(t.at))
	for c, per := range e {
		runes += sq(float64(t.overall[c])-per*float64(n)) / (per * float64(n))
		for _, at := range t.at {
			want := per * float64(n) / length
			positions += sq(float64(at[c])-want) / want
		}
	}
	return runes, len(e), positions, len(e) * len(t.at)
}

func sq(x float64) float64 { return x * x }

func statPolicies(t *testing.T) map[string]*passwordpolicy.Policy {
	t.Helper()
	var cjk strings.Builder
	for c := rune(0x4e00); c < 0x4e00+300; c++ {
		cjk.WriteRune(c)
	}
	overlapping, err := passwordpolicy.Parse(`length = 12
rule "charset" {
  charset   = "abcdef"
  min-chars = 3
}
rule "charset" {
  charset   = "defghi"
  min-chars = 2
}
rule "charset" {
  charset   = "äöü€"
  min-chars = 1
}
rule "charset" {
  charset = "0123456789"
}`)
	if err != nil {
		t.Fatal(err)
	}
	wide, err := passwordpolicy.New(8,
		passwordpolicy.Rule{Charset: cjk.String(), MinChars: 2},
		passwordpolicy.Rule{Charset: "xyz", MinChars: 1})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]*passwordpolicy.Policy{
		"default":     passwordpolicy.Default(),
		"overlapping": overlapping,
		"wide":        wide, // 303 runes: indices beyond one byte
	}
}

func TestGenerateDistribution(t *testing.T) {
	t.Parallel()
	for name, p := range statPolicies(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := seeded(42)
			counts := newTally(p.Length())
			for range passwords {
				pw, err := p.Generate(context.Background(), r)
				if err != nil {
					t.Fatalf("Generate: %v", err)
				}
				if why := satisfies(p, pw); why != "" {
					t.Fatalf("a password breaks the policy: %s", why)
				}
				counts.add([]rune(pw))
			}
			for _, c := range p.Charset() {
				if counts.overall[c] == 0 {
					t.Errorf("rune %U never appeared in %d passwords", c, passwords)
				}
			}
			e := expectedPerPassword(p.Length(), p.Rules(), p.Charset())
			x2, k, x2pos, kpos := counts.chiSquares(e, passwords)
			t.Logf("runes: X² = %.1f over %d cells (bound %.1f); positions: X² = %.1f over %d cells (bound %.1f)",
				x2, k, chiBound(k), x2pos, kpos, chiBound(kpos))
			if x2 > chiBound(k) {
				t.Errorf("rune frequencies: X² = %.1f exceeds %.1f", x2, chiBound(k))
			}
			if x2pos > chiBound(kpos) {
				t.Errorf("per-position frequencies: X² = %.1f exceeds %.1f", x2pos, chiBound(kpos))
			}
		})
	}
}

// TestChiSquareDetectsBias shows the bounds above can fail: the same
// construction with modulo-biased byte indices, or without the shuffle,
// exceeds them.
func TestChiSquareDetectsBias(t *testing.T) {
	t.Parallel()
	p := passwordpolicy.Default()
	var seed [32]byte
	src := rand.NewChaCha8(seed)
	uniform := func(n int) int { return int(src.Uint64() % uint64(n)) } // bias < 2^-57: negligible
	biased := func(n int) int {
		var b [1]byte
		_, _ = src.Read(b[:])
		return int(b[0]) % n
	}
	tests := []struct {
		name      string
		index     func(int) int
		shuffle   bool
		runes     bool // the rune statistic should fail
		positions bool // the position statistic should fail
	}{
		{"modulo bias", biased, true, true, false},
		{"no shuffle", uniform, false, false, true},
	}
	for _, tt := range tests {
		counts := newTally(p.Length())
		for range passwords {
			counts.add(model(p, tt.index, tt.shuffle))
		}
		e := expectedPerPassword(p.Length(), p.Rules(), p.Charset())
		x2, k, x2pos, kpos := counts.chiSquares(e, passwords)
		t.Logf("%s: runes X² = %.1f (bound %.1f), positions X² = %.1f (bound %.1f)",
			tt.name, x2, chiBound(k), x2pos, chiBound(kpos))
		if tt.runes && x2 <= chiBound(k) {
			t.Errorf("%s: rune X² = %.1f within the bound %.1f", tt.name, x2, chiBound(k))
		}
		if tt.positions && x2pos <= chiBound(kpos) {
			t.Errorf("%s: position X² = %.1f within the bound %.1f", tt.name, x2pos, chiBound(kpos))
		}
	}
}

// model is the documented construction with a pluggable index source.
func model(p *passwordpolicy.Policy, index func(int) int, shuffle bool) []rune {
	var out []rune
	for _, r := range p.Rules() {
		set := []rune(r.Charset)
		for range r.MinChars {
			out = append(out, set[index(len(set))])
		}
	}
	union := []rune(p.Charset())
	for len(out) < p.Length() {
		out = append(out, union[index(len(union))])
	}
	if shuffle {
		for i := len(out) - 1; i > 0; i-- {
			j := index(i + 1)
			out[i], out[j] = out[j], out[i]
		}
	}
	return out
}
