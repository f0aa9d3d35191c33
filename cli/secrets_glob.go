package cli

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/secretumvault/secretumvault/client"
)

// patternChars are the characters that make a NAME a pattern.
const patternChars = "*?["

// isPattern reports whether name is a glob pattern.
func isPattern(name string) bool { return strings.ContainsAny(name, patternChars) }

// matchNames lists the names matching pattern (path.Match syntax: "*"
// does not cross "/"), sorted. Only the folder before the first pattern
// character is listed.
func matchNames(ctx context.Context, kv *client.KV, pattern string) ([]string, error) {
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, usagef("bad pattern %q: %v", pattern, err)
	}
	fixed := pattern[:strings.IndexAny(pattern, patternChars)]
	folder := ""
	if i := strings.LastIndex(fixed, "/"); i >= 0 {
		folder = fixed[:i+1]
	}
	names, err := walkNames(ctx, kv, folder)
	if err != nil {
		return nil, fmt.Errorf("listing names under %q: %w", folder, err)
	}
	var out []string
	for _, n := range names {
		if ok, _ := path.Match(pattern, n); ok {
			out = append(out, n)
		}
	}
	return out, nil
}

// skipDeleted leaves out names whose latest version is deleted.
func skipDeleted(_ string, err error) bool { return errors.Is(err, errNameNotFound) }

// valuesDocument renders name → value: an object in json and yaml, a
// name,value table otherwise (csv, dotenv, table), sorted by name.
func valuesDocument(values map[string]string) document {
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	sort.Strings(names)
	rows := make([][]string, len(names))
	for i, n := range names {
		rows[i] = []string{n, values[n]}
	}
	return document{Value: values, Sections: []section{{Header: []string{"name", "value"}, Rows: rows}}}
}
