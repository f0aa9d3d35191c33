package cli

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/client"
)

// field is one key/value row of a secret's table rendering.
type field struct {
	key   string
	value any
}

// secretFields lists what the table shows for s, in the Vault CLI's order:
// lease information, token information, then the data keys sorted.
func secretFields(s *client.Secret) []field {
	var out []field
	switch {
	case s.LeaseID != "":
		out = append(out, field{"lease_id", s.LeaseID}, field{"lease_duration", humanDuration(s.LeaseDuration)},
			field{"lease_renewable", s.Renewable})
	case s.LeaseDuration > 0:
		out = append(out, field{"refresh_interval", humanDuration(s.LeaseDuration)})
	}
	if au := s.Auth; au != nil {
		out = append(out,
			field{"token", au.ClientToken},
			field{"token_accessor", au.Accessor},
			field{"token_duration", humanDuration(au.LeaseDuration)},
			field{"token_renewable", au.Renewable},
			field{"token_policies", au.TokenPolicies},
			field{"identity_policies", au.IdentityPolicies},
			field{"policies", au.Policies})
		for _, k := range sortedKeys(au.Metadata) {
			out = append(out, field{"token_meta_" + k, au.Metadata[k]})
		}
	}
	for _, k := range sortedKeys(s.Data) {
		out = append(out, field{k, s.Data[k]})
	}
	return out
}

// keyValueSection renders fields as a Key/Value table.
func keyValueSection(title string, fields []field) section {
	rows := make([][]string, len(fields))
	for i, f := range fields {
		rows[i] = []string{f.key, cell(f.value)}
	}
	return section{Title: title, Header: []string{"Key", "Value"}, Rows: rows}
}

// secretDocument renders a secret: the whole envelope for json/yaml, the
// key/value table otherwise.
func secretDocument(s *client.Secret) document {
	return document{Value: s, Sections: []section{keyValueSection("", secretFields(s))}}
}

// printField prints the value of one field (as listed by the table) alone,
// for -field; a missing field is an error.
func printField(w io.Writer, fields []field, name string) error {
	for _, f := range fields {
		if f.key == name {
			v, err := rawValue(f.value)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(w, v)
			return err
		}
	}
	return fmt.Errorf("field %q not present in secret", name)
}

// printWarnings shows server warnings on stderr.
func printWarnings(w io.Writer, s *client.Secret) {
	if s == nil || len(s.Warnings) == 0 {
		return
	}
	fmt.Fprintln(w, "WARNING! The following warnings were returned from the server:")
	for _, warn := range s.Warnings {
		fmt.Fprintf(w, "  * %s\n", warn)
	}
}

// humanDuration renders seconds as a Go duration without zero tails:
// 2764800 -> "768h", 90 -> "1m30s", 0 -> "0s".
func humanDuration(seconds int) string {
	d := (time.Duration(seconds) * time.Second).String()
	if strings.HasSuffix(d, "m0s") {
		d = strings.TrimSuffix(d, "0s")
	}
	if strings.HasSuffix(d, "h0m") {
		d = strings.TrimSuffix(d, "0m")
	}
	return d
}

// formatTime renders a timestamp as RFC 3339, the zero time as "n/a".
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "n/a"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// itoa is strconv.Itoa, short for table rows.
func itoa(n int) string { return strconv.Itoa(n) }
