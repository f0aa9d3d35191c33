package dbtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func connect(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var one int
	return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
}

func TestStartPostgres(t *testing.T) {
	pg := StartPostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	tests := []struct {
		name    string
		url     string
		wantErr bool
	}{
		{"superuser password", pg.URL(), false},
		{"wrong password", pg.URLFor(pg.SuperUser(), pg.Password()+"x"), true},
		{"empty password", pg.URLFor(pg.SuperUser(), ""), true},
		{"unknown user", pg.URLFor("nobody", pg.Password()), true},
		{"template url filled", strings.NewReplacer("{{username}}", pg.SuperUser(),
			"{{password}}", pg.Password()).Replace(pg.TemplateURL()), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := connect(ctx, tt.url)
			if (err != nil) != tt.wantErr {
				t.Fatalf("connect: err = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
	if !strings.HasPrefix(pg.Addr(), "127.0.0.1:") {
		t.Errorf("Addr = %q, want 127.0.0.1:port", pg.Addr())
	}
}

func TestStopStart(t *testing.T) {
	pg := StartPostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	conn, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	pg.Stop(t)
	pg.Stop(t) // no-op
	if err := connect(ctx, pg.URL()); err == nil {
		t.Fatal("connected to a stopped server")
	}
	if err := conn.Ping(ctx); err == nil {
		t.Fatal("session survived pg_ctl stop -m fast")
	}

	pg.Start(t)
	pg.Start(t) // no-op
	if err := connect(ctx, pg.URL()); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}

func TestFindBinDir(t *testing.T) {
	notFound := func(string) (string, error) { return "", errors.New("not found") }

	fake := t.TempDir()
	good := filepath.Join(fake, "15", "bin")
	older := filepath.Join(fake, "9", "bin")
	partial := filepath.Join(fake, "16", "bin")
	for _, d := range []string{good, older} {
		for _, b := range serverBinaries {
			writeExe(t, filepath.Join(d, b))
		}
	}
	writeExe(t, filepath.Join(partial, "initdb")) // no pg_ctl: unusable

	tests := []struct {
		name     string
		globs    []string
		lookPath func(string) (string, error)
		want     string
		wantErr  bool
	}{
		{"missing binaries name the package", []string{filepath.Join(fake, "none", "*")}, notFound, "", true},
		{"highest complete version wins", []string{filepath.Join(fake, "*", "bin")}, notFound, good, false},
		{"PATH fallback", nil, func(string) (string, error) { return filepath.Join(older, "initdb"), nil }, older, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := findBinDir(tt.globs, tt.lookPath)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "Debian package postgresql") {
					t.Fatalf("err = %v, want one naming the Debian package postgresql", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("findBinDir = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func writeExe(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}
