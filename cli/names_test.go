package cli

import (
	"testing"
)

func TestParseKVPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, mount, arg string
		allowRoot        bool
		want             kvTarget
		wantData         string
		wantErr          bool
	}{
		{name: "mount prefixed", arg: "secret/app/db", want: kvTarget{"secret", "app/db"}, wantData: "secret/data/app/db"},
		{name: "slashes trimmed", arg: "/secret/app/db/", want: kvTarget{"secret", "app/db"}, wantData: "secret/data/app/db"},
		{name: "mount flag", mount: "team/kv/", arg: "app/db", want: kvTarget{"team/kv", "app/db"}, wantData: "team/kv/data/app/db"},
		{name: "dotted name", arg: "secret/app/db.password", want: kvTarget{"secret", "app/db.password"}, wantData: "secret/data/app/db.password"},
		{name: "root for list", arg: "secret", allowRoot: true, want: kvTarget{"secret", ""}, wantData: "secret/data/"},
		{name: "root refused", arg: "secret", wantErr: true},
		{name: "empty", arg: "", allowRoot: true, wantErr: true},
		{name: "dotdot", arg: "secret/a/../b", wantErr: true},
		{name: "double slash", arg: "secret/a//b", wantErr: true},
		{name: "control char", arg: "secret/a\nb", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseKVPath(tt.mount, tt.arg, tt.allowRoot)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("want error, got %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || got.api("data") != tt.wantData {
				t.Errorf("got %+v (%s), want %+v (%s)", got, got.api("data"), tt.want, tt.wantData)
			}
		})
	}
}

func TestValidateName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ok   bool
	}{
		{"db.password", true},
		{"app/db.password", true},
		{"app/prod/api-key_2", true},
		{"", false},
		{"/abs", false},
		{"trailing/", false},
		{"a//b", false},
		{"a/./b", false},
		{"../x", false},
		{"tab\there", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := validateName(tt.name); (err == nil) != tt.ok {
				t.Errorf("validateName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
			}
		})
	}
}

func TestFolderPrefix(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{{"", ""}, {"/", ""}, {"app", "app/"}, {"app/", "app/"}, {"/a/b/", "a/b/"}}
	for _, tt := range tests {
		got, err := folderPrefix(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("folderPrefix(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := folderPrefix("a/../b"); err == nil {
		t.Error("folderPrefix accepted ..")
	}
}

func TestHumanDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   int
		want string
	}{{0, "0s"}, {10, "10s"}, {60, "1m"}, {90, "1m30s"}, {3600, "1h"}, {3660, "1h1m"}, {3601, "1h0m1s"}, {2764800, "768h"}}
	for _, tt := range tests {
		if got := humanDuration(tt.in); got != tt.want {
			t.Errorf("humanDuration(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
