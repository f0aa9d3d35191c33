package client_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	vaultroottoken "github.com/hashicorp/vault/sdk/helper/roottoken"

	"github.com/secretumvault/secretumvault/client"
)

const (
	rekeyStatusBare = `{"nonce":"n1","started":true,"t":3,"n":5,"progress":1,"required":2,"pgp_fingerprints":null,"backup":false,"verification_required":false}`
	rekeyDoneBare   = `{"nonce":"n1","complete":true,"keys":["aa","bb"],"keys_base64":["qg==","uw=="],"pgp_fingerprints":null,"backup":false,"verification_required":true,"verification_nonce":"v1"}`
	verifyStatus    = `{"nonce":"v1","started":true,"t":3,"n":5,"progress":2}`
	rootStatusBare  = `{"nonce":"g1","started":true,"progress":0,"required":2,"complete":false,"encoded_token":"","encoded_root_token":"","pgp_fingerprint":"","otp":"otp-generated","otp_length":36}`
)

// envelope wraps a bare answer as OpenBao's logical paths answer.
func envelope(data string) string {
	return `{"request_id":"r","lease_id":"","renewable":false,"lease_duration":0,"data":` + data + `,"wrap_info":null,"warnings":null,"auth":null}`
}

func TestCeremonyRequestShapes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bao := client.WithRotateKeys()
	status := func(s *client.RekeyStatus, err error) (any, error) {
		if err != nil {
			return nil, err
		}
		return *s, nil
	}
	wantStatus := client.RekeyStatus{Nonce: "n1", Started: true, T: 3, N: 5, Progress: 1, Required: 2}
	runShapes(t, []shapeCase{
		{
			name: "rekey status", status: 200, reply: rekeyStatusBare,
			call:   func(c *client.Client) (any, error) { return status(c.Sys().RekeyStatus(ctx)) },
			method: "GET", path: "/v1/sys/rekey/init", want: wantStatus,
		},
		{
			name: "rotate-keys status in the envelope", status: 200, reply: envelope(rekeyStatusBare),
			call:   func(c *client.Client) (any, error) { return status(c.Sys().RekeyStatus(ctx, bao)) },
			method: "GET", path: "/v1/sys/rotate/root/init", want: wantStatus,
		},
		{
			name: "rekey init", status: 200, reply: rekeyStatusBare,
			call: func(c *client.Client) (any, error) {
				return status(c.Sys().RekeyInit(ctx, &client.RekeyInitRequest{SecretShares: 5, SecretThreshold: 3}))
			},
			method: "PUT", path: "/v1/sys/rekey/init",
			req: `{"secret_shares":5,"secret_threshold":3,"require_verification":false}`, want: wantStatus,
		},
		{
			name: "rotate-keys init with verification", status: 200, reply: envelope(rekeyStatusBare),
			call: func(c *client.Client) (any, error) {
				return status(c.Sys().RekeyInit(ctx, &client.RekeyInitRequest{SecretShares: 5, SecretThreshold: 3, RequireVerification: true}, bao))
			},
			method: "PUT", path: "/v1/sys/rotate/root/init",
			req: `{"secret_shares":5,"secret_threshold":3,"require_verification":true}`, want: wantStatus,
		},
		{
			name: "rekey cancel", status: 204,
			call:   func(c *client.Client) (any, error) { return nil, c.Sys().RekeyCancel(ctx) },
			method: "DELETE", path: "/v1/sys/rekey/init",
		},
		{
			name: "rotate-keys cancel", status: 204,
			call:   func(c *client.Client) (any, error) { return nil, c.Sys().RekeyCancel(ctx, bao) },
			method: "DELETE", path: "/v1/sys/rotate/root/init",
		},
		{
			name: "rekey update in progress", status: 200, reply: rekeyStatusBare,
			call: func(c *client.Client) (any, error) {
				r, err := c.Sys().RekeyUpdate(ctx, "k1", "n1")
				if err != nil {
					return nil, err
				}
				return []any{r.Complete, r.Progress, r.Required, r.Nonce, len(r.Keys)}, nil
			},
			method: "PUT", path: "/v1/sys/rekey/update", req: `{"key":"k1","nonce":"n1"}`,
			want: []any{false, 1, 2, "n1", 0},
		},
		{
			name: "rekey update complete", status: 200, reply: rekeyDoneBare,
			call: func(c *client.Client) (any, error) {
				r, err := c.Sys().RekeyUpdate(ctx, "k2", "n1")
				if err != nil {
					return nil, err
				}
				return []any{r.Complete, r.Keys, r.KeysB64, r.VerificationRequired, r.VerificationNonce}, nil
			},
			method: "PUT", path: "/v1/sys/rekey/update", req: `{"key":"k2","nonce":"n1"}`,
			want: []any{true, []string{"aa", "bb"}, []string{"qg==", "uw=="}, true, "v1"},
		},
		{
			name: "rotate-keys update complete", status: 200, reply: envelope(rekeyDoneBare),
			call: func(c *client.Client) (any, error) {
				r, err := c.Sys().RekeyUpdate(ctx, "k2", "n1", bao)
				if err != nil {
					return nil, err
				}
				return []any{r.Complete, r.KeysB64}, nil
			},
			method: "PUT", path: "/v1/sys/rotate/root/update", req: `{"key":"k2","nonce":"n1"}`,
			want: []any{true, []string{"qg==", "uw=="}},
		},
		{
			name: "rekey verify status", status: 200, reply: verifyStatus,
			call: func(c *client.Client) (any, error) {
				v, err := c.Sys().RekeyVerifyStatus(ctx)
				if err != nil {
					return nil, err
				}
				return *v, nil
			},
			method: "GET", path: "/v1/sys/rekey/verify",
			want: client.RekeyVerifyStatus{Nonce: "v1", Started: true, T: 3, N: 5, Progress: 2},
		},
		{
			name: "rotate-keys verify update", status: 200, reply: envelope(`{"nonce":"v1","complete":true}`),
			call: func(c *client.Client) (any, error) {
				v, err := c.Sys().RekeyVerifyUpdate(ctx, "new1", "v1", bao)
				if err != nil {
					return nil, err
				}
				return *v, nil
			},
			method: "PUT", path: "/v1/sys/rotate/root/verify", req: `{"key":"new1","nonce":"v1"}`,
			want: client.RekeyVerifyUpdateResponse{Nonce: "v1", Complete: true},
		},
		{
			name: "rekey verify restart", status: 200, reply: verifyStatus,
			call:   func(c *client.Client) (any, error) { return nil, c.Sys().RekeyVerifyRestart(ctx) },
			method: "DELETE", path: "/v1/sys/rekey/verify",
		},
		{
			name: "generate-root status", status: 200, reply: rootStatusBare,
			call: func(c *client.Client) (any, error) {
				s, err := c.Sys().GenerateRootStatus(ctx)
				if err != nil {
					return nil, err
				}
				return []any{s.Started, s.Nonce, s.Required, s.OTPLength}, nil
			},
			method: "GET", path: "/v1/sys/generate-root/attempt", want: []any{true, "g1", 2, 36},
		},
		{
			name: "generate-root init server otp", status: 200, reply: rootStatusBare,
			call: func(c *client.Client) (any, error) {
				s, err := c.Sys().GenerateRootInit(ctx, "")
				if err != nil {
					return nil, err
				}
				return s.OTP, nil
			},
			method: "PUT", path: "/v1/sys/generate-root/attempt", req: `{}`, want: "otp-generated",
		},
		{
			name: "generate-root init own otp", status: 200, reply: rootStatusBare,
			call: func(c *client.Client) (any, error) {
				_, err := c.Sys().GenerateRootInit(ctx, "my-otp")
				return nil, err
			},
			method: "PUT", path: "/v1/sys/generate-root/attempt", req: `{"otp":"my-otp"}`,
		},
		{
			name: "generate-root update complete", status: 200,
			reply: `{"nonce":"g1","started":true,"progress":2,"required":2,"complete":true,"encoded_token":"ZW5j","encoded_root_token":"ZW5j","pgp_fingerprint":"","otp":"","otp_length":36}`,
			call: func(c *client.Client) (any, error) {
				s, err := c.Sys().GenerateRootUpdate(ctx, "k1", "g1")
				if err != nil {
					return nil, err
				}
				return []any{s.Complete, s.EncodedToken, s.Progress}, nil
			},
			method: "PUT", path: "/v1/sys/generate-root/update", req: `{"key":"k1","nonce":"g1"}`,
			want: []any{true, "ZW5j", 2},
		},
		{
			name: "generate-root cancel", status: 204,
			call:   func(c *client.Client) (any, error) { return nil, c.Sys().GenerateRootCancel(ctx) },
			method: "DELETE", path: "/v1/sys/generate-root/attempt",
		},
		{
			name: "rotate", status: 204,
			call:   func(c *client.Client) (any, error) { return nil, c.Sys().Rotate(ctx) },
			method: "PUT", path: "/v1/sys/rotate",
		},
		{
			name: "rotate root key", status: 204,
			call:   func(c *client.Client) (any, error) { return nil, c.Sys().RotateRoot(ctx) },
			method: "PUT", path: "/v1/sys/rotate/root",
		},
		{
			name: "key status", status: 200,
			reply: envelope(`{"term":3,"install_time":"2024-01-02T03:04:05.123456789Z","encryptions":42}`),
			call: func(c *client.Client) (any, error) {
				k, err := c.Sys().KeyStatus(ctx)
				if err != nil {
					return nil, err
				}
				return *k, nil
			},
			method: "GET", path: "/v1/sys/key-status",
			want: client.KeyStatus{Term: 3, InstallTime: time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC), Encryptions: 42},
		},
		{
			name: "rotate config seconds", status: 200,
			reply: envelope(`{"max_operations":3865470566,"interval":86400,"enabled":true}`),
			call: func(c *client.Client) (any, error) {
				r, err := c.Sys().RotateConfig(ctx)
				if err != nil {
					return nil, err
				}
				return *r, nil
			},
			method: "GET", path: "/v1/sys/rotate/config",
			want: client.RotateConfig{MaxOperations: 3865470566, Interval: 24 * time.Hour, Enabled: true},
		},
		{
			name: "rotate config duration string", status: 200,
			reply: envelope(`{"max_operations":0,"interval":"48h","enabled":false}`),
			call: func(c *client.Client) (any, error) {
				r, err := c.Sys().RotateConfig(ctx)
				if err != nil {
					return nil, err
				}
				return *r, nil
			},
			method: "GET", path: "/v1/sys/rotate/config", want: client.RotateConfig{Interval: 48 * time.Hour},
		},
		{
			name: "set rotate config", status: 204,
			call: func(c *client.Client) (any, error) {
				return nil, c.Sys().SetRotateConfig(ctx, &client.RotateConfig{MaxOperations: 1000, Interval: 36 * time.Hour, Enabled: true})
			},
			method: "PUT", path: "/v1/sys/rotate/config", req: `{"max_operations":1000,"interval":129600,"enabled":true}`,
		},
	})
}

func TestCeremonyErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name     string
		status   int
		reply    string
		call     func(c *client.Client) error
		want     error  // errors.Is
		contains string // in the message
		sent     bool   // a request reached the server
	}{
		{name: "rekey init nil", call: func(c *client.Client) error {
			_, err := c.Sys().RekeyInit(ctx, nil)
			return err
		}, want: client.ErrInvalidArgument},
		{name: "rekey update empty key", call: func(c *client.Client) error {
			_, err := c.Sys().RekeyUpdate(ctx, "", "n1")
			return err
		}, want: client.ErrInvalidArgument, contains: "empty key share"},
		{name: "rekey verify empty nonce", call: func(c *client.Client) error {
			_, err := c.Sys().RekeyVerifyUpdate(ctx, "k", "")
			return err
		}, want: client.ErrInvalidArgument, contains: "empty nonce"},
		{name: "generate-root update empty key", call: func(c *client.Client) error {
			_, err := c.Sys().GenerateRootUpdate(ctx, "", "g")
			return err
		}, want: client.ErrInvalidArgument},
		{name: "set rotate config nil", call: func(c *client.Client) error { return c.Sys().SetRotateConfig(ctx, nil) },
			want: client.ErrInvalidArgument},
		{name: "set rotate config negative", call: func(c *client.Client) error {
			return c.Sys().SetRotateConfig(ctx, &client.RotateConfig{Interval: -time.Hour})
		}, want: client.ErrInvalidArgument},
		{name: "rekey wrong nonce is a 400", status: 400, reply: `{"errors":["invalid nonce"]}`, sent: true,
			call: func(c *client.Client) error {
				_, err := c.Sys().RekeyUpdate(ctx, "k", "bad")
				return err
			}, want: client.ErrInvalidRequest, contains: "rekey update: client: PUT /v1/sys/rekey/update: 400 Bad Request: invalid nonce"},
		{name: "rotate-keys without a token is a 403", status: 403, reply: `{"errors":["permission denied"]}`, sent: true,
			call: func(c *client.Client) error {
				_, err := c.Sys().RekeyInit(ctx, &client.RekeyInitRequest{SecretShares: 1, SecretThreshold: 1}, client.WithRotateKeys())
				return err
			}, want: client.ErrPermissionDenied, contains: "rekey init:"},
		{name: "rotate-keys answer without data", status: 200, reply: rekeyStatusBare, sent: true,
			call: func(c *client.Client) error {
				_, err := c.Sys().RekeyStatus(ctx, client.WithRotateKeys())
				return err
			}, contains: "answer carries no data object"},
		{name: "generate-root not initialized", status: 400, reply: `{"errors":["server is not yet initialized"]}`, sent: true,
			call: func(c *client.Client) error {
				_, err := c.Sys().GenerateRootStatus(ctx)
				return err
			}, want: client.ErrInvalidRequest, contains: "generate-root status:"},
		{name: "rotate sealed", status: 503, reply: `{"errors":["Vault is sealed"]}`, sent: true,
			call: func(c *client.Client) error { return c.Sys().Rotate(ctx) }, want: client.ErrUnavailable, contains: "rotate:"},
		{name: "key status bad interval", status: 200, reply: envelope(`{"interval":"soon"}`), sent: true,
			call: func(c *client.Client) error {
				_, err := c.Sys().RotateConfig(ctx)
				return err
			}, want: client.ErrInvalidArgument, contains: "interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeVault(t, tt.status, tt.reply)
			err := tt.call(f.client(t))
			if err == nil {
				t.Fatal("no error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v does not match %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not contain %q", err, tt.contains)
			}
			f.mu.Lock()
			sent := len(f.reqs) > 0
			f.mu.Unlock()
			if sent != tt.sent {
				t.Errorf("request sent = %v, want %v", sent, tt.sent)
			}
		})
	}
}

func TestDecodeRootToken(t *testing.T) {
	t.Parallel()
	const token = "s.abcdefghijklmnopqrstuvwxyz0123ABCD" // 36 bytes, as a root token
	const otp = "0123456789abcdefghijklmnopqrstuvwxyz"
	encoded, err := vaultroottoken.EncodeToken(token, otp)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, encoded, otp, want string
		wantErr                  string
	}{
		{name: "vault's encoding", encoded: encoded, otp: otp, want: token},
		{name: "trailing newline from stdin", encoded: encoded + "\n", otp: otp, want: token},
		{name: "padded base64", encoded: base64.StdEncoding.EncodeToString(mustDecodeRaw(t, encoded)), otp: otp, want: token},
		{name: "wrong otp length", encoded: encoded, otp: otp[:35], wantErr: "not the OTP it was encoded with"},
		{name: "not base64", encoded: "!!!", otp: otp, wantErr: "not base64"},
		{name: "empty", encoded: "", otp: otp, wantErr: "both needed"},
		{name: "no otp", encoded: encoded, otp: "", wantErr: "both needed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := client.DecodeRootToken(tt.encoded, tt.otp)
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, client.ErrInvalidArgument) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want ErrInvalidArgument containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), otp) || (tt.encoded != "" && strings.Contains(err.Error(), tt.encoded)) {
					t.Fatalf("error leaks its input: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("DecodeRootToken = %q, %v; want %q", got, err, tt.want)
			}
			// Vault's own decoder agrees.
			if v, err := vaultroottoken.DecodeToken(strings.TrimSpace(tt.encoded), otp, len(otp)); err == nil && v != got {
				t.Fatalf("vault decodes %q, we %q", v, got)
			}
		})
	}
}

func mustDecodeRaw(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
