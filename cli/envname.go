package cli

import (
	"fmt"
	"strings"
)

// envName turns a secret name into an environment variable name: letters
// upper-cased, every character other than an ASCII letter or digit
// becomes "_", and a leading digit gets a "_" before it
// ("app/db.password" → "APP_DB_PASSWORD").
func envName(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		s = "_" + s
	}
	return s
}

// envVars turns name,value rows into "NAME=value" entries, refusing two
// names that map to one variable (a silent overwrite would inject the
// wrong secret).
func envVars(rows [][]string) ([]string, error) {
	seen := make(map[string]string, len(rows))
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		k := envName(r[0])
		if prev, dup := seen[k]; dup {
			return nil, fmt.Errorf("secrets %s and %s both map to the variable %s", prev, r[0], k)
		}
		seen[k] = r[0]
		out = append(out, k+"="+r[1])
	}
	return out, nil
}
