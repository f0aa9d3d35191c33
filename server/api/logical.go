package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"google.golang.org/genproto/googleapis/api/httpbody"

	"github.com/secretumvault/secretumvault/engines/logical"
	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
)

// Handle implements pb.LogicalServer: one operation on one mounted path.
func (s *service) Handle(ctx context.Context, in *pb.LogicalRequest) (*httpbody.HttpBody, error) {
	req, err := buildLogicalRequest(ctx, in)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	path, op := req.Path, req.Operation
	mount := s.core.MountPoint(path)
	noteCall(ctx, string(op), mount)
	resp, err := s.core.HandleRequest(ctx, req)
	noteCall(ctx, string(req.Operation), mount) // core may have turned update into create
	mountType := req.MountType
	if mountType == "" && strings.HasPrefix(path, "sys/") {
		mountType = "system"
	}
	if err != nil {
		return s.notFoundWithData(ctx, req.ID, op, mountType, err)
	}
	if resp != nil && resp.Binary != nil {
		return s.binary(ctx, resp.Binary), nil
	}
	body, code, err := renderLogical(req.ID, op, mountType, resp)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if resp != nil && resp.Status != 0 {
		code = resp.Status
	}
	s.succeed(ctx, code)
	return &httpbody.HttpBody{ContentType: "application/json", Data: body}, nil
}

// binary answers with an engine's non-JSON body (a DER certificate, a
// CRL, an OCSP response).
func (s *service) binary(ctx context.Context, b *logical.Binary) *httpbody.HttpBody {
	code := b.Status
	if code == 0 {
		code = http.StatusOK
	}
	s.succeed(ctx, code)
	ct := b.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	return &httpbody.HttpBody{ContentType: ct, Data: b.Data}
}

// buildLogicalRequest turns the RPC into a logical.Request. Over REST the
// operation and the data of bodiless methods come from the HTTP request;
// over gRPC from the message.
func buildLogicalRequest(ctx context.Context, in *pb.LogicalRequest) (*logical.Request, error) {
	req := &logical.Request{
		ID:          requestIDFor(ctx),
		Path:        strings.TrimPrefix(in.GetPath(), "/"),
		ClientToken: clientToken(ctx),
		Connection:  connection(ctx),
	}
	var err error
	if rc := restCallFrom(ctx); rc != nil {
		req.Operation, req.Data, err = restOperation(rc, in.GetData())
		if err == nil && rc.body != nil && req.Operation != logical.ReadOperation &&
			req.Operation != logical.ListOperation && req.Operation != logical.DeleteOperation {
			req.Body = rc.body // read by core after authentication
		}
	} else {
		req.Operation, err = parseOperation(in.GetOperation())
		if err == nil {
			req.Data, err = logical.DecodeData(in.GetData())
		}
	}
	if err != nil {
		return nil, err
	}
	if req.Operation == logical.ListOperation && req.Path != "" && !strings.HasSuffix(req.Path, "/") {
		req.Path += "/" // Vault lists always address the directory
	}
	return req, nil
}

// restOperation maps the HTTP method (LIST already rewritten to GET
// ?list=true) and its data: query parameters for GET and DELETE, the JSON
// body for PUT, POST and PATCH.
func restOperation(rc *restCall, body []byte) (logical.Operation, map[string]any, error) {
	switch rc.method {
	case http.MethodGet, http.MethodHead:
		q := cloneValues(rc.query)
		op := logical.ReadOperation
		if v := q.Get("list"); v != "" {
			list, err := strconv.ParseBool(v)
			if err != nil {
				return "", nil, logical.InvalidRequest("list", "invalid boolean %q", v)
			}
			if list {
				op = logical.ListOperation
			}
		}
		q.Del("list")
		return op, queryData(q), nil
	case http.MethodDelete:
		return logical.DeleteOperation, queryData(rc.query), nil
	case http.MethodPut, http.MethodPost, http.MethodPatch:
		data, err := logical.DecodeData(body)
		if err != nil {
			return "", nil, err
		}
		if rc.method == http.MethodPatch {
			return logical.PatchOperation, data, nil
		}
		return logical.UpdateOperation, data, nil
	}
	return "", nil, fmt.Errorf("%w: method %s", logical.ErrUnsupportedOperation, rc.method)
}

// parseOperation validates a gRPC client's operation name.
func parseOperation(s string) (logical.Operation, error) {
	switch op := logical.Operation(strings.ToLower(s)); op {
	case logical.ReadOperation, logical.ListOperation, logical.CreateOperation,
		logical.UpdateOperation, logical.PatchOperation, logical.DeleteOperation:
		return op, nil
	case "":
		return "", logical.InvalidRequest("operation", "missing operation")
	}
	return "", logical.InvalidRequest("operation", "unknown operation %q", s)
}

// queryData is Vault's parseQuery: single values as strings, repeated ones
// as string lists, the reserved "help" dropped.
func queryData(q url.Values) map[string]any {
	data := map[string]any{}
	for k, v := range q {
		switch {
		case k == "help" || len(v) == 0:
		case len(v) == 1:
			data[k] = v[0]
		default:
			data[k] = append([]string(nil), v...)
		}
	}
	if len(data) == 0 {
		return nil
	}
	return data
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// notFoundWithData renders Vault's 404 that still carries data (KV v2's
// soft-deleted or destroyed version: data null plus its metadata); every
// other error goes through the one error mapping.
func (s *service) notFoundWithData(ctx context.Context, id string, op logical.Operation, mountType string, err error) (*httpbody.HttpBody, error) {
	var rd interface{ ResponseData() map[string]any }
	if !errors.Is(err, logical.ErrNotFound) || !errors.As(err, &rd) {
		return nil, s.fail(ctx, err)
	}
	body, _, rerr := renderLogical(id, op, mountType, &logical.Response{Data: rd.ResponseData()})
	if rerr != nil {
		return nil, s.fail(ctx, err)
	}
	s.succeed(ctx, http.StatusNotFound)
	return &httpbody.HttpBody{ContentType: "application/json", Data: body}, nil
}
