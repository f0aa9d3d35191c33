package raft

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestHCLoggerBridge(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h := newHCLogger(l, "raft").Named("net").With("peer", "n2")
	if h.IsInfo() || !h.IsWarn() || h.GetLevel() != hclog.Warn {
		t.Fatalf("levels: info=%v warn=%v level=%v", h.IsInfo(), h.IsWarn(), h.GetLevel())
	}
	h.Info("dropped")
	h.Warn("kept", "k", "v")
	h.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Error}).Print("std")
	out := buf.String()
	tests := []struct {
		name, want string
		present    bool
	}{
		{"below level dropped", "dropped", false},
		{"message", "msg=kept", true},
		{"args", "k=v", true},
		{"implied args", "peer=n2", true},
		{"name", "component=raft.net", true},
		{"standard logger", "msg=std", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if strings.Contains(out, tc.want) != tc.present {
				t.Fatalf("output %q: contains %q = %v", out, tc.want, !tc.present)
			}
		})
	}
	if got := newHCLogger(nil, "x"); got.IsError() {
		t.Fatal("nil slog logger should discard")
	}
}
