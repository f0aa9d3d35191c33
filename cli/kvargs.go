package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
)

// maxInputBytes bounds what one @file or stdin argument may hold.
const maxInputBytes = 32 << 20

// kvParser turns Vault-style data arguments into a map, as `vault write`:
//
//	key=value   the string value
//	key=@file   the contents of file, as they are
//	key=-       all of stdin, as it is
//	-           a JSON object read from stdin, merged in
//	@file       a JSON object read from file, merged in
//
// A key given more than once collects its values into a list. Stdin may be
// used only once per command.
type kvParser struct {
	stdin     io.Reader
	stdinUsed bool
}

// parse applies the rules above to args.
func (p *kvParser) parse(args []string) (map[string]any, error) {
	out := map[string]any{}
	for _, arg := range args {
		if err := p.parseOne(out, arg); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (p *kvParser) parseOne(out map[string]any, arg string) error {
	switch {
	case arg == "-":
		b, err := p.readStdin()
		if err != nil {
			return err
		}
		return mergeJSON(out, b, "stdin")
	case strings.HasPrefix(arg, "@"):
		b, err := readFileLimited(arg[1:])
		if err != nil {
			return err
		}
		return mergeJSON(out, b, arg[1:])
	}
	key, value, ok := strings.Cut(arg, "=")
	if !ok {
		return usagef("argument %q is not key=value, key=@file, key=-, - or @file", arg)
	}
	if key == "" {
		return usagef("argument %q has an empty key", arg)
	}
	v, err := p.value(value)
	if err != nil {
		return fmt.Errorf("value of %q: %w", key, err)
	}
	addValue(out, key, v)
	return nil
}

// value resolves "@file" and "-" in a value position.
func (p *kvParser) value(v string) (string, error) {
	switch {
	case v == "-":
		b, err := p.readStdin()
		return string(b), err
	case strings.HasPrefix(v, "@"):
		b, err := readFileLimited(v[1:])
		return string(b), err
	}
	return v, nil
}

func (p *kvParser) readStdin() ([]byte, error) {
	if p.stdinUsed {
		return nil, usagef("stdin (-) may be used only once")
	}
	p.stdinUsed = true
	if p.stdin == nil {
		return nil, fmt.Errorf("no stdin")
	}
	return readLimited(p.stdin, "stdin")
}

// addValue stores v under key, turning repeated keys into a list.
func addValue(out map[string]any, key string, v any) {
	prev, ok := out[key]
	if !ok {
		out[key] = v
		return
	}
	if list, ok := prev.([]any); ok {
		out[key] = append(list, v)
		return
	}
	out[key] = []any{prev, v}
}

func mergeJSON(out map[string]any, b []byte, source string) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return fmt.Errorf("%s: want a JSON object: %w", source, err)
	}
	for k, v := range m {
		out[k] = v
	}
	return nil
}

func readFileLimited(name string) ([]byte, error) {
	if name == "" {
		return nil, usagef("@ must be followed by a file name")
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("open %w", err)
	}
	defer f.Close()
	return readLimited(f, name)
}

func readLimited(r io.Reader, source string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxInputBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", source, err)
	}
	if len(b) > maxInputBytes {
		return nil, fmt.Errorf("read %s: larger than %d bytes", source, maxInputBytes)
	}
	return b, nil
}

// queryValues turns parsed key/value arguments into URL parameters, for
// read and delete.
func queryValues(data map[string]any) (url.Values, error) {
	q := url.Values{}
	for k, v := range data {
		switch t := v.(type) {
		case string:
			q.Add(k, t)
		case []any:
			for _, e := range t {
				s, err := rawValue(e)
				if err != nil {
					return nil, err
				}
				q.Add(k, s)
			}
		default:
			s, err := rawValue(t)
			if err != nil {
				return nil, err
			}
			q.Add(k, s)
		}
	}
	return q, nil
}
