// Package passwordpolicy implements Vault's password policies: a small HCL
// document that says how long a generated password is and which character
// sets it must draw from, and a generator that produces passwords from it.
//
// A policy has a length and one or more charset rules:
//
//	length = 20
//
//	rule "charset" {
//	  charset   = "abcdefghijklmnopqrstuvwxyz"
//	  min-chars = 1
//	}
//
//	rule "charset" {
//	  charset   = "0123456789"
//	  min-chars = 2
//	}
//
// The password's alphabet is the union of every rule's charset (rules with
// min-chars = 0 only widen the alphabet); each rule demands that at least
// min-chars of the password's runes come from its charset. The JSON form
// Vault accepts ({"length": 20, "rule": [{"charset": [{...}]}]}) parses too.
//
// Parse validates a policy the way Vault's sys/policies/password endpoint
// does (length between MinLength and MaxLength, at least one rule, non-empty
// printable UTF-8 charsets, min-chars summing to at most the length) and
// is stricter in one respect: unknown keys and non-integer numbers are
// refused rather than ignored or truncated. Every error wraps
// ErrInvalidPolicy and names the offending item with its line and column.
//
// Typical use, as the sys endpoints and the database engine do:
//
//	p, err := passwordpolicy.Parse(text) // on write: refuse bad policies
//	if err != nil {
//		return err // errors.Is(err, passwordpolicy.ErrInvalidPolicy)
//	}
//	stored := p.String()                      // the text as written, for GET
//	pw, err := p.Generate(ctx, nil)           // nil: crypto/rand.Reader
//
// # Distribution
//
// Generate never retries a whole password. For each rule it draws min-chars
// runes uniformly from that rule's charset, fills the remaining positions
// with runes drawn uniformly from the union, and applies a uniform
// Fisher–Yates shuffle. Every index is drawn by rejection sampling, so no
// rune is favoured by modulo bias. Every result satisfies every rule, and
// generation takes a bounded number of random draws whatever the policy.
//
// This differs from Vault, which draws every rune from the union and
// discards passwords that break a rule: Vault's output is uniform over the
// set of valid passwords, but can time out on demanding policies. Ours
// favours runes of constrained charsets slightly more: for Default, "-"
// appears 1.25 times per password on average against 1.16 under Vault's
// scheme, and the output carries 117.51 bits of entropy against 117.62.
// Every valid password can still be produced.
package passwordpolicy
