package authz

import (
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/cedar-policy/cedar-go"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
	"github.com/cedar-policy/cedar-go/x/exp/schema"
	sast "github.com/cedar-policy/cedar-go/x/exp/schema/ast"
	"github.com/cedar-policy/cedar-go/x/exp/schema/validate"
)

//go:embed schema.cedarschema
var schemaText string

// Schema returns the Cedar schema every policy is validated against, as
// served at sys/policies/cedar-schema.
func Schema() string { return schemaText }

// BadPolicyError is the error of a document that does not parse, does not
// validate against the schema, or breaks a rule of Load (a policy id used
// twice, an ACL document's policy without its guard). It wraps
// ErrBadPolicy; its message names the document and, when known, the line
// and column: cedar: doc "dev": line 3, column 12: unrecognized action
// `Action::"reed"`.
type BadPolicyError struct {
	// Kind is "doc" for an operator's Cedar document, "acl" for one
	// compiled from a Vault HCL policy.
	Kind string
	// Doc is the document's name.
	Doc string
	// Line and Column locate the problem (1-based; 0 when unknown).
	Line, Column int
	// Message says what is wrong.
	Message string
}

func (e *BadPolicyError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("cedar: %s %q: %s", e.Kind, e.Doc, e.Message)
	}
	return fmt.Sprintf("cedar: %s %q: line %d, column %d: %s", e.Kind, e.Doc, e.Line, e.Column, e.Message)
}

// Unwrap makes errors.Is(err, ErrBadPolicy) hold.
func (e *BadPolicyError) Unwrap() error { return ErrBadPolicy }

// validators are the schema's two validators, built once. Both are
// strict. forbids checks optional attributes as the schema declares them:
// a forbid that reads an optional attribute must guard it with has, since
// a forbid that errs is skipped and would let a permit through. permits
// checks against the same schema with every attribute required: a permit
// that reads an absent attribute errs and is skipped, which denies (the
// design's context.ttl <= duration("1h") relies on it).
type validators struct {
	permits, forbids *validate.Validator
}

var loadValidators = sync.OnceValues(func() (*validators, error) {
	strict, err := parseSchema(false)
	if err != nil {
		return nil, err
	}
	relaxed, err := parseSchema(true)
	if err != nil {
		return nil, err
	}
	return &validators{permits: relaxed, forbids: strict}, nil
})

// parseSchema parses and resolves the embedded schema; required makes
// every record attribute required.
func parseSchema(required bool) (*validate.Validator, error) {
	var s schema.Schema
	s.SetFilename("schema.cedarschema")
	if err := s.UnmarshalCedar([]byte(schemaText)); err != nil {
		return nil, fmt.Errorf("authz: schema: %w", err)
	}
	if required {
		a := s.AST()
		for name, e := range a.Entities {
			requireAll(e.Shape)
			a.Entities[name] = e
		}
		for _, ct := range a.CommonTypes {
			requireType(ct.Type)
		}
		for _, act := range a.Actions {
			if act.AppliesTo != nil {
				requireType(act.AppliesTo.Context)
			}
		}
	}
	r, err := s.Resolve()
	if err != nil {
		return nil, fmt.Errorf("authz: schema: %w", err)
	}
	return validate.New(r, validate.WithStrict()), nil
}

func requireType(t sast.IsType) {
	switch t := t.(type) {
	case sast.RecordType:
		requireAll(t)
	case sast.SetType:
		requireType(t.Element)
	}
}

func requireAll(r sast.RecordType) {
	for k, a := range r {
		a.Optional = false
		requireType(a.Type)
		r[k] = a
	}
}

// ValidateDocument checks one operator Cedar document as Load would: it
// parses, every policy validates against the schema, no policy id is used
// twice. The error wraps ErrBadPolicy (a *BadPolicyError).
func ValidateDocument(name, text string) error {
	_, err := compileDoc(docCedar, name, text)
	return err
}

// ValidateACLDocument checks one document compiled from the Vault HCL
// policy name as Load would, including that every policy carries the
// guard principal.policies.contains("<name>") in a when clause.
func ValidateACLDocument(name, text string) error {
	_, err := compileDoc(docACL, name, text)
	return err
}

// parsePos finds the position cedar-go's parser puts in its messages.
var parsePos = regexp.MustCompile(`<input>:(\d+):(\d+)`)

// parseError turns a cedar-go parse error into a BadPolicyError.
func parseError(kind, doc string, err error) *BadPolicyError {
	e := &BadPolicyError{Kind: kind, Doc: doc, Message: err.Error()}
	if m := parsePos.FindStringSubmatchIndex(e.Message); m != nil {
		e.Line, _ = strconv.Atoi(e.Message[m[2]:m[3]])
		e.Column, _ = strconv.Atoi(e.Message[m[4]:m[5]])
		rest := strings.TrimLeft(e.Message[m[1]:], " ")
		e.Message = "parse error near " + rest
	}
	return e
}

// validatePolicy checks one parsed policy; src is the document, end the
// offset where the policy's text ends.
func validatePolicy(v *validators, kind, doc, src string, p *cedar.Policy, end int) *BadPolicyError {
	val := v.permits
	if p.Effect() == cedar.Forbid {
		val = v.forbids
	}
	err := val.Policy("", (*xast.Policy)(p.AST()))
	if err == nil {
		return nil
	}
	msgs := flatten(err)
	pos := p.Position()
	e := &BadPolicyError{Kind: kind, Doc: doc, Line: pos.Line, Column: pos.Column, Message: msgs[0]}
	if len(msgs) > 1 {
		e.Message += fmt.Sprintf(" (and %d more)", len(msgs)-1)
	}
	if off, ok := locate(src[pos.Offset:end], msgs[0]); ok {
		e.Line, e.Column = lineColumn(src, pos.Offset+off)
	}
	return e
}

// flatten lists the distinct messages of a (joined) validation error.
func flatten(err error) []string {
	var out []string
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		m := err.Error()
		for _, o := range out {
			if o == m {
				return
			}
		}
		out = append(out, m)
	}
	walk(err)
	if len(out) == 0 {
		out = []string{err.Error()}
	}
	return out
}

// quoted is the first `...` of a validation message: what it is about.
var quoted = regexp.MustCompile("`([^`]+)`")

// locate finds, in one policy's text, what a validation message is about
// (an action, an entity type, an attribute) and returns its offset; the
// policy's own position is the fallback.
func locate(text, msg string) (int, bool) {
	m := quoted.FindStringSubmatch(msg)
	if m == nil {
		return 0, false
	}
	name := m[1]
	var needles []string
	switch {
	case strings.Contains(msg, "entity type `"+name+"`") && strings.HasPrefix(msg, "unrecognized entity type"):
		needles = []string{name + "::"}
	case strings.Contains(msg, "attribute `"):
		last := name[strings.LastIndexByte(name, '.')+1:]
		needles = []string{"." + last, last}
	default:
		needles = []string{name}
	}
	for _, n := range needles {
		if i := strings.Index(text, n); i >= 0 {
			if strings.HasPrefix(n, ".") {
				i++
			}
			return i, true
		}
	}
	return 0, false
}

// lineColumn is the 1-based line and column (in characters) of offset.
func lineColumn(src string, offset int) (line, col int) {
	start := strings.LastIndexByte(src[:offset], '\n') + 1
	return strings.Count(src[:offset], "\n") + 1, utf8.RuneCountInString(src[start:offset]) + 1
}

// errSchema reports that the embedded schema itself is broken (a build
// defect, caught by the tests).
var errSchema = errors.New("authz: the embedded schema does not load")
