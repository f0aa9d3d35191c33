package hcl

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/secretumvault/secretumvault/authz"
)

// kind is how Vault stores a policy path: in its exact tree, its prefix
// tree, or its map of segment-wildcard paths (OpenBao
// internal/vault/policy/acl.go NewACL).
type kind uint8

const (
	kindExact   kind = iota // no glob: the request path must be equal
	kindPrefix              // a trailing "*" and no "+" segment
	kindSegment             // a "+" segment, with or without a trailing "*"
)

// pattern is one policy path as Vault's ACL matches it.
type pattern struct {
	kind kind
	// text is the path as written, one leading "/" removed: Vault's key,
	// and ours, for merging the rules of several policies.
	text string
	// wcPath is text without its trailing "*".
	wcPath string
	// parts is wcPath split at "/"; wild[i] says parts[i] is a "+"
	// segment (nil for a pattern without one).
	parts []string
	wild  []bool
	// prefix: the last part matches as a string prefix and the request
	// path may have more segments.
	prefix bool
	// firstWC and wildcards are Vault's priority keys: the position of
	// the first "+" or "*" and the number of "+" segments.
	firstWC   int
	wildcards int
}

// newPattern classifies a policy path exactly as OpenBao's parsePaths and
// NewACL do, and refuses what we cannot compile: "+*", a "*" anywhere but
// at the end, identity templates, a "+" glob with a trailing "*" whose
// "+" sits at or beyond authz.MaxSegments-1.
func newPattern(path string) (*pattern, error) {
	text := strings.TrimPrefix(path, "/")
	switch {
	case !utf8.ValidString(text):
		return nil, fmt.Errorf("path is not valid UTF-8")
	case strings.Contains(text, "+*"):
		return nil, fmt.Errorf("invalid use of wildcards ('+*' is forbidden)")
	case strings.Contains(text, "{{"):
		return nil, fmt.Errorf("templated policy paths are not supported")
	}
	p := &pattern{text: text, wcPath: text}
	if strings.HasSuffix(text, "*") {
		p.wcPath, p.prefix = text[:len(text)-1], true
	}
	if strings.Contains(p.wcPath, "*") {
		return nil, fmt.Errorf("'*' is only allowed at the end of a path")
	}
	p.parts = strings.Split(p.wcPath, "/")
	switch {
	case text == "+" || strings.Contains(text, "/+") || strings.HasPrefix(text, "+/"):
		p.kind = kindSegment
		p.firstWC = strings.Index(text, "+")
		p.wild = make([]bool, len(p.parts))
		for i, s := range p.parts {
			p.wild[i] = s == "+"
			if p.wild[i] {
				p.wildcards++
			}
		}
		return p, p.checkDepth()
	case p.prefix:
		p.kind = kindPrefix
		p.firstWC = len(p.wcPath)
	default:
		p.kind = kindExact
	}
	return p, nil
}

// checkDepth refuses a segment pattern the Cedar model cannot express:
// one with a trailing "*" is matched through resource.seg and
// resource.rest, which stop at MaxSegments, so its "+" must come before
// the last described segment. A "+" glob without a trailing "*" is a
// like pattern at a fixed depth and has no limit.
func (p *pattern) checkDepth() error {
	if last := p.lastWild(); p.prefix && last >= authz.MaxSegments-1 {
		return fmt.Errorf("'+' at segment %d followed by a '*' glob is too deep to compile (the last '+' must be before segment %d)",
			last, authz.MaxSegments-1)
	}
	return nil
}

// lastWild is the index of the last "+" segment, or -1.
func (p *pattern) lastWild() int {
	for i := len(p.wild) - 1; i >= 0; i-- {
		if p.wild[i] {
			return i
		}
	}
	return -1
}

// firstWild is the index of the first "+" segment, or len(parts).
func (p *pattern) firstWild() int {
	for i, w := range p.wild {
		if w {
			return i
		}
	}
	return len(p.parts)
}

// exactPattern is the pattern of a literal path (used for an exact rule
// and for overlap tests against one).
func exactPattern(path string) *pattern {
	return &pattern{kind: kindExact, text: path, wcPath: path, parts: strings.Split(path, "/")}
}

// withSlash is the pattern matching p's matches with a "/" appended:
// Vault's list fallback for a segment pattern without a trailing "*".
func (p *pattern) withSlash() *pattern {
	q := *p
	q.wcPath += "/"
	q.parts = append(append([]string(nil), p.parts...), "")
	if p.wild != nil {
		q.wild = append(append([]bool(nil), p.wild...), false)
	}
	return &q
}

// head is a string every path p matches starts with: the literal text
// before the first wildcard.
func (p *pattern) head() string {
	f := p.firstWild()
	if f == len(p.parts) {
		return p.wcPath
	}
	if f == 0 {
		return ""
	}
	return strings.Join(p.parts[:f], "/") + "/"
}

// segMode is the constraint a pattern puts on one segment.
type segMode uint8

const (
	segAny    segMode = iota // "+", or beyond a prefix pattern's end
	segEqual                 // the segment equals the literal
	segPrefix                // the segment starts with the literal
)

func (p *pattern) seg(i int) (segMode, string) {
	switch {
	case i >= len(p.parts) || (p.wild != nil && p.wild[i]):
		return segAny, ""
	case p.prefix && i == len(p.parts)-1:
		return segPrefix, p.parts[i]
	}
	return segEqual, p.parts[i]
}

// overlaps reports whether some request path matches both a and b.
// Segments are independent strings without "/", so it suffices that the
// depths agree and every segment's two constraints can hold together.
func overlaps(a, b *pattern) bool {
	na, nb := len(a.parts), len(b.parts)
	depth := max(na, nb)
	switch {
	case !a.prefix && !b.prefix && na != nb:
		return false
	case !a.prefix && b.prefix && na < nb:
		return false
	case a.prefix && !b.prefix && nb < na:
		return false
	}
	for i := range depth {
		ma, la := a.seg(i)
		mb, lb := b.seg(i)
		if !segCompatible(ma, la, mb, lb) {
			return false
		}
	}
	return true
}

func segCompatible(ma segMode, la string, mb segMode, lb string) bool {
	switch {
	case ma == segAny || mb == segAny:
		return true
	case ma == segEqual && mb == segEqual:
		return la == lb
	case ma == segEqual:
		return strings.HasPrefix(la, lb)
	case mb == segEqual:
		return strings.HasPrefix(lb, la)
	}
	return strings.HasPrefix(la, lb) || strings.HasPrefix(lb, la)
}

// higher reports whether non-exact pattern a has priority over b when
// both match a request path: OpenBao's CheckAllowedFromNonExactPaths
// order (a later first wildcard, then not a prefix, then fewer "+", then
// longer, then lexically greater).
func higher(a, b *pattern) bool {
	switch {
	case a.firstWC != b.firstWC:
		return a.firstWC > b.firstWC
	case a.prefix != b.prefix:
		return !a.prefix
	case a.wildcards != b.wildcards:
		return a.wildcards < b.wildcards
	case len(a.wcPath) != len(b.wcPath):
		return len(a.wcPath) > len(b.wcPath)
	}
	return a.wcPath > b.wcPath
}
