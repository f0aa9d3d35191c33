package framework

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// Sentinel errors of this package. Routing and validation failures are
// reported with logical's sentinels instead (ErrUnsupportedPath,
// ErrUnsupportedOperation, InvalidRequest), since those reach clients.
var (
	// ErrBadPattern is returned when a Path's Pattern does not compile; it
	// is a programming error in the engine, reported on every request.
	ErrBadPattern = errors.New("framework: bad path pattern")
	// ErrDecode is returned by FieldData.Decode and DecodeData when the
	// target is not a pointer to a struct, a struct field cannot hold the
	// parsed value, or a schema is malformed: a bug in the caller.
	ErrDecode = errors.New("framework: decode")
	// ErrInvalidDuration is wrapped by every ParseDuration and
	// Duration.UnmarshalJSON error. Unlike the sentinels above it reaches
	// clients (inside a logical.InvalidRequestError naming the field), so
	// it carries no package prefix: `ttl: invalid duration "soon"`.
	ErrInvalidDuration = errors.New("invalid duration")
)

// Backend is a logical.Backend built from declared Paths. Set Paths before
// the first request and do not change them afterwards; patterns are
// compiled once, on first use (or by an explicit call to Init).
//
// Routing: the request path is matched against each Path in declaration
// order and the first full match wins, so list more specific patterns
// before catch-alls. HandleRequest and ExistenceCheck are safe for
// concurrent use.
type Backend struct {
	// Paths are the routes, in priority order.
	Paths []*Path
	// Help describes the engine.
	Help string
	// Secrets are the kinds of leased secret the engine returns, whose
	// renew and revoke requests (from the expiration manager) reach
	// their handlers.
	Secrets []*Secret

	once     sync.Once
	compiled []compiledPath
	initErr  error
	// plain: no Path declares route data, so RouteInfo needs no match.
	plain bool
}

var (
	_ logical.Backend        = (*Backend)(nil)
	_ logical.RouteDescriber = (*Backend)(nil)
)

type compiledPath struct {
	path *Path
	re   *regexp.Regexp
	// fields is Path.Fields plus a TypeString schema for every named
	// capture the Path does not declare.
	fields map[string]*FieldSchema
}

// Init compiles the path patterns. It is called implicitly by the first
// request; factories call it to fail early on a bad pattern.
func (b *Backend) Init() error {
	b.once.Do(func() {
		b.compiled, b.initErr = compile(b.Paths)
		b.plain = true
		for _, p := range b.Paths {
			if p != nil && (p.routeInfo("") != logical.RouteInfo{} || len(p.Actions) > 0) {
				b.plain = false
			}
		}
	})
	return b.initErr
}

func compile(paths []*Path) ([]compiledPath, error) {
	out := make([]compiledPath, 0, len(paths))
	for i, p := range paths {
		if p == nil {
			return nil, fmt.Errorf("%w: path %d is nil", ErrBadPattern, i)
		}
		pat := p.Pattern
		if !strings.HasPrefix(pat, "^") {
			pat = "^" + pat
		}
		if !strings.HasSuffix(pat, "$") {
			pat += "$"
		}
		re, err := regexp.Compile(pat)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrBadPattern, p.Pattern, err)
		}
		fields := maps.Clone(p.Fields)
		if fields == nil {
			fields = make(map[string]*FieldSchema)
		}
		for _, name := range re.SubexpNames() {
			if name != "" && fields[name] == nil {
				fields[name] = &FieldSchema{Type: TypeString}
			}
		}
		if name, bad := invalidField(fields); bad {
			return nil, fmt.Errorf("%w: %q: field %q has no valid type", ErrBadPattern, p.Pattern, name)
		}
		out = append(out, compiledPath{path: p, re: re, fields: fields})
	}
	return out, nil
}

// invalidField returns the first field (in name order) whose schema is
// nil or has no valid Type.
func invalidField(fields map[string]*FieldSchema) (string, bool) {
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if s := fields[name]; s == nil || s.Type < TypeString || s.Type > TypeStringMap {
			return name, true
		}
	}
	return "", false
}

// route finds the Path for reqPath and builds its FieldData from data and
// the pattern's captures (captures win over data of the same name).
func (b *Backend) route(reqPath string, data map[string]any) (*compiledPath, *FieldData, error) {
	if err := b.Init(); err != nil {
		return nil, nil, err
	}
	for i := range b.compiled {
		cp := &b.compiled[i]
		m := cp.re.FindStringSubmatch(reqPath)
		if m == nil {
			continue
		}
		raw := data
		if names := cp.re.SubexpNames(); len(names) > 1 {
			raw = make(map[string]any, len(data)+len(names))
			maps.Copy(raw, data)
			for j, name := range names {
				if name != "" {
					raw[name] = m[j]
				}
			}
		}
		return cp, &FieldData{Raw: raw, Schema: cp.fields}, nil
	}
	return nil, nil, fmt.Errorf("%w: %q", logical.ErrUnsupportedPath, reqPath)
}

// HandleRequest implements logical.Backend: route, validate, dispatch.
func (b *Backend) HandleRequest(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	if req.Operation == logical.RenewOperation || req.Operation == logical.RevokeOperation {
		return b.handleSecret(ctx, req)
	}
	cp, d, err := b.route(req.Path, req.Data)
	if err != nil {
		return nil, err
	}
	h := cp.path.handler(req.Operation)
	if h == nil {
		return nil, fmt.Errorf("%w: %s on %q", logical.ErrUnsupportedOperation, req.Operation, req.Path)
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return h(ctx, req, d)
}

// PathPatterns lists the Paths' patterns in priority order (for tests and
// documentation that enumerate an engine's routes).
func (b *Backend) PathPatterns() []string {
	out := make([]string, len(b.Paths))
	for i, p := range b.Paths {
		out[i] = p.Pattern
	}
	return out
}

// RouteInfo implements logical.RouteDescriber: the declared route data of
// the first Path matching path (ok=false when none does or a pattern is
// bad, which HandleRequest then reports). A backend none of whose Paths
// declares route data answers the zero RouteInfo without matching (ok
// true: HandleRequest reports an unknown path), which keeps the
// pipeline's resolve stage free for plain engines.
func (b *Backend) RouteInfo(path string, op logical.Operation) (logical.RouteInfo, bool) {
	if b.Init() != nil {
		return logical.RouteInfo{}, false
	}
	if b.plain {
		return logical.RouteInfo{}, true
	}
	for i := range b.compiled {
		if b.compiled[i].re.MatchString(path) {
			return b.compiled[i].path.routeInfo(op), true
		}
	}
	return logical.RouteInfo{}, false
}

// ExistenceCheck implements logical.Backend. A path without a check
// reports ok=false; no matching path is logical.ErrUnsupportedPath.
func (b *Backend) ExistenceCheck(ctx context.Context, req *logical.Request) (exists, ok bool, err error) {
	cp, d, err := b.route(req.Path, req.Data)
	if err != nil {
		return false, false, err
	}
	if cp.path.ExistenceCheck == nil {
		return false, false, nil
	}
	if err := d.Validate(); err != nil {
		return false, false, err
	}
	exists, err = cp.path.ExistenceCheck(ctx, req, d)
	if err != nil {
		return false, false, err
	}
	return exists, true, nil
}
