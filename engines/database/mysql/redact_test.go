package mysql

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
)

func TestRedact(t *testing.T) {
	const pw = `s3cr'et\pw`
	server := &mysql.MySQLError{Number: 1064, Message: "You have an error in your SQL syntax; " +
		"check the manual for the right syntax to use near 'BYE 's3cr''et\\\\p' at line 1"}
	tests := []struct {
		name      string
		err       error
		statement bool
		want      string
	}{
		{"nothing to remove", errors.New("plain"), false, "plain"},
		{"raw secret", fmt.Errorf("wrap: %s here", pw), false, "wrap: [redacted] here"},
		{"SQL-escaped secret", fmt.Errorf("x 's3cr''et\\\\pw' y"), false, "x '[redacted]' y"},
		{"URL-escaped secret", fmt.Errorf("u=s3cr%%27et%%5Cpw"), false, "u=[redacted]"},
		{"truncated near fragment", server, true,
			"Error 1064: You have an error in your SQL syntax; check the manual for the right syntax to use near [redacted] at line 1"},
		{"near fragment kept outside statements", errors.New("near 'x' at line 2"), false, "near 'x' at line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := redact(tt.err, tt.statement, pw, "")
			if got.Error() != tt.want {
				t.Errorf("redact = %q, want %q", got.Error(), tt.want)
			}
			if got.Error() == tt.err.Error() && got != tt.err {
				t.Error("an error with nothing to remove was replaced")
			}
		})
	}
	if redact(nil, true, pw) != nil {
		t.Error("redact(nil) != nil")
	}
}

func TestRedactedErrorMatches(t *testing.T) {
	const pw = "hunter22"
	err := redact(fmt.Errorf("query with %s: %w", pw, context.DeadlineExceeded), false, pw)
	if strings.Contains(err.Error(), pw) {
		t.Fatalf("not redacted: %v", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Error("redacted error no longer matches its cause")
	}
	if errors.Unwrap(err) != nil {
		t.Error("redacted error unwraps to the text that holds the secret")
	}
}
