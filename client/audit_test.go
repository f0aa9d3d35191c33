package client_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/client"
)

func TestAuditShapes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	der, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	sum := sha256.Sum256([]byte("manifest"))
	sig := ed25519.Sign(priv, sum[:])
	keyReply, _ := json.Marshal(map[string]any{"data": map[string]any{"public_key": pemKey, "key_id": "0011223344556677", "algorithm": "ed25519"}})
	runShapes(t, []shapeCase{
		{
			name: "list audit devices", status: 200,
			reply: `{"file/":{"type":"file"},"data":{"file/":{"type":"file","description":"main","options":{"file_path":"/var/log/a.log"},"local":false,"path":"file/"},` +
				`"sock/":{"type":"socket","options":{"address":"127.0.0.1:9"},"local":true,"path":"sock/"}}}`,
			call: func(c *client.Client) (any, error) {
				m, err := c.Sys().ListAudit(ctx)
				if err != nil {
					return nil, err
				}
				return []any{len(m), m["file/"].Options["file_path"], m["file/"].Description, m["sock/"].Local, m["sock/"].Path}, nil
			},
			method: "GET", path: "/v1/sys/audit", want: []any{2, "/var/log/a.log", "main", true, "sock/"},
		},
		{
			name: "list no audit device", status: 200, reply: `{"data":{}}`,
			call: func(c *client.Client) (any, error) {
				m, err := c.Sys().ListAudit(ctx)
				return len(m), err
			},
			method: "GET", path: "/v1/sys/audit", want: 0,
		},
		{
			name: "enable audit device", status: 204,
			call: func(c *client.Client) (any, error) {
				return nil, c.Sys().EnableAudit(ctx, "/file/", &client.AuditInput{Type: "file", Description: "main",
					Options: map[string]string{"file_path": "/var/log/a.log"}, Local: true})
			},
			method: "PUT", path: "/v1/sys/audit/file",
			req: `{"type":"file","description":"main","options":{"file_path":"/var/log/a.log"},"local":true}`,
		},
		{
			name: "disable audit device", status: 204,
			call:   func(c *client.Client) (any, error) { return nil, c.Sys().DisableAudit(ctx, "file/") },
			method: "DELETE", path: "/v1/sys/audit/file",
		},
		{
			name: "audit hash", status: 200, reply: `{"data":{"hash":"hmac-sha256:abcd","generation":3}}`,
			call: func(c *client.Client) (any, error) {
				h, err := c.Sys().AuditHash(ctx, "file/", "s3cret")
				return h, err
			},
			method: "PUT", path: "/v1/sys/audit-hash/file", req: `{"input":"s3cret"}`,
			want: &client.AuditHashOutput{Hash: "hmac-sha256:abcd", Generation: 3},
		},
		{
			name: "audit hash of a generation", status: 200, reply: `{"data":{"hash":"hmac-sha256:ef","generation":0}}`,
			call: func(c *client.Client) (any, error) {
				h, err := c.Sys().AuditHashGeneration(ctx, "file", "s3cret", 0)
				return h, err
			},
			method: "PUT", path: "/v1/sys/audit-hash/file", req: `{"input":"s3cret","generation":0}`,
			want: &client.AuditHashOutput{Hash: "hmac-sha256:ef", Generation: 0},
		},
		{
			name: "audit public key", status: 200, reply: string(keyReply),
			call: func(c *client.Client) (any, error) {
				k, err := c.Sys().AuditPublicKey(ctx, "file/")
				if err != nil {
					return nil, err
				}
				pub, err := k.Ed25519()
				return []any{k.KeyID, k.Algorithm, pub.Equal(priv.Public())}, err
			},
			method: "GET", path: "/v1/sys/audit/file/public-key", want: []any{"0011223344556677", "ed25519", true},
		},
		{
			name: "sign manifest", status: 200,
			reply: `{"data":{"signature":"` + base64.StdEncoding.EncodeToString(sig) + `","key_id":"0011223344556677"}}`,
			call: func(c *client.Client) (any, error) {
				s, err := c.Sys().SignAuditManifest(ctx, "file/", sum)
				if err != nil {
					return nil, err
				}
				return []any{ed25519.Verify(priv.Public().(ed25519.PublicKey), sum[:], s.Signature), s.KeyID}, nil
			},
			method: "PUT", path: "/v1/sys/audit/file/sign-manifest",
			req:  `{"manifest_sha256":"` + hex.EncodeToString(sum[:]) + `"}`,
			want: []any{true, "0011223344556677"},
		},
	})
}

func TestAuditErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name   string
		status int
		reply  string
		call   func(*client.Sys) error
		target error
		sent   bool
	}{
		{"enable without type", 204, "", func(s *client.Sys) error { return s.EnableAudit(ctx, "file", &client.AuditInput{}) },
			client.ErrInvalidArgument, false},
		{"enable without path", 204, "", func(s *client.Sys) error { return s.EnableAudit(ctx, "/", &client.AuditInput{Type: "file"}) },
			client.ErrInvalidArgument, false},
		{"disable without path", 204, "", func(s *client.Sys) error { return s.DisableAudit(ctx, "") }, client.ErrInvalidArgument, false},
		{"hash of a missing device", 400, `{"errors":["no audit device at nope/"]}`,
			func(s *client.Sys) error { _, err := s.AuditHash(ctx, "nope", "SENTINEL-INPUT"); return err }, client.ErrInvalidRequest, true},
		{"hash without hash", 200, `{"data":{}}`,
			func(s *client.Sys) error { _, err := s.AuditHash(ctx, "file", "SENTINEL-INPUT"); return err }, nil, true},
		{"public key missing", 404, `{"errors":[]}`,
			func(s *client.Sys) error { _, err := s.AuditPublicKey(ctx, "file"); return err }, client.ErrNotFound, true},
		{"signature not base64", 200, `{"data":{"signature":"%%%","key_id":"x"}}`,
			func(s *client.Sys) error { _, err := s.SignAuditManifest(ctx, "file", [32]byte{}); return err }, nil, true},
		{"signature short", 200, `{"data":{"signature":"AAAA","key_id":"x"}}`,
			func(s *client.Sys) error { _, err := s.SignAuditManifest(ctx, "file", [32]byte{}); return err }, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeVault(t, tt.status, tt.reply)
			err := tt.call(f.client(t).Sys())
			if err == nil || tt.target != nil && !errors.Is(err, tt.target) {
				t.Fatalf("err = %v, want %v", err, tt.target)
			}
			if strings.Contains(err.Error(), "SENTINEL-INPUT") {
				t.Errorf("error quotes the input: %v", err)
			}
			f.mu.Lock()
			sent := len(f.reqs) > 0
			f.mu.Unlock()
			if sent != tt.sent {
				t.Errorf("request sent = %v, want %v", sent, tt.sent)
			}
		})
	}
	if _, err := (&client.AuditPublicKey{PublicKey: "nope"}).Ed25519(); err == nil {
		t.Error("Ed25519 accepted a non-PEM key")
	}
}
