package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/audit"
	"github.com/secretumvault/secretumvault/authz"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/token"
	raftstore "github.com/secretumvault/secretumvault/storage/raft"
)

// The request pipeline. HandleRequest is the one entry point for every
// request a node serves, REST or gRPC, sys/ or mounted; its stages run in
// this order and nowhere else:
//
//  0. resolve      the mount owning the path and the route's declared
//                  RouteInfo (unauthenticated? sudo? local?)
//  1. authenticate token -> token entry (skipped for unauthenticated routes)
//  2. authorize    Authorizer.Authorize (skipped for unauthenticated routes)
//  3. audit        Broker.LogRequest; a request no device recorded is refused
//  4. route        the backend's HandleRequest (reads under the raft leader
//                  lease, ADR 0003)
//  5. lease        a response's Secret gets a lease (TTL bounded by the
//                  engine's and the mount's maximum), persisted before the
//                  client sees it (leases.go)
//  6. audit        Broker.LogResponse
//
// Local routes (init, unseal, seal, seal-status, health, leader, join,
// snapshots) run stages 4-6 outside the seal-state lock, because their
// handlers change or report the seal state themselves.

// ErrAuditFailed is returned when no audit device recorded a request: the
// request is not served (fail closed).
var ErrAuditFailed = errors.New("core: audit: the request could not be recorded")

// HandleRequest runs one request through the pipeline. req.Path is the full
// path after /v1/; the pipeline rewrites it to the mount-relative path and
// fills MountPoint, MountType and Storage before the backend sees it.
func (c *Core) HandleRequest(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	req.Path = strings.TrimLeft(req.Path, "/")
	if err := checkPath(req.Path); err != nil {
		return nil, err
	}
	if req.Operation == logical.RenewOperation || req.Operation == logical.RevokeOperation || req.Secret != nil {
		// The expiration manager's, sent to backends directly.
		return nil, logical.InvalidRequest("operation", "%s is not a client operation", req.Operation)
	}
	if req.ID == "" {
		id, err := logical.NewUUID()
		if err != nil {
			return nil, err
		}
		req.ID = id
	}
	set := c.auditSetFor(req.Path)
	defer set.enter()()
	call := &pipelineCall{full: req.Path, start: c.cfg.Now(), broker: set.broker}
	if tgt, ok := c.localTarget(call, req); ok {
		return c.serveLocal(ctx, call, tgt, req)
	}
	c.stateLock.RLock()
	defer c.stateLock.RUnlock()
	st, err := c.state()
	if err != nil {
		return nil, err
	}
	tgt, err := c.resolve(call, st, req)
	if err != nil {
		return nil, err
	}
	if err := c.admit(ctx, st, call, tgt, req, c.outsideStateLock(st)); err != nil {
		return nil, err
	}
	resp, err := c.linearizable(ctx, req.Operation, func() (*logical.Response, error) {
		return c.dispatch(ctx, call, tgt, req)
	})
	return resp, unavailableIfDeposed(err)
}

// errStateChanged: the node sealed or stepped down while a request's body
// was being read.
var errStateChanged = fmt.Errorf("%w: the node changed state during the request", logical.ErrUnavailable)

// outsideStateLock returns a runner for slow work (reading a client's
// body) that releases the caller's read lock on the seal state meanwhile,
// so a slow client never holds up a seal, and fails when the active state
// changed in between. The caller holds the read lock.
func (c *Core) outsideStateLock(st *activeState) func(func() error) error {
	return func(f func() error) error {
		c.stateLock.RUnlock()
		err := f()
		c.stateLock.RLock()
		if err != nil {
			return err
		}
		if now, serr := c.state(); serr != nil || now != st {
			return errStateChanged
		}
		return nil
	}
}

// noLock runs f directly (no lock is held).
func noLock(f func() error) error { return f() }

// pipelineCall is what the stages of one request tell each other. It also
// holds the request's target, authorization question and audit entry, so
// that one allocation serves the whole pipeline.
type pipelineCall struct {
	full     string
	start    time.Time
	caller   *token.Entry
	decision authz.Decision
	// existenceChecked: authorize already told create from update.
	existenceChecked bool
	// entity is the caller's identity entity (looked up once, by gate).
	entity    identityPrincipal
	hasEntity bool

	// broker is the audit device set of the request, taken when it
	// arrived: its request and response entries go to the same devices.
	broker audit.Broker

	tgt   target
	areq  authz.Request
	entry audit.Entry
}

// target is where a request goes and what its route declares.
type target struct {
	backend logical.Backend
	mount   string // full mount prefix: "sys/", "auth/token/", "secret/"
	typ     string
	view    logical.Storage
	info    logical.RouteInfo
	// entry is the mount's table row (nil for sys/).
	entry *mountEntry
}

// bind points req, whose full path is full, at the target: the path
// relative to the mount, the mount, its type and storage view.
func (t *target) bind(req *logical.Request, full string) {
	req.Path, req.MountPoint, req.MountType, req.Storage = relativePath(full, t.mount), t.mount, t.typ, t.view
}

// localTarget reports a sys/ route declared Local.
func (c *Core) localTarget(call *pipelineCall, req *logical.Request) (*target, bool) {
	rel, ok := sysRelative(req.Path)
	if !ok {
		return nil, false
	}
	info, ok := c.sys.RouteInfo(rel, req.Operation)
	if !ok || !info.Local {
		return nil, false
	}
	call.tgt = target{backend: c.sys, mount: sysMountPath, typ: sysMountType, info: info}
	return &call.tgt, true
}

// serveLocal runs a Local route: authentication and authorization under
// the state lock when the route needs a token, the rest without it.
func (c *Core) serveLocal(ctx context.Context, call *pipelineCall, tgt *target, req *logical.Request) (*logical.Response, error) {
	if !tgt.info.Unauthenticated {
		c.stateLock.RLock()
		st, err := c.state()
		if err == nil {
			err = c.admit(ctx, st, call, tgt, req, c.outsideStateLock(st))
		}
		c.stateLock.RUnlock()
		if err != nil {
			return nil, err
		}
	} else if err := c.admit(ctx, nil, call, tgt, req, noLock); err != nil {
		return nil, err
	}
	resp, err := c.dispatch(ctx, call, tgt, req)
	return resp, unavailableIfDeposed(err)
}

// resolve finds the backend owning req.Path and its route's RouteInfo.
func (c *Core) resolve(call *pipelineCall, st *activeState, req *logical.Request) (*target, error) {
	if rel, ok := sysRelative(req.Path); ok {
		info, found := c.sys.RouteInfo(rel, req.Operation)
		if !found {
			return nil, fmt.Errorf("%w: sys/%s", logical.ErrUnsupportedPath, rel)
		}
		call.tgt = target{backend: c.sys, mount: sysMountPath, typ: sysMountType, info: info}
		return &call.tgt, nil
	}
	rt := st.router.match(req.Path)
	if rt == nil {
		return nil, fmt.Errorf("%w: no handler for route %q", logical.ErrUnsupportedPath, req.Path)
	}
	call.tgt = target{backend: rt.backend, mount: rt.prefix, typ: rt.entry.Type, view: rt.view, entry: rt.entry}
	tgt := &call.tgt
	if rd, ok := rt.backend.(logical.RouteDescriber); ok {
		tgt.info, _ = rd.RouteInfo(strings.TrimPrefix(req.Path, rt.prefix), req.Operation)
	}
	return tgt, nil
}

// admit runs stages 1-3: authenticate (an unauthenticated route is
// rate-limited per client instead), read the body, authorize, audit the
// request. The body is read only once the token is authenticated (an
// unauthenticated route reads at most maxUnauthenticatedBody), so a caller
// without a valid token never makes the node read what it sends, and it
// is read through outside, which releases the seal-state lock meanwhile.
// A refused request is audited too, with its error, before the refusal
// is returned. st may be nil for an unauthenticated route.
func (c *Core) admit(ctx context.Context, st *activeState, call *pipelineCall, tgt *target, req *logical.Request, outside func(func() error) error) error {
	if err := c.gate(ctx, st, call, req, tgt.info); err != nil {
		return c.auditRefusal(ctx, call, tgt, req, err)
	}
	if req.Body != nil && !tgt.info.RawBody {
		limit := int64(0)
		if tgt.info.Unauthenticated {
			limit = maxUnauthenticatedBody
		}
		if err := outside(func() error { return readBody(req, tgt.info, limit) }); err != nil {
			return c.auditRefusal(ctx, call, tgt, req, err)
		}
	}
	if !tgt.info.Unauthenticated {
		if err := c.authorize(ctx, st, call, tgt, req); err != nil {
			return c.auditRefusal(ctx, call, tgt, req, err)
		}
	}
	return c.auditRequest(ctx, call, tgt, req)
}

// gate is stage 1: the token's entry for an authenticated route, the
// client's rate limit for an unauthenticated one.
func (c *Core) gate(ctx context.Context, st *activeState, call *pipelineCall, req *logical.Request, info logical.RouteInfo) error {
	if info.Unauthenticated {
		if !c.unauthLimiter.allow(clientOf(req)) {
			return fmt.Errorf("%w: too many unauthenticated requests from this client", logical.ErrRateLimited)
		}
		return nil
	}
	te, err := c.authenticate(ctx, st, req.ClientToken)
	if err != nil {
		return err
	}
	if !te.UsableFrom(clientOf(req)) {
		return fmt.Errorf("%w: the token may not be used from this address", logical.ErrPermissionDenied)
	}
	call.entity, call.hasEntity = entityOf(st, te)
	if call.hasEntity && call.entity.Disabled {
		return fmt.Errorf("%w: the token's entity is disabled", logical.ErrPermissionDenied)
	}
	call.caller = te
	return nil
}

// auditRefusal records a refused request and its error; it returns the
// refusal, or ErrAuditFailed when the refusal could not be recorded.
func (c *Core) auditRefusal(ctx context.Context, call *pipelineCall, tgt *target, req *logical.Request, refusal error) error {
	if err := c.auditRequest(ctx, call, tgt, req); err != nil {
		return err
	}
	e := c.auditEntry(call, tgt, req)
	e.Error = refusal.Error()
	e.Status = auditStatus(nil, refusal)
	if err := call.broker.LogResponse(ctx, e); err != nil {
		c.logger.Error("core: audit response failed", "request_id", req.ID, "error", err)
		return fmt.Errorf("%w: %v", ErrAuditFailed, err)
	}
	return refusal
}

// authenticate resolves a raw token to its entry.
func (c *Core) authenticate(ctx context.Context, st *activeState, raw string) (*token.Entry, error) {
	if raw == "" {
		return nil, ErrMissingToken
	}
	te, err := st.tokens.Authenticate(ctx, raw)
	if err != nil {
		if errors.Is(err, logical.ErrPermissionDenied) {
			return nil, err
		}
		return nil, fmt.Errorf("core: authenticate: %w", err)
	}
	return te, nil
}

// authorize is stage 2: it tells create from update (Vault's policies
// distinguish them), builds the authorization question and asks the
// Authorizer — the configured one, else the active node's policy set. A
// denial is a 403 "permission denied" (the decision, with the policies
// that made it, goes to the audit log; sys/authz/explain tells an
// operator why).
func (c *Core) authorize(ctx context.Context, st *activeState, call *pipelineCall, tgt *target, req *logical.Request) error {
	if err := c.existence(ctx, call, tgt, req); err != nil {
		return err
	}
	areq := &call.areq
	c.authzRequest(ctx, areq, principalWith(call.caller, call.entity, call.hasEntity), tgt, req, call.full)
	areq.Time = call.start
	az := c.authorizer
	if az == nil {
		az = st.policies
	}
	d, err := az.Authorize(ctx, areq)
	if err != nil {
		return fmt.Errorf("core: authorize: %w", err)
	}
	call.decision = d
	if !d.Allowed {
		c.logger.Debug("core: permission denied", "request_id", req.ID, "path", call.full, "accessor", call.caller.Accessor, "policies", d.PolicyIDs)
		return logical.ErrPermissionDenied
	}
	return nil
}

// existence runs the backend's existence check of an update before it
// is authorized, so that policies see create or update as Vault's do; the
// route stage does not repeat it.
func (c *Core) existence(ctx context.Context, call *pipelineCall, tgt *target, req *logical.Request) error {
	if req.Operation != logical.UpdateOperation {
		return nil
	}
	probe := *req
	tgt.bind(&probe, call.full)
	exists, ok, err := tgt.backend.ExistenceCheck(ctx, &probe)
	if err != nil {
		// Authorized as an update; the route stage checks again and
		// reports the error to an authorized caller only.
		return nil
	}
	call.existenceChecked = true
	if ok && !exists {
		req.Operation = logical.CreateOperation
	}
	return nil
}

// auditEntry describes the request for the audit broker, in the call's
// one entry (a Broker copies what it keeps).
func (c *Core) auditEntry(call *pipelineCall, tgt *target, req *logical.Request) *audit.Entry {
	e := &call.entry
	*e = audit.Entry{
		Time: call.start, RequestID: req.ID, Operation: string(req.Operation), Path: call.full,
		MountType: tgt.typ, Unauthenticated: tgt.info.Unauthenticated, RequestData: req.Data,
		Decision: audit.Decision{Allowed: call.decision.Allowed, PolicyIDs: call.decision.PolicyIDs},
	}
	if req.Connection != nil {
		e.RemoteAddr = req.Connection.RemoteAddr
	}
	if te := call.caller; te != nil {
		e.Auth = audit.Auth{
			Accessor: te.Accessor, EntityID: te.EntityID, DisplayName: te.DisplayName, Policies: te.Policies,
			ClientToken: req.ClientToken, Metadata: te.Meta,
		}
	}
	return e
}

func (c *Core) auditRequest(ctx context.Context, call *pipelineCall, tgt *target, req *logical.Request) error {
	if err := call.broker.LogRequest(ctx, c.auditEntry(call, tgt, req)); err != nil {
		c.logger.Error("core: audit request failed; refusing the request", "request_id", req.ID, "error", err)
		return fmt.Errorf("%w: %v", ErrAuditFailed, err)
	}
	return nil
}

// dispatch runs stages 4-6: route to the backend, (leases), audit the
// response.
func (c *Core) dispatch(ctx context.Context, call *pipelineCall, tgt *target, req *logical.Request) (*logical.Response, error) {
	tgt.bind(req, req.Path)
	if call.caller != nil {
		ctx = token.ContextWithCaller(ctx, call.caller)
		if tgt.typ == token.MountType && !call.caller.IsRoot() {
			ctx = token.ContextWithSudo(ctx, func() bool { return c.hasSudo(ctx, call) })
		}
	}
	resp, err := c.route(ctx, call, tgt, req)
	if err == nil && isLogin(tgt, resp) {
		err = c.completeLogin(ctx, call, tgt, req, resp)
	}
	if err == nil && resp != nil && resp.Secret != nil && resp.Secret.LeaseID == "" {
		// (A renewal answers its lease, already registered.)
		if err = c.registerLease(ctx, call, tgt, req, resp); err != nil {
			resp = nil
		}
	}
	e := c.auditEntry(call, tgt, req)
	if resp != nil {
		e.ResponseData, e.ResponseClear = resp.Data, resp.AuditClear
		if resp.Secret != nil {
			e.LeaseID = resp.Secret.LeaseID
		}
	}
	e.Status = auditStatus(resp, err)
	if err != nil {
		e.Error = err.Error()
	}
	if aerr := call.broker.LogResponse(ctx, e); aerr != nil {
		c.logger.Error("core: audit response failed; withholding the response", "request_id", req.ID, "error", aerr)
		return nil, fmt.Errorf("%w: %v", ErrAuditFailed, aerr)
	}
	return resp, err
}

// route hands the request to its backend, telling create from update for
// backends with an existence check.
func (c *Core) route(ctx context.Context, call *pipelineCall, tgt *target, req *logical.Request) (*logical.Response, error) {
	if err := c.rotation.Quarantined(call.full, req.Operation); err != nil {
		return nil, err // an overdue secret, for every token (see rotation)
	}
	if err := c.admitLease(tgt, call.full); err != nil {
		return nil, err
	}
	if req.Operation == logical.UpdateOperation && !call.existenceChecked {
		exists, ok, err := tgt.backend.ExistenceCheck(ctx, req)
		if err != nil {
			return nil, err
		}
		if ok && !exists {
			req.Operation = logical.CreateOperation
		}
	}
	return tgt.backend.HandleRequest(ctx, req)
}

// linearizable runs a read on the active node under the raft leader lease
// (checked before and after the read), so a deposed or paused leader never
// answers from stale local state; see docs/adr/0003-read-consistency.md.
// Writes go through raft and need no lease.
func (c *Core) linearizable(ctx context.Context, op logical.Operation, do func() (*logical.Response, error)) (*logical.Response, error) {
	if c.cfg.Cluster == nil || (op != logical.ReadOperation && op != logical.ListOperation) {
		return do()
	}
	var resp *logical.Response
	var err error
	lerr := c.cfg.Cluster.LinearizableRead(ctx, func() error {
		resp, err = do()
		return nil
	})
	if lerr != nil {
		return nil, fmt.Errorf("%w: cannot confirm leadership for a consistent read: %v", logical.ErrUnavailable, lerr)
	}
	return resp, err
}

// unavailableIfDeposed turns storage errors of a node that lost
// leadership mid-request into 503s a client can retry.
func unavailableIfDeposed(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, raftstore.ErrNotLeader) || errors.Is(err, raftstore.ErrNotStarted) || errors.Is(err, raftstore.ErrUnknownOutcome) {
		return fmt.Errorf("%w: %v", logical.ErrUnavailable, err)
	}
	return err
}

// checkPath refuses request paths with empty, "." or ".." segments: a
// backend would resolve them to another path than the one authorized
// ("secret//data/x" is secret/data/x to kv, but not inside
// Secret::"secret/data" to a policy).
func checkPath(path string) error {
	rest := strings.TrimSuffix(path, "/")
	for rest != "" {
		seg, tail, _ := strings.Cut(rest, "/")
		if seg == "" || seg == "." || seg == ".." {
			return logical.InvalidRequest("path", "invalid request path %q: empty, \".\" or \"..\" segment", path)
		}
		rest = tail
	}
	return nil
}

// relativePath is full relative to its mount ("" for the mount itself).
func relativePath(full, mount string) string {
	if full+"/" == mount {
		return ""
	}
	return strings.TrimPrefix(strings.TrimPrefix(full, mount), "/")
}

// clientOf is the client address a request is rate-limited by.
func clientOf(req *logical.Request) string {
	if req.Connection == nil {
		return ""
	}
	return req.Connection.RemoteAddr
}

// sysRelative reports whether path is under sys/ and returns the rest.
func sysRelative(path string) (string, bool) {
	if path == "sys" {
		return "", true
	}
	return strings.CutPrefix(path, "sys/")
}
