package core

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/secretumvault/secretumvault/audit"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// unauditedPaths are not audited unless AuditConfig.AuditHealth is set:
// health checks, seal status, sys/leader and metrics scrapes, which load
// balancers and monitoring call every few seconds (Vault and OpenBao do
// not audit them either).
var unauditedPaths = map[string]bool{
	"sys/health": true, "sys/seal-status": true, "sys/leader": true, "sys/metrics": true,
}

// auditSetFor returns the devices a request to path is audited to; the
// request calls the set's enter before it is audited and the func enter
// returns when it is answered.
func (c *Core) auditSetFor(path string) *auditSet {
	switch {
	case c.cfg.AuditBroker != nil:
		return c.overrideAudit
	case !c.cfg.Audit.AuditHealth && unauditedPaths[path]:
		return emptyAuditSet
	}
	return c.audits.set()
}

// auditStatus is the status a response entry records: the HTTP status
// the front end answers with for these errors.
func auditStatus(resp *logical.Response, err error) int {
	var coded *logical.CodedError
	switch {
	case err == nil && (resp == nil || (resp.Data == nil && resp.Raw == nil && resp.Auth == nil && resp.Secret == nil)):
		return http.StatusNoContent
	case err == nil:
		return http.StatusOK
	case errors.As(err, &coded):
		return coded.Status
	case errors.Is(err, ErrAuditFailed):
		return http.StatusInternalServerError
	}
	for _, m := range auditStatuses {
		if errors.Is(err, m.err) {
			return m.status
		}
	}
	return http.StatusInternalServerError
}

// auditStatuses map the logical sentinels to their statuses, as
// server/api's toStatusError does.
var auditStatuses = []struct {
	err    error
	status int
}{
	{logical.ErrPermissionDenied, http.StatusForbidden},
	{logical.ErrSealed, http.StatusServiceUnavailable},
	{logical.ErrInvalidRequest, http.StatusBadRequest},
	{logical.ErrUnsupportedPath, http.StatusNotFound},
	{logical.ErrNotFound, http.StatusNotFound},
	{logical.ErrUnsupportedOperation, http.StatusMethodNotAllowed},
	{logical.ErrRequestTooLarge, http.StatusRequestEntityTooLarge},
	{logical.ErrRateLimited, http.StatusTooManyRequests},
	{logical.ErrUnavailable, http.StatusServiceUnavailable},
	{context.DeadlineExceeded, http.StatusGatewayTimeout},
}

// ReopenAuditFiles reopens the active node's file audit devices, after
// log rotation renamed their files away (vaultd does it on SIGHUP). Each
// old file ends with a checkpoint and the chain continues in the new one.
func (c *Core) ReopenAuditFiles() error { return c.audits.reopen() }

// AuditFailures returns, per device path, how many entries the device
// failed to record since the process started
// (secretum_vault_audit_log_failures_total).
func (c *Core) AuditFailures() map[string]uint64 { return c.audits.Failures() }

// auditEvent writes an entry pair for something the server did on its
// own (a scheduled rotation): no caller, policy id "server". A device
// failure is logged and counted; the action has already happened.
func (c *Core) auditEvent(ctx context.Context, op logical.Operation, path string, err error) {
	id, _ := logical.NewUUID()
	e := &audit.Entry{Time: c.cfg.Now(), RequestID: id, Operation: string(op), Path: path,
		Decision: audit.Decision{Allowed: true, PolicyIDs: []string{"server"}}}
	if _, aerr := c.auditedAction(ctx, e, func() (*logical.Response, error) { return nil, err }); errors.Is(aerr, ErrAuditFailed) {
		c.logger.Error("core: audit of a server event failed", "path", path, "error", aerr)
	}
}

// auditedAction runs do between the request and response entries of e,
// outside any client request (the expiration manager's renewals and
// revocations, engines' own actions): do does not run when no device
// recorded the request entry (ErrAuditFailed); a failed response entry is
// logged, the action having happened.
func (c *Core) auditedAction(ctx context.Context, e *audit.Entry, do func() (*logical.Response, error)) (*logical.Response, error) {
	set := c.audits.set()
	defer set.enter()()
	if err := set.broker.LogRequest(ctx, e); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAuditFailed, err)
	}
	resp, err := do()
	e.Status = auditStatus(resp, err)
	if err != nil {
		e.Error = err.Error()
	}
	if aerr := set.broker.LogResponse(ctx, e); aerr != nil {
		c.logger.Error("core: audit response of an action failed", "path", e.Path, "operation", e.Operation, "error", aerr)
	}
	return resp, err
}
