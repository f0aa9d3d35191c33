package audit_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/audit"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// syslogMsg is a parsed RFC 5424 message.
type syslogMsg struct {
	pri                          int
	time                         time.Time
	host, app, procID, msgID, sd string
	msg                          []byte
}

// syslogTimestamp is the TIMESTAMP a device writes: UTC, microseconds.
var syslogTimestamp = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$`)

// parseSyslog parses one message strictly (RFC 5424 section 6, with the
// device's TIMESTAMP precision and no structured data).
func parseSyslog(b []byte) (syslogMsg, error) {
	var m syslogMsg
	s := string(b)
	end := strings.IndexByte(s, '>')
	if !strings.HasPrefix(s, "<") || end < 2 || end > 4 {
		return m, errors.New("no PRI")
	}
	pri, err := strconv.Atoi(s[1:end])
	if err != nil || pri > 191 || (len(s[1:end]) > 1 && s[1] == '0') {
		return m, fmt.Errorf("bad PRI %q", s[1:end])
	}
	m.pri = pri
	s = s[end+1:]
	if !strings.HasPrefix(s, "1 ") {
		return m, errors.New("version is not 1")
	}
	fields := strings.SplitN(s[2:], " ", 7)
	if len(fields) != 7 {
		return m, errors.New("missing header fields")
	}
	limits := []int{0, 255, 48, 128, 32, 0} // TIMESTAMP, HOSTNAME, APP-NAME, PROCID, MSGID, SD
	for i, f := range fields[:6] {
		if f == "" || (limits[i] > 0 && len(f) > limits[i]) || strings.ContainsFunc(f, func(r rune) bool { return r < 33 || r > 126 }) {
			return m, fmt.Errorf("bad header field %d %q", i, f)
		}
	}
	if !syslogTimestamp.MatchString(fields[0]) {
		return m, fmt.Errorf("bad TIMESTAMP %q", fields[0])
	}
	if m.time, err = time.Parse(time.RFC3339Nano, fields[0]); err != nil {
		return m, err
	}
	m.host, m.app, m.procID, m.msgID, m.sd = fields[1], fields[2], fields[3], fields[4], fields[5]
	if m.sd != "-" {
		return m, fmt.Errorf("structured data %q", m.sd)
	}
	m.msg = []byte(fields[6])
	if bytes.HasPrefix(m.msg, []byte("\xef\xbb\xbf")) {
		return m, errors.New("MSG has a BOM")
	}
	return m, nil
}

// octetFrames splits a stream of "LEN SP MSG" frames; the stream must end
// at a frame boundary.
func octetFrames(data []byte) ([][]byte, error) {
	var out [][]byte
	for len(data) > 0 {
		sp := bytes.IndexByte(data, ' ')
		if sp < 1 || sp > 10 || data[0] == '0' {
			return nil, errors.New("bad frame length")
		}
		n, err := strconv.Atoi(string(data[:sp]))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad frame length %q", data[:sp])
		}
		data = data[sp+1:]
		if n > len(data) {
			return nil, fmt.Errorf("frame of %d octets, %d left", n, len(data))
		}
		out = append(out, data[:n])
		data = data[n:]
	}
	return out, nil
}

// syslogFrames returns the messages a peer received, by framing.
func syslogFrames(t *testing.T, p *peer) [][]byte {
	t.Helper()
	if isDatagram(p.network) {
		return p.messages()
	}
	var out [][]byte
	for _, data := range p.messages() {
		if p.network == "tcp" {
			frames, err := octetFrames(data)
			if err != nil {
				t.Fatalf("octet counting: %v", err)
			}
			out = append(out, frames...)
			continue
		}
		if len(data) > 0 && data[len(data)-1] != '\n' {
			t.Fatal("unix stream does not end with a newline")
		}
		out = append(out, bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))...)
	}
	return out
}

func TestSyslogDeviceMessages(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		network  string // "" is the local daemon
		so       audit.SyslogOptions
		pri      int
		app, hos string
	}{
		{"tcp default AUTH", "tcp", audit.SyslogOptions{}, 4*8 + 6, "secretum-vault", host},
		{"udp LOCAL0", "udp", audit.SyslogOptions{Facility: "LOCAL0", Tag: "vault-a", Hostname: "node-1"}, 16*8 + 6, "vault-a", "node-1"},
		{"unix daemon", "unix", audit.SyslogOptions{Facility: "daemon", Tag: "sv"}, 3*8 + 6, "sv", host},
		{"unixgram AUTHPRIV", "unixgram", audit.SyslogOptions{Facility: "AuthPriv"}, 10*8 + 6, "secretum-vault", host},
		{"local LOCAL7", "", audit.SyslogOptions{Facility: "local7", Hostname: "h.example"}, 23*8 + 6, "secretum-vault", "h.example"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := newKeys(t)
			pnet := tc.network
			so := tc.so
			so.Network = tc.network
			if pnet == "" {
				pnet = "unixgram"
			}
			p := startPeer(t, pnet, "", false)
			if tc.network == "" {
				// The first local socket is missing: the device falls back.
				defer audit.SetLocalSyslogPaths(filepath.Join(t.TempDir(), "missing"), p.addr)()
			} else {
				so.Address = p.addr
			}
			d, err := audit.NewSyslogDevice(so, netOpts(k, 0))
			if err != nil {
				t.Fatal(err)
			}
			before := time.Now().Add(-time.Second)
			const n = 30
			logN(t, d, n)
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			seq := d.Position().Seq
			if isDatagram(pnet) {
				p.waitFor(t, "every message", func() bool { return len(p.grams) == int(seq) })
			} else {
				p.waitEnded(t)
			}
			var lines [][]byte
			for i, f := range syslogFrames(t, p) {
				m, err := parseSyslog(f)
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if m.pri != tc.pri || m.app != tc.app || m.host != tc.hos || m.procID != strconv.Itoa(os.Getpid()) || m.msgID != "-" {
					t.Fatalf("message %d header: pri %d app %q host %q procid %q msgid %q", i, m.pri, m.app, m.host, m.procID, m.msgID)
				}
				if m.time.Before(before) || m.time.After(time.Now()) || m.time.Location() != time.UTC {
					t.Fatalf("message %d time %s", i, m.time)
				}
				if !json.Valid(m.msg) {
					t.Fatalf("message %d: MSG is not JSON", i)
				}
				lines = append(lines, m.msg)
			}
			if len(lines) != int(seq) {
				t.Fatalf("%d messages, want %d", len(lines), seq)
			}
			rep := verifyLines(t, k.pub, audit.VerifyOptions{}, lines)
			if rep.Entries != n || rep.Checkpoints != n/7+2 {
				t.Fatalf("syslog log: %+v", rep)
			}
		})
	}
}

func TestSyslogDeviceRecovers(t *testing.T) {
	k := newKeys(t)
	addr := freeAddr(t, "tcp")
	d, err := audit.NewSyslogDevice(audit.SyslogOptions{Network: "tcp", Address: addr}, netOpts(k, 0))
	if err != nil {
		t.Fatalf("NewSyslogDevice with the server down: %v", err)
	}
	defer d.Close()
	if err := d.LogRequest(t.Context(), sampleEntry(0)); err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("entry with the server down: %v; want an error naming %s", err, addr)
	}
	p := startPeer(t, "tcp", addr, false)
	pollSuccess(t, d)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	p.waitEnded(t)
	var lines [][]byte
	for _, f := range syslogFrames(t, p) {
		m, err := parseSyslog(f)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, m.msg)
	}
	verifyLines(t, k.pub, audit.VerifyOptions{}, lines)
}

func TestSyslogOptionsValidate(t *testing.T) {
	tests := []struct {
		name  string
		so    audit.SyslogOptions
		field string // "" when valid
	}{
		{"local defaults", audit.SyslogOptions{}, ""},
		{"tcp", audit.SyslogOptions{Network: "tcp", Address: "127.0.0.1:514", Facility: "local3", Tag: "t", Hostname: "h"}, ""},
		{"address without network", audit.SyslogOptions{Address: "/dev/log"}, "address"},
		{"network without address", audit.SyslogOptions{Network: "udp"}, "address"},
		{"bad network", audit.SyslogOptions{Network: "tls", Address: "x"}, "network"},
		{"bad facility", audit.SyslogOptions{Facility: "LOCAL8"}, "facility"},
		{"tag with space", audit.SyslogOptions{Tag: "a b"}, "tag"},
		{"tag too long", audit.SyslogOptions{Tag: strings.Repeat("t", 49)}, "tag"},
		{"hostname not ASCII", audit.SyslogOptions{Hostname: "hôte"}, "hostname"},
		{"negative timeout", audit.SyslogOptions{WriteTimeout: -time.Second}, "write_timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.so.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, logical.ErrInvalidRequest) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("Validate: %v; want an invalid request naming %s", err, tc.field)
			}
			if _, err := audit.NewSyslogDevice(tc.so, audit.Options{}); err == nil {
				t.Fatal("NewSyslogDevice accepted invalid options")
			}
		})
	}
}

func TestParseSyslogIsStrict(t *testing.T) {
	good := "<38>1 2026-12-01T12:00:00.000001Z host app 42 - - {}"
	if _, err := parseSyslog([]byte(good)); err != nil {
		t.Fatalf("good message: %v", err)
	}
	for _, bad := range []string{
		"38>1 2026-12-01T12:00:00.000001Z host app 42 - - {}",
		"<192>1 2026-12-01T12:00:00.000001Z host app 42 - - {}",
		"<038>1 2026-12-01T12:00:00.000001Z host app 42 - - {}",
		"<38>2 2026-12-01T12:00:00.000001Z host app 42 - - {}",
		"<38>1 2026-12-01T12:00:00Z host app 42 - - {}",
		"<38>1 2026-12-01T12:00:00.000001+01:00 host app 42 - - {}",
		"<38>1 2026-12-01T12:00:00.000001Z host app 42 - [x] {}",
		"<38>1 2026-12-01T12:00:00.000001Z host app 42 -",
		"<38>1 2026-12-01T12:00:00.000001Z host app 42 - - \xef\xbb\xbf{}",
	} {
		if _, err := parseSyslog([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	if _, err := octetFrames([]byte("5 abcd")); err == nil {
		t.Error("octetFrames accepted a short frame")
	}
}
