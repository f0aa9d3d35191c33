package core

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/token"
	raftstore "github.com/secretumvault/secretumvault/storage/raft"
)

// HandleRequest runs one request through the pipeline: authenticate the
// token, authorize, route to sys, the token store or a mounted engine.
// req.Path is the full path after /v1/.
func (c *Core) HandleRequest(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	c.stateLock.RLock()
	defer c.stateLock.RUnlock()
	st, err := c.state()
	if err != nil {
		return nil, err
	}
	if req.ID == "" {
		if req.ID, err = uuid(); err != nil {
			return nil, err
		}
	}
	req.Path = strings.TrimPrefix(req.Path, "/")
	te, err := c.authenticate(ctx, st, req.ClientToken)
	if err != nil {
		return nil, err
	}
	if err := authorize(te, req); err != nil {
		return nil, err
	}
	resp, err := c.linearizable(ctx, req.Operation, func() (*logical.Response, error) {
		return c.dispatch(ctx, st, te, req)
	})
	return resp, unavailableIfDeposed(err)
}

// dispatch routes to sys, the token store or a mounted engine.
func (c *Core) dispatch(ctx context.Context, st *activeState, te *token.Entry, req *logical.Request) (*logical.Response, error) {
	switch {
	case strings.HasPrefix(req.Path, "sys/"):
		return c.handleSystem(ctx, st, req)
	case req.Path == "auth/token" || strings.HasPrefix(req.Path, "auth/token/"):
		req.Path = strings.TrimPrefix(strings.TrimPrefix(req.Path, "auth/token"), "/")
		req.MountPoint, req.MountType = "auth/token/", "token"
		return st.tokens.HandleRequest(ctx, req, te)
	}
	return c.route(ctx, st, req)
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

// route dispatches to the mounted engine owning req.Path.
func (c *Core) route(ctx context.Context, st *activeState, req *logical.Request) (*logical.Response, error) {
	rt := st.router.match(req.Path)
	if rt == nil {
		return nil, fmt.Errorf("%w: no handler for route %q", logical.ErrUnsupportedPath, req.Path)
	}
	req.Path = strings.TrimPrefix(req.Path, rt.entry.Path)
	req.MountPoint, req.MountType, req.Storage = rt.entry.Path, rt.entry.Type, rt.view
	if req.Operation == logical.UpdateOperation {
		exists, ok, err := rt.backend.ExistenceCheck(ctx, req)
		if err != nil {
			return nil, err
		}
		if ok && !exists {
			req.Operation = logical.CreateOperation
		}
	}
	return rt.backend.HandleRequest(ctx, req)
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

// selfTokenPaths are the auth/token/ paths any token may call (Vault's
// default policy): they act on the caller's own token or mint a child.
var selfTokenPaths = map[string]bool{
	"auth/token/lookup-self": true, "auth/token/renew-self": true, "auth/token/revoke-self": true,
	"auth/token/create": true,
}

// authorize is the interim policy until Cedar lands: any valid token may
// do anything except write under sys/ or act on other tokens, which need
// the root token.
func authorize(te *token.Entry, req *logical.Request) error {
	if te.IsRoot() {
		return nil
	}
	if strings.HasPrefix(req.Path, "auth/token/") && !selfTokenPaths[req.Path] {
		return fmt.Errorf("%w: only the root token may act on other tokens", logical.ErrPermissionDenied)
	}
	if !strings.HasPrefix(req.Path, "sys/") {
		return nil
	}
	switch req.Operation {
	case logical.ReadOperation, logical.ListOperation:
		return nil
	}
	return fmt.Errorf("%w: writes under sys/ need the root token", logical.ErrPermissionDenied)
}
