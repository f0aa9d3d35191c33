package audit

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// DefaultSyslogTag is a syslog device's default APP-NAME.
const DefaultSyslogTag = "secretum-vault"

// syslogFacilities are the facility codes of RFC 5424 by Vault's names.
var syslogFacilities = map[string]int{
	"KERN": 0, "USER": 1, "MAIL": 2, "DAEMON": 3, "AUTH": 4, "SYSLOG": 5,
	"LPR": 6, "NEWS": 7, "UUCP": 8, "CRON": 9, "AUTHPRIV": 10, "FTP": 11,
	"LOCAL0": 16, "LOCAL1": 17, "LOCAL2": 18, "LOCAL3": 19,
	"LOCAL4": 20, "LOCAL5": 21, "LOCAL6": 22, "LOCAL7": 23,
}

// severityInfo is the severity of every audit message (informational).
const severityInfo = 6

// localSyslogPaths are the local syslog sockets, tried in order.
var localSyslogPaths = []string{"/dev/log", "/var/run/syslog", "/var/run/log"}

// SyslogOptions configure a syslog device.
type SyslogOptions struct {
	// Network is "" for the local syslog daemon (unixgram to /dev/log,
	// else /var/run/syslog, else /var/run/log, chosen at each dial), or
	// unix, unixgram, udp or tcp.
	Network string
	// Address is the server's host:port (udp, tcp) or socket path (unix,
	// unixgram); required with a Network, empty without.
	Address string
	// Facility is a facility name, case-insensitive: KERN, USER, MAIL,
	// DAEMON, AUTH (the default), SYSLOG, LPR, NEWS, UUCP, CRON,
	// AUTHPRIV, FTP, LOCAL0 to LOCAL7.
	Facility string
	// Tag is the APP-NAME (default "secretum-vault"): 1 to 48 printable
	// ASCII characters, no space.
	Tag string
	// Hostname is the HOSTNAME (default os.Hostname(), or "-" when that
	// is not a valid syslog hostname): 1 to 255 printable ASCII
	// characters, no space.
	Hostname string
	// WriteTimeout bounds each write, dial included (default 2 s).
	WriteTimeout time.Duration
}

// withDefaults fills zero fields with the defaults.
func (o SyslogOptions) withDefaults() SyslogOptions {
	if o.Facility == "" {
		o.Facility = "AUTH"
	}
	if o.Tag == "" {
		o.Tag = DefaultSyslogTag
	}
	if o.Hostname == "" {
		o.Hostname = "-"
		if h, err := os.Hostname(); err == nil && validHeaderField(h, 255) {
			o.Hostname = h
		}
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	return o
}

// Validate checks the options (zero fields mean their default); its
// errors name the field.
func (o SyslogOptions) Validate() error {
	bad := func(f string, a ...any) error {
		return fmt.Errorf("%w: audit: syslog: "+f, append([]any{logical.ErrInvalidRequest}, a...)...)
	}
	switch o.Network {
	case "":
		if o.Address != "" {
			return bad("address needs a network (the local daemon has a fixed address)")
		}
	case "unix", "unixgram", "udp", "tcp":
		if o.Address == "" {
			return bad("address is required with network %q", o.Network)
		}
	default:
		return bad("network must be empty (local), unix, unixgram, udp or tcp, not %q", o.Network)
	}
	if _, ok := syslogFacilities[strings.ToUpper(o.Facility)]; o.Facility != "" && !ok {
		return bad("facility %q is not a syslog facility", o.Facility)
	}
	switch {
	case o.Tag != "" && !validHeaderField(o.Tag, 48):
		return bad("tag must be 1 to 48 printable ASCII characters without spaces")
	case o.Hostname != "" && !validHeaderField(o.Hostname, 255):
		return bad("hostname must be 1 to 255 printable ASCII characters without spaces")
	case o.WriteTimeout < 0:
		return bad("write_timeout must not be negative")
	}
	return nil
}

// validHeaderField tells whether s is an RFC 5424 header field:
// 1*max PRINTUSASCII (33 to 126).
func validHeaderField(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 33 || s[i] > 126 {
			return false
		}
	}
	return true
}

// NewSyslogDevice starts a device sending each line as one RFC 5424
// message:
//
//	<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID - - MSG
//
// with PRI = facility*8 + 6 (informational), TIMESTAMP the time of the
// write in UTC with microseconds, PROCID the process id, no MSGID and no
// structured data ("-"), and MSG the JSON line (no BOM). Over tcp a
// message is framed by octet counting (RFC 6587 3.4.1, "LEN SP MSG"),
// over unix terminated by '\n', over udp and unixgram sent as one
// datagram (a message larger than a datagram fails). Like
// NewSocketDevice it dials lazily, redials on its own, and defaults a
// zero opts.Wait to at least WriteTimeout.
func NewSyslogDevice(so SyslogOptions, opts Options) (*NetDevice, error) {
	if err := so.Validate(); err != nil {
		return nil, err
	}
	so = so.withDefaults()
	pri := syslogFacilities[strings.ToUpper(so.Facility)]*8 + severityInfo
	head := syslogHeader{
		pri:  "<" + strconv.Itoa(pri) + ">1 ",
		rest: " " + so.Hostname + " " + so.Tag + " " + strconv.Itoa(os.Getpid()) + " - - ",
	}
	w := &netWriter{timeout: so.WriteTimeout}
	switch so.Network {
	case "":
		w.label, w.datagram, w.dial = "local syslog", true, dialLocalSyslog
		w.frame = head.datagram
	case "udp", "unixgram":
		w.datagram, w.frame = true, head.datagram
	case "unix":
		w.frame = head.newline
	case "tcp":
		w.frame = head.octetCounted
	}
	if so.Network != "" {
		w.label, w.dial = "syslog "+so.Network+" "+so.Address, dialer(so.Network, so.Address)
	}
	return startNetDevice(w, opts)
}

// syslogHeader is a message header but its timestamp.
type syslogHeader struct {
	pri  string // "<PRI>1 "
	rest string // " HOSTNAME APP-NAME PROCID - - "
}

// syslogTime is TIMESTAMP: RFC 3339 in UTC with microseconds.
const syslogTime = "2006-01-02T15:04:05.000000Z07:00"

// message appends the message for line.
func (h syslogHeader) message(dst, line []byte, now time.Time) []byte {
	var ts [32]byte
	return h.appendMessage(dst, now.UTC().AppendFormat(ts[:0], syslogTime), line)
}

func (h syslogHeader) appendMessage(dst, ts, line []byte) []byte {
	dst = append(dst, h.pri...)
	dst = append(dst, ts...)
	dst = append(dst, h.rest...)
	return append(dst, line...)
}

// datagram frames a message alone in its datagram.
func (h syslogHeader) datagram(dst, line []byte, now time.Time) []byte {
	return h.message(dst, line, now)
}

// newline frames a message on a unix stream.
func (h syslogHeader) newline(dst, line []byte, now time.Time) []byte {
	return append(h.message(dst, line, now), '\n')
}

// octetCounted frames a message as "LEN SP MSG" (RFC 6587 3.4.1).
func (h syslogHeader) octetCounted(dst, line []byte, now time.Time) []byte {
	var b [32]byte
	ts := now.UTC().AppendFormat(b[:0], syslogTime)
	dst = strconv.AppendInt(dst, int64(len(h.pri)+len(ts)+len(h.rest)+len(line)), 10)
	dst = append(dst, ' ')
	return h.appendMessage(dst, ts, line)
}

// dialLocalSyslog dials the first local syslog socket that answers.
func dialLocalSyslog(deadline time.Time) (net.Conn, error) {
	var errs []error
	for _, p := range localSyslogPaths {
		d := net.Dialer{Deadline: deadline}
		c, err := d.Dial("unixgram", p)
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("no local syslog socket: %w", errors.Join(errs...))
}
