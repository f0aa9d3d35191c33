package keypair

import "strings"

// MessagePrefix is the first line of the canonical login message; the
// version suffix changes if the message ever does.
const MessagePrefix = "secretumvault-keypair-login-v1"

// LoginMessage returns the canonical message a login signs (see the
// package documentation): MessagePrefix, the mount path, the name, the
// nonce and the timestamp, each followed by "\n". mountPath is
// normalised to no leading slash and one trailing slash, so
// "auth/keypair", "/auth/keypair/" and "auth/keypair/" give the same
// message. The other fields are used as given.
func LoginMessage(mountPath, name, nonce, timestamp string) []byte {
	mountPath = strings.Trim(mountPath, "/") + "/"
	var b strings.Builder
	b.Grow(len(MessagePrefix) + len(mountPath) + len(name) + len(nonce) + len(timestamp) + 5)
	for _, line := range [...]string{MessagePrefix, mountPath, name, nonce, timestamp} {
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}
