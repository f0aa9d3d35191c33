package token

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// fields reads typed values out of a request's decoded JSON body or query
// parameters, accepting the loose forms Vault accepts ("true", "30",
// "a,b"). Every error is a logical.InvalidRequestError naming the field.
type fields map[string]any

func (f fields) str(name string) (string, error) {
	switch v := f[name].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case float64, int, int64, bool:
		return fmt.Sprint(v), nil
	}
	return "", logical.InvalidRequest(name, "expected a string")
}

func (f fields) boolPtr(name string) (*bool, error) {
	var b bool
	switch v := f[name].(type) {
	case nil:
		return nil, nil
	case bool:
		b = v
	case string:
		p, err := strconv.ParseBool(v)
		if err != nil {
			return nil, logical.InvalidRequest(name, "expected a boolean")
		}
		b = p
	default:
		return nil, logical.InvalidRequest(name, "expected a boolean")
	}
	return &b, nil
}

func (f fields) boolean(name string) (bool, error) {
	b, err := f.boolPtr(name)
	return b != nil && *b, err
}

func (f fields) integer(name string) (int, error) {
	switch v := f[name].(type) {
	case nil:
		return 0, nil
	case int:
		return v, nil
	case int64:
		return int(v), nil
	case float64:
		if v != math.Trunc(v) || math.Abs(v) > math.MaxInt32 {
			return 0, logical.InvalidRequest(name, "expected an integer")
		}
		return int(v), nil
	case json.Number, string:
		n, err := strconv.Atoi(fmt.Sprint(v))
		if err != nil {
			return 0, logical.InvalidRequest(name, "expected an integer")
		}
		return n, nil
	}
	return 0, logical.InvalidRequest(name, "expected an integer")
}

// duration parses Vault's duration forms: a number of seconds (JSON number
// or numeric string) or a Go duration string, with "d" for days.
func (f fields) duration(name string) (time.Duration, error) {
	var d time.Duration
	switch v := f[name].(type) {
	case nil:
		return 0, nil
	case int:
		d = time.Duration(v) * time.Second
	case int64:
		d = time.Duration(v) * time.Second
	case float64:
		d = time.Duration(v * float64(time.Second))
	case json.Number, string:
		p, err := parseDuration(fmt.Sprint(v))
		if err != nil {
			return 0, logical.InvalidRequest(name, "%v", err)
		}
		d = p
	default:
		return 0, logical.InvalidRequest(name, "expected a duration")
	}
	if d < 0 {
		return 0, logical.InvalidRequest(name, "%s must be positive", name)
	}
	return d, nil
}

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if secs, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Duration(secs) * time.Second, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	return d, nil
}

// strings accepts a JSON array of strings or a comma-separated string.
func (f fields) strings(name string) ([]string, error) {
	switch v := f[name].(type) {
	case nil:
		return nil, nil
	case string:
		if strings.TrimSpace(v) == "" {
			return nil, nil
		}
		return strings.Split(v, ","), nil
	case []string:
		return v, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, logical.InvalidRequest(name, "expected a list of strings")
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, logical.InvalidRequest(name, "expected a list of strings")
}

// stringMap accepts a JSON object whose values are scalars.
func (f fields) stringMap(name string) (map[string]string, error) {
	switch v := f[name].(type) {
	case nil:
		return nil, nil
	case map[string]string:
		return v, nil
	case map[string]any:
		out := make(map[string]string, len(v))
		for k, x := range v {
			s, err := fields{k: x}.str(k)
			if err != nil {
				return nil, logical.InvalidRequest(name, "value of %q must be a string", k)
			}
			out[k] = s
		}
		return out, nil
	}
	return nil, logical.InvalidRequest(name, "expected an object of strings")
}

// sanitizePolicies trims, lowercases, deduplicates and sorts policy names;
// a list holding "root" becomes ["root"]; addDefault appends "default".
func sanitizePolicies(in []string, addDefault bool) []string {
	seen := make(map[string]bool, len(in)+1)
	out := make([]string, 0, len(in)+1)
	for _, p := range in {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == RootPolicy {
			return []string{RootPolicy}
		}
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	if addDefault && !seen[DefaultPolicy] {
		out = append(out, DefaultPolicy)
	}
	sort.Strings(out)
	return out
}

// subset reports whether every element of sub is in set.
func subset(set, sub []string) bool {
	have := make(map[string]bool, len(set))
	for _, p := range set {
		have[p] = true
	}
	for _, p := range sub {
		if !have[p] {
			return false
		}
	}
	return true
}

// decoder reads several fields, keeping the first error.
type decoder struct {
	f   fields
	err error
}

func (d *decoder) keep(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) str(n string) string {
	v, err := d.f.str(n)
	d.keep(err)
	return v
}

func (d *decoder) strings(n string) []string {
	v, err := d.f.strings(n)
	d.keep(err)
	return v
}

func (d *decoder) boolean(n string) bool {
	v, err := d.f.boolean(n)
	d.keep(err)
	return v
}

func (d *decoder) boolPtr(n string) *bool {
	v, err := d.f.boolPtr(n)
	d.keep(err)
	return v
}

func (d *decoder) duration(n string) time.Duration {
	v, err := d.f.duration(n)
	d.keep(err)
	return v
}

func (d *decoder) integer(n string) int {
	v, err := d.f.integer(n)
	d.keep(err)
	return v
}

func (d *decoder) stringMap(n string) map[string]string {
	v, err := d.f.stringMap(n)
	d.keep(err)
	return v
}
