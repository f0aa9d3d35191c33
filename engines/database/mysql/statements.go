package mysql

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// lexical contexts of a byte of a SQL statement, as MySQL reads it with
// its default sql_mode (backslash escapes on, ANSI_QUOTES off).
const (
	ctxCode     uint8 = iota // outside quotes and comments
	ctxSingle                // inside '...'
	ctxDouble                // inside "..."
	ctxBacktick              // inside `...`
	ctxComment               // inside -- , # or /* */ (openers included)
)

// lexContexts returns the context in which MySQL reads each byte of s.
// An opening quote is read as code, a closing quote in its string; the
// bytes that open a comment belong to the comment.
func lexContexts(s string) []uint8 {
	out := make([]uint8, len(s))
	state := ctxCode
	lineComment := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		out[i] = state
		switch state {
		case ctxCode:
			switch {
			case c == '\'':
				state = ctxSingle
			case c == '"':
				state = ctxDouble
			case c == '`':
				state = ctxBacktick
			case c == '#':
				out[i], state, lineComment = ctxComment, ctxComment, true
			case c == '-' && i+1 < len(s) && s[i+1] == '-' && (i+2 == len(s) || s[i+2] <= ' '):
				out[i], state, lineComment = ctxComment, ctxComment, true
			case c == '/' && i+1 < len(s) && s[i+1] == '*':
				out[i], state, lineComment = ctxComment, ctxComment, false
				i++
				out[i] = ctxComment
			}
		case ctxSingle, ctxDouble:
			quote := byte('\'')
			if state == ctxDouble {
				quote = '"'
			}
			switch {
			case c == '\\' && i+1 < len(s):
				i++
				out[i] = state
			case c == quote && i+1 < len(s) && s[i+1] == quote:
				i++
				out[i] = state
			case c == quote:
				state = ctxCode
			}
		case ctxBacktick:
			if c == '`' {
				if i+1 < len(s) && s[i+1] == '`' {
					i++
					out[i] = state
				} else {
					state = ctxCode
				}
			}
		case ctxComment:
			if lineComment && c == '\n' {
				state = ctxCode
			} else if !lineComment && c == '*' && i+1 < len(s) && s[i+1] == '/' {
				i++
				out[i] = state
				state = ctxCode
			}
		}
	}
	return out
}

// splitStatements turns one Statements entry into the statements to run,
// as Vault's strutil.ParseArbitraryStringSlice(entry, ";") does: an entry
// that is base64 is decoded first, one that is a JSON array of strings
// is taken as the list of statements; otherwise it is split on ';'. The
// split ignores a ';' inside quotes, backticks or comments, which Vault's
// does not, and drops pieces that hold nothing but blanks and comments.
func splitStatements(entry string) []string {
	entry = strings.TrimSpace(entry)
	if entry == "" {
		return nil
	}
	if decoded, err := base64.StdEncoding.DecodeString(entry); err == nil && isText(decoded) {
		entry = strings.TrimSpace(string(decoded))
	}
	var list []string
	if err := json.Unmarshal([]byte(entry), &list); err == nil {
		var out []string
		for _, s := range list {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	ctx := lexContexts(entry)
	var out []string
	start, meaningful := 0, false
	flush := func(end int) {
		if piece := strings.TrimSpace(entry[start:end]); meaningful && piece != "" {
			out = append(out, piece)
		}
	}
	for i := 0; i < len(entry); i++ {
		if ctx[i] != ctxCode {
			continue
		}
		switch c := entry[i]; {
		case c == ';':
			flush(i)
			start, meaningful = i+1, false
		case c > ' ':
			meaningful = true
		}
	}
	flush(len(entry))
	return out
}

// isText reports whether b is UTF-8 text without control characters
// other than blanks: the test that keeps a plain statement such as
// "ROLLBACK", which happens to be valid base64, from being decoded.
func isText(b []byte) bool {
	if len(b) == 0 || !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			return false
		}
	}
	return true
}

// placeholders are the template fields of a statement; each maps to the
// value substituted for {{key}}.
type placeholders map[string]string

// trusted keys hold values the plugin formats itself (the expiration),
// substituted as they are even outside quotes.
var trustedKeys = map[string]bool{"expiration": true}

// substitute replaces each {{key}} of stmt, as Vault's dbutil.QueryHelper
// does, but escapes the value for where it stands: inside '...' or "..."
// its quote and backslashes are doubled, inside `...` its backticks; a
// value for a key other than a trusted one may stand outside quotes only
// if it is a plain word (letters, digits, _ $ . @ %), so that no value
// can end a string early or add SQL of its own. Unknown keys are left.
func substitute(stmt string, vals placeholders) (string, error) {
	if !strings.Contains(stmt, "{{") {
		return stmt, nil
	}
	ctx := lexContexts(stmt)
	var b strings.Builder
	for i := 0; i < len(stmt); {
		key, n := placeholderAt(stmt, i, vals)
		if n == 0 {
			b.WriteByte(stmt[i])
			i++
			continue
		}
		v, err := escapeFor(ctx[i], key, vals[key])
		if err != nil {
			return "", fmt.Errorf("statement offset %d: %w", i, err)
		}
		b.WriteString(v)
		i += n
	}
	return b.String(), nil
}

// placeholderAt returns the key of the {{key}} at s[i:] and its length,
// or 0 when there is none for a key of vals.
func placeholderAt(s string, i int, vals placeholders) (string, int) {
	if !strings.HasPrefix(s[i:], "{{") {
		return "", 0
	}
	end := strings.Index(s[i+2:], "}}")
	if end < 0 {
		return "", 0
	}
	key := s[i+2 : i+2+end]
	if _, ok := vals[key]; !ok {
		return "", 0
	}
	return key, end + 4
}

// escapeFor escapes v, the value of {{key}}, for the lexical context c.
func escapeFor(c uint8, key, v string) (string, error) {
	switch c {
	case ctxSingle:
		return strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(v), nil
	case ctxDouble:
		return strings.NewReplacer(`\`, `\\`, `"`, `""`).Replace(v), nil
	case ctxBacktick:
		return strings.ReplaceAll(v, "`", "``"), nil
	}
	if trustedKeys[key] || isPlainWord(v) {
		return v, nil
	}
	return "", fmt.Errorf("{{%s}} stands outside quotes and its value needs quoting", key)
}

// isPlainWord reports whether v can stand unquoted in a statement
// without changing its structure.
func isPlainWord(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '$' || c == '.' || c == '@' || c == '%'
		if !ok {
			return false
		}
	}
	return true
}

// quoteString renders s as a MySQL '...' string literal.
func quoteString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
}
