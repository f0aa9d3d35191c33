package framework

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// parse converts a raw value (as decoded from JSON, a query string or Go
// code) to the canonical Go type of t.
func parse(t FieldType, v any) (any, error) {
	switch t {
	case TypeString:
		return parseString(v)
	case TypeInt:
		return parseInt(v)
	case TypeBool:
		return parseBool(v)
	case TypeDuration:
		return ParseDuration(v)
	case TypeMap:
		return parseMap(v)
	case TypeStringSlice:
		return parseStringSlice(v)
	case TypeIntSlice:
		return parseIntSlice(v)
	case TypeStringMap:
		return parseStringMap(v)
	default:
		return nil, fmt.Errorf("unknown field type %d", t)
	}
}

func parseString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), nil
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprint(x), nil
	}
	return "", fmt.Errorf("expected a string, got %s", kindOf(v))
}

func parseInt(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case int8:
		return int(x), nil
	case int16:
		return int(x), nil
	case int32:
		return int(x), nil
	case int64:
		return int(x), nil
	case uint8:
		return int(x), nil
	case uint16:
		return int(x), nil
	case uint32:
		return int(x), nil
	case uint:
		if x > math.MaxInt {
			break
		}
		return int(x), nil
	case uint64:
		if x > math.MaxInt {
			break
		}
		return int(x), nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) <= 1<<53 {
			return int(x), nil
		}
	case float32:
		return parseInt(float64(x))
	case json.Number:
		return parseInt(string(x))
	case string:
		s := strings.TrimSpace(x)
		if n, err := strconv.Atoi(s); err == nil {
			return n, nil
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return parseInt(f)
		}
	}
	return 0, fmt.Errorf("expected an integer, got %s", kindOf(v))
}

func parseBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		if b, err := strconv.ParseBool(strings.TrimSpace(x)); err == nil {
			return b, nil
		}
		if x == "" {
			return false, nil
		}
	default:
		if n, err := parseInt(v); err == nil && (n == 0 || n == 1) {
			return n == 1, nil
		}
	}
	return false, fmt.Errorf("expected a bool, got %s", kindOf(v))
}

func parseMap(v any) (map[string]any, error) {
	switch x := v.(type) {
	case map[string]any:
		return x, nil
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, s := range x {
			m[k] = s
		}
		return m, nil
	case nil:
		return nil, nil
	}
	return nil, fmt.Errorf("expected an object, got %s", kindOf(v))
}

func parseStringSlice(v any) ([]string, error) {
	switch x := v.(type) {
	case []string:
		return x, nil
	case string:
		return splitComma(x), nil
	case []any:
		out := make([]string, 0, len(x))
		for i, e := range x {
			s, err := parseString(e)
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			out = append(out, s)
		}
		return out, nil
	case nil:
		return nil, nil
	}
	return nil, fmt.Errorf("expected a list of strings, got %s", kindOf(v))
}

func parseIntSlice(v any) ([]int, error) {
	var elems []any
	switch x := v.(type) {
	case []int:
		return x, nil
	case nil:
		return nil, nil
	case string:
		for _, s := range splitComma(x) {
			elems = append(elems, s)
		}
	case []string:
		for _, s := range x {
			elems = append(elems, s)
		}
	case []any:
		elems = x
	default:
		n, err := parseInt(v)
		if err != nil {
			return nil, fmt.Errorf("expected a list of integers, got %s", kindOf(v))
		}
		return []int{n}, nil
	}
	out := make([]int, 0, len(elems))
	for i, e := range elems {
		n, err := parseInt(e)
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		out = append(out, n)
	}
	return out, nil
}

func parseStringMap(v any) (map[string]string, error) {
	switch x := v.(type) {
	case map[string]string:
		return x, nil
	case nil:
		return nil, nil
	case map[string]any:
		out := make(map[string]string, len(x))
		for k, e := range x {
			s, err := parseString(e)
			if err != nil {
				return nil, fmt.Errorf("key %q: %w", k, err)
			}
			out[k] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("expected an object of strings, got %s", kindOf(v))
}

func splitComma(s string) []string {
	out := []string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// kindOf names a raw value's JSON kind for error messages, never its
// content (which may be a secret).
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a bool"
	case json.Number, float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return "a number"
	case []any, []string, []int:
		return "a list"
	case map[string]any, map[string]string:
		return "an object"
	default:
		return fmt.Sprintf("%T", v)
	}
}
