package api

import (
	"net/http"
	"strings"

	"github.com/secretumvault/secretumvault/engines/logical"
)

const raftPrefix = "/v1/sys/storage/raft/"

// serveSnapshot answers the two binary sys/storage/raft endpoints, whose
// bodies are snapshot archives rather than JSON: the request body (a
// restore) is streamed to core, never buffered whole, and a save streams
// core's answer to the client. Both run through core's pipeline like
// every other request. It reports whether it handled r.
func (s *Server) serveSnapshot(w http.ResponseWriter, r *http.Request, call *callInfo) bool {
	if !isSnapshotPath(r.URL.Path) {
		return false
	}
	req := &logical.Request{
		ID:          call.requestID,
		Path:        strings.TrimPrefix(r.URL.Path, "/v1/"),
		ClientToken: headerToken(r.Header),
		Connection:  call.rest.connection(),
	}
	switch r.Method {
	case http.MethodGet:
		req.Operation = logical.ReadOperation
	case http.MethodPut, http.MethodPost:
		req.Operation, req.Body = logical.UpdateOperation, r.Body
	default:
		writeError(w, newStatusError(http.StatusMethodNotAllowed, nil))
		return true
	}
	call.operation, call.mount = string(req.Operation), sysMount
	sw := &snapshotWriter{w: w}
	if req.Operation == logical.ReadOperation {
		req.ResponseWriter = sw
	}
	_, err := s.core.HandleRequest(r.Context(), req)
	switch {
	case err != nil && sw.started:
		s.log.ErrorContext(r.Context(), "api: snapshot stream failed mid-way; aborting the response", "request_id", req.ID, "error", err)
		panic(http.ErrAbortHandler)
	case err != nil:
		writeError(w, toStatusError(err)) // logged with the request id by the REST handler
	case !sw.started:
		w.WriteHeader(http.StatusNoContent)
	}
	return true
}

// snapshotWriter sets the headers on the first byte, so an error before
// any data can still become a proper error response.
type snapshotWriter struct {
	w       http.ResponseWriter
	started bool
}

func (sw *snapshotWriter) Write(p []byte) (int, error) {
	if !sw.started {
		sw.started = true
		sw.w.Header().Set("Content-Type", "application/octet-stream")
		sw.w.Header().Set("Content-Disposition", `attachment; filename="raft.snap"`)
		sw.w.WriteHeader(http.StatusOK)
	}
	return sw.w.Write(p)
}

// isSnapshotUpload reports a snapshot restore, whose body is exempt from
// the JSON body size limit.
func isSnapshotUpload(r *http.Request) bool {
	return r.Method != http.MethodGet && isSnapshotPath(r.URL.Path)
}

// isSnapshotPath reports the two binary snapshot endpoints.
func isSnapshotPath(urlPath string) bool {
	return urlPath == raftPrefix+"snapshot" || urlPath == raftPrefix+"snapshot-force"
}
