package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// errBadJSON is what a client sees for a body that is not the JSON expected.
var errBadJSON = errors.New(msgBadJSON)

// vaultMarshaler is the gateway's only marshaler. Responses: a
// google.api.HttpBody is written as is (Logical answers are pre-rendered
// Vault envelopes); other messages in Vault's JSON shape (marshalVaultJSON).
// Requests: a bytes body field receives the raw JSON body (validated by the
// service); messages are decoded with protojson, ignoring unknown fields as
// Vault does.
type vaultMarshaler struct{}

var _ runtime.Marshaler = vaultMarshaler{}

// ContentType implements runtime.Marshaler.
func (vaultMarshaler) ContentType(v any) string {
	if hb, ok := v.(*httpbody.HttpBody); ok && hb.GetContentType() != "" {
		return hb.GetContentType()
	}
	return "application/json"
}

// Marshal implements runtime.Marshaler.
func (vaultMarshaler) Marshal(v any) ([]byte, error) {
	switch x := v.(type) {
	case *httpbody.HttpBody:
		return x.GetData(), nil
	case proto.Message:
		return marshalVaultJSON(x)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("marshal response: %w", err)
	}
	return append(raw, '\n'), nil
}

// Unmarshal implements runtime.Marshaler.
func (vaultMarshaler) Unmarshal(data []byte, v any) error { return decodeBody(data, v) }

// NewDecoder implements runtime.Marshaler. The body is read whole; a read
// error (e.g. the size limit) is returned as is.
func (vaultMarshaler) NewDecoder(r io.Reader) runtime.Decoder {
	return runtime.DecoderFunc(func(v any) error {
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		return decodeBody(data, v)
	})
}

// NewEncoder implements runtime.Marshaler.
func (m vaultMarshaler) NewEncoder(w io.Writer) runtime.Encoder {
	return runtime.EncoderFunc(func(v any) error {
		raw, err := m.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(raw)
		return err
	})
}

func decodeBody(data []byte, v any) error {
	data = bytes.TrimSpace(data)
	switch x := v.(type) {
	case *[]byte:
		if len(data) == 0 {
			*x = nil
			return nil
		}
		*x = data
		return nil
	case proto.Message:
		if len(data) == 0 {
			return nil
		}
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, x); err != nil {
			return errBadJSON
		}
		return nil
	}
	if len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return errBadJSON
	}
	return nil
}
