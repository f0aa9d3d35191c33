package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/client"
)

func TestResponseError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int
		body       string
		wantErrors []string
		is         error
	}{
		{"permission denied", 403, `{"errors":["permission denied"]}`, []string{"permission denied"}, client.ErrPermissionDenied},
		{"not found empty list", 404, `{"errors":[]}`, []string{}, client.ErrNotFound},
		{"bad request", 400, `{"errors":["check-and-set parameter did not match the current version"]}`,
			[]string{"check-and-set parameter did not match the current version"}, client.ErrInvalidRequest},
		{"sealed", 503, `{"errors":["Vault is sealed"]}`, []string{"Vault is sealed"}, client.ErrUnavailable},
		{"html proxy page", 502, "<html>bad gateway</html>", []string{"<html>bad gateway</html>"}, nil},
		{"empty body", 500, "", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeVault(t, tt.status, tt.body)
			_, err := f.client(t).Read(context.Background(), "secret/x", nil)
			var re *client.ResponseError
			if !errors.As(err, &re) {
				t.Fatalf("error %v is not a *ResponseError", err)
			}
			if re.StatusCode != tt.status || !reflect.DeepEqual(re.Errors, tt.wantErrors) {
				t.Errorf("got %d %#v, want %d %#v", re.StatusCode, re.Errors, tt.status, tt.wantErrors)
			}
			if re.Method != "GET" || re.Path != "/v1/secret/x" {
				t.Errorf("got %s %s", re.Method, re.Path)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
			for _, other := range []error{client.ErrNotFound, client.ErrPermissionDenied, client.ErrUnavailable, client.ErrInvalidRequest} {
				if other != tt.is && errors.Is(err, other) {
					t.Errorf("error also matches %v", other)
				}
			}
			if strings.Contains(err.Error(), "s.testtoken") {
				t.Errorf("error message leaks the token: %v", err)
			}
		})
	}
}

func TestWrappedHelperErrorsKeepType(t *testing.T) {
	t.Parallel()
	f := newFakeVault(t, 404, `{"errors":[]}`)
	_, err := f.client(t).KV("secret").Get(context.Background(), "missing")
	if !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("kv get on 404: %v does not match ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), "secret/missing") {
		t.Errorf("error lacks the path context: %v", err)
	}
}

func TestHealthAcceptsDescriptiveCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  int
		body    string
		want    client.HealthResponse
		wantErr bool
	}{
		{"active", 200, `{"initialized":true,"sealed":false,"standby":false,"version":"1"}`,
			client.HealthResponse{Initialized: true, Version: "1"}, false},
		{"standby 429", 429, `{"initialized":true,"sealed":false,"standby":true}`,
			client.HealthResponse{Initialized: true, Standby: true}, false},
		{"sealed 503", 503, `{"initialized":true,"sealed":true}`,
			client.HealthResponse{Initialized: true, Sealed: true}, false},
		{"uninitialized 501", 501, `{"initialized":false,"sealed":true}`,
			client.HealthResponse{Sealed: true}, false},
		{"overridden code 299", 299, `{"initialized":false,"sealed":true}`,
			client.HealthResponse{Sealed: true}, false},
		{"real failure", 500, `{"errors":["boom"]}`, client.HealthResponse{}, true},
		{"503 without health body", 503, `{"errors":["no leader"]}`, client.HealthResponse{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeVault(t, tt.status, tt.body)
			h, err := f.client(t).Sys().Health(context.Background())
			if tt.wantErr {
				if err == nil {
					t.Fatal("want error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Health: %v", err)
			}
			if *h != tt.want {
				t.Errorf("got %+v, want %+v", *h, tt.want)
			}
			r := f.last(t)
			if !strings.Contains(r.Query, "sealedcode=299") || !strings.Contains(r.Query, "standbycode=299") {
				t.Errorf("query %q lacks the status overrides", r.Query)
			}
		})
	}
}

func TestPathHandling(t *testing.T) {
	t.Parallel()
	f := newFakeVault(t, 204, "")
	c := f.client(t)
	ctx := context.Background()
	if _, err := c.Write(ctx, "secret/data/a b%c?d", map[string]any{}); err != nil {
		t.Fatalf("write: %v", err)
	}
	if r := f.last(t); r.Path != "/v1/secret/data/a b%c?d" || r.RawPath != "/v1/secret/data/a%20b%25c%3Fd" || r.Query != "" {
		t.Errorf("path = %q raw %q query %q", r.Path, r.RawPath, r.Query)
	}
	for _, bad := range []string{"", "/", "secret/../sys/seal", "secret/./x"} {
		if _, err := c.Read(ctx, bad, nil); !errors.Is(err, client.ErrInvalidArgument) {
			t.Errorf("Read(%q) = %v, want ErrInvalidArgument", bad, err)
		}
	}
	if err := c.KV("secret").Undelete(ctx, "x"); !errors.Is(err, client.ErrInvalidArgument) {
		t.Errorf("Undelete without versions = %v", err)
	}
	if err := c.KV("secret").Destroy(ctx, "x", 0); !errors.Is(err, client.ErrInvalidArgument) {
		t.Errorf("Destroy version 0 = %v", err)
	}
}

func TestJSONNumbersKept(t *testing.T) {
	t.Parallel()
	f := newFakeVault(t, 200, `{"data":{"big":12345678901234567890,"f":1.5}}`)
	s, err := f.client(t).Read(context.Background(), "x/y", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Data["big"]; got != json.Number("12345678901234567890") {
		t.Errorf("big = %#v, want the exact json.Number", got)
	}
}

func TestResponseTooLarge(t *testing.T) {
	t.Parallel()
	f := newFakeVault(t, 200, `{"data":{"v":"`+strings.Repeat("x", 2000)+`"}}`)
	_, err := f.client(t, client.WithMaxResponseBytes(1000)).Read(context.Background(), "x/y", nil)
	if !errors.Is(err, client.ErrResponseTooLarge) {
		t.Fatalf("err = %v, want ErrResponseTooLarge", err)
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // hang until the client gives up
	}))
	t.Cleanup(srv.Close)
	c, err := client.New(client.WithEnv(func(string) string { return "" }), client.WithAddress(srv.URL),
		client.WithTimeout(50*time.Millisecond), noRetry)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Read(context.Background(), "secret/x", nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Read(ctx, "secret/x", nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ctx: err = %v", err)
	}
}
