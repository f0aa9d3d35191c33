package core

import (
	"errors"
	"fmt"
	"io"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// maxUnauthenticatedBody bounds the body an unauthenticated route reads
// (init, unseal and the join handshake carry a few KiB at most).
const maxUnauthenticatedBody = 1 << 20

// readBody decodes an unread request body into req.Data (a JSON object,
// numbers kept as json.Number so large integers survive) unless the route
// takes it raw. limit > 0 caps what is read; the transport's own limit
// applies in any case. Data already set (gRPC, query parameters) is kept.
func readBody(req *logical.Request, info logical.RouteInfo, limit int64) error {
	if req.Body == nil || info.RawBody {
		return nil
	}
	body := req.Body
	req.Body = nil
	if limit > 0 {
		body = io.LimitReader(body, limit+1)
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		if errors.Is(err, logical.ErrRequestTooLarge) {
			return err
		}
		return fmt.Errorf("%w: error reading the request body", logical.ErrInvalidRequest)
	}
	if limit > 0 && int64(len(raw)) > limit {
		return fmt.Errorf("%w: at most %d bytes on an unauthenticated path", logical.ErrRequestTooLarge, limit)
	}
	data, err := logical.DecodeData(raw)
	if err != nil {
		return err
	}
	if req.Data == nil {
		req.Data = data
	}
	return nil
}
