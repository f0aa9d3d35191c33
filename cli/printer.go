package cli

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"gopkg.in/yaml.v3"
)

// Output formats.
const (
	formatTable  = "table"
	formatJSON   = "json"
	formatYAML   = "yaml"
	formatCSV    = "csv"
	formatDotenv = "dotenv"
)

// document is everything a command prints, in two renderings: Value for
// json and yaml (marshalled with its JSON field names), Sections for table
// and csv.
type document struct {
	Value    any
	Sections []section
}

// section is one block of table output: an optional title, free text
// lines, then a table: with a header, or aligned rows alone (Vault's
// column output) when Header is nil.
type section struct {
	Title  string
	Text   []string
	Header []string
	Rows   [][]string
}

// printer writes documents in one format. It is the only place that
// formats command output.
type printer struct {
	w      io.Writer
	format string
}

// newPrinter checks format ("" means table). csv and dotenv are accepted
// only when listed in extra, for commands whose output is one table of
// names and values.
func newPrinter(w io.Writer, format string, extra ...string) (*printer, error) {
	format = strings.ToLower(strings.TrimSpace(format))
	switch format {
	case "":
		format = formatTable
	case formatTable, formatJSON, formatYAML:
	case formatCSV, formatDotenv:
		if !slices.Contains(extra, format) {
			return nil, usagef("format %q is only supported by %s", format, extraFormatUsers[format])
		}
	default:
		return nil, usagef("unknown format %q (want table, json or yaml)", format)
	}
	return &printer{w: w, format: format}, nil
}

// extraFormatUsers names the commands that accept an extra format.
var extraFormatUsers = map[string]string{
	formatCSV:    `"secrets ls" and "secrets getall"`,
	formatDotenv: `"secrets getall"`,
}

// structured reports whether the format is machine-readable (json, yaml).
func (p *printer) structured() bool { return p.format == formatJSON || p.format == formatYAML }

// print renders d.
func (p *printer) print(d document) error {
	var err error
	switch p.format {
	case formatJSON:
		err = p.json(d.Value)
	case formatYAML:
		err = p.yaml(d.Value)
	case formatCSV:
		err = p.csv(d.Sections)
	case formatDotenv:
		err = p.dotenv(d.Sections)
	default:
		err = p.table(d.Sections)
	}
	if err != nil {
		return fmt.Errorf("print %s: %w", p.format, err)
	}
	return nil
}

// success prints a confirmation in table format; json and yaml output
// stays parseable, so nothing is printed there.
func (p *printer) success(format string, args ...any) {
	if p.format == formatTable {
		fmt.Fprintf(p.w, format+"\n", args...)
	}
}

// raw prints one value alone, for $(...): as Vault's CLI does, with a
// newline on a terminal and without one when the output is piped. In json
// and yaml, v is printed instead.
func (p *printer) raw(s string, v any) error {
	if p.structured() {
		return p.print(document{Value: v})
	}
	if isTerminal(p.w) {
		s += "\n"
	}
	if _, err := io.WriteString(p.w, s); err != nil {
		return fmt.Errorf("print: %w", err)
	}
	return nil
}

func (p *printer) json(v any) error {
	enc := json.NewEncoder(p.w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (p *printer) yaml(v any) error {
	plain, err := plainValue(v)
	if err != nil {
		return err
	}
	enc := yaml.NewEncoder(p.w)
	enc.SetIndent(2)
	if err := enc.Encode(plain); err != nil {
		return err
	}
	return enc.Close()
}

func (p *printer) csv(sections []section) error {
	if len(sections) != 1 || sections[0].Header == nil {
		return fmt.Errorf("this output is not a single table")
	}
	w := csv.NewWriter(p.w)
	if err := w.Write(sections[0].Header); err != nil {
		return err
	}
	if err := w.WriteAll(sections[0].Rows); err != nil {
		return err
	}
	return w.Error()
}

func (p *printer) table(sections []section) error {
	var buf bytes.Buffer
	for i, s := range sections {
		if i > 0 {
			buf.WriteByte('\n')
		}
		if s.Title != "" {
			bar := strings.Repeat("=", 6)
			fmt.Fprintf(&buf, "%s %s %s\n", bar, s.Title, bar)
		}
		for _, line := range s.Text {
			buf.WriteString(line)
			buf.WriteByte('\n')
		}
		if s.Header != nil || len(s.Rows) > 0 {
			writeTable(&buf, s.Header, s.Rows)
		}
	}
	_, err := p.w.Write(buf.Bytes())
	return err
}

// writeTable aligns columns with four spaces, Vault style: header, a row of
// dashes under each header cell, then the rows; without a header, the
// rows alone.
func writeTable(w io.Writer, header []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 4, 4, ' ', 0)
	var lines [][]string
	if header != nil {
		dashes := make([]string, len(header))
		for i, h := range header {
			dashes[i] = strings.Repeat("-", len(h))
		}
		lines = append(lines, header, dashes)
	}
	for _, r := range append(lines, rows...) {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	_ = tw.Flush()
}

// plainValue turns v into maps, slices and scalars keyed by JSON field
// names, with json.Number resolved to int64 or float64, so that yaml output
// uses the same names and number types as json output.
func plainValue(v any) (any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return resolveNumbers(out), nil
}

func resolveNumbers(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		if f, err := t.Float64(); err == nil {
			return f
		}
		return t.String()
	case map[string]any:
		for k, e := range t {
			t[k] = resolveNumbers(e)
		}
	case []any:
		for i, e := range t {
			t[i] = resolveNumbers(e)
		}
	}
	return v
}

// cell renders one value for a table: strings as they are, nil as "n/a",
// lists and maps in Go's %v form (as the Vault CLI shows them).
func cell(v any) string {
	switch t := v.(type) {
	case nil:
		return "n/a"
	case string:
		return t
	case json.Number:
		return t.String()
	default:
		return fmt.Sprint(t)
	}
}

// rawValue renders a value for -field and "secrets get": strings as they
// are, anything else as compact JSON.
func rawValue(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode value: %w", err)
	}
	return string(b), nil
}

// dotenv prints a name,value table as NAME="VALUE" lines: names as
// environment variable names (envName), values double-quoted with \, ",
// $ and ` escaped and newlines as \n, as dotenv readers expect.
func (p *printer) dotenv(sections []section) error {
	if len(sections) != 1 || len(sections[0].Header) != 2 {
		return fmt.Errorf("this output is not a table of names and values")
	}
	env, err := envVars(sections[0].Rows)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&buf, "%s=\"%s\"\n", k, dotenvEscaper.Replace(v))
	}
	_, err = p.w.Write(buf.Bytes())
	return err
}

var dotenvEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", `\$`, "`", "\\`", "\n", `\n`, "\r", `\r`)
