package postgres

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// execCommands runs every statement of commands on tx, each with vars
// substituted, and returns how many ran. An error names the statement by
// number only: its text may hold a password.
func execCommands(ctx context.Context, tx *sql.Tx, commands []string, vars map[string]string) (int, error) {
	n := 0
	for _, cmd := range commands {
		for _, stmt := range parseCommand(cmd) {
			n++
			if _, err := tx.ExecContext(ctx, substitute(stmt, vars)); err != nil {
				return n, fmt.Errorf("statement %d: %w", n, err)
			}
		}
	}
	return n, nil
}

// countStatements is how many statements commands hold.
func countStatements(commands []string) int {
	n := 0
	for _, cmd := range commands {
		n += len(parseCommand(cmd))
	}
	return n
}

// substitute replaces {{key}} by vars[key] in one pass (a value holding
// "{{...}}" is not substituted again).
func substitute(stmt string, vars map[string]string) string {
	pairs := make([]string, 0, 2*len(vars))
	for k, v := range vars {
		pairs = append(pairs, "{{"+k+"}}", v)
	}
	return strings.NewReplacer(pairs...).Replace(stmt)
}

// parseCommand turns one Statements entry into statements, as Vault does:
// a base64 entry is decoded first; a JSON array of strings lists
// statements; anything else is SQL split by splitStatements.
func parseCommand(cmd string) []string {
	cmd = strings.TrimSpace(cmd)
	if cmd == "" {
		return nil
	}
	if b, err := base64.StdEncoding.DecodeString(cmd); err == nil {
		cmd = string(b)
	}
	var list []string
	if err := json.Unmarshal([]byte(cmd), &list); err == nil {
		var out []string
		for _, s := range list {
			out = append(out, splitStatements(s)...)
		}
		return out
	}
	return splitStatements(cmd)
}

// splitStatements splits SQL at top-level semicolons, skipping those in
// string literals ('...', E'...'), quoted identifiers ("..."), dollar
// quotes ($tag$...$tag$) and comments (--, nested /* */). Statements
// holding only white space and comments are dropped. When the text has a
// top-level END keyword (BEGIN ATOMIC ... END, CASE ... END) it is
// returned whole, as one multi-statement query, like Vault does.
func splitStatements(sql string) []string {
	var (
		out          []string
		start        int
		hasCode, end bool
	)
	flush := func(to int) {
		if s := strings.TrimSpace(sql[start:to]); hasCode && s != "" {
			out = append(out, s)
		}
		hasCode = false
	}
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == ';':
			flush(i)
			i++
			start = i
		case c == '-' && strings.HasPrefix(sql[i:], "--"):
			i = skipLineComment(sql, i)
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			i = skipBlockComment(sql, i)
		case isSpace(c):
			i++
		default:
			hasCode = true
			var word string
			i, word = skipToken(sql, i)
			if strings.EqualFold(word, "end") {
				end = true
			}
		}
	}
	flush(len(sql))
	if end && len(out) > 1 {
		return []string{strings.TrimSpace(sql)}
	}
	return out
}

// skipToken skips one token that is not a comment or white space: a
// quoted string or identifier, a dollar-quoted string, a word (returned,
// for keyword checks) or a single other byte.
func skipToken(sql string, i int) (next int, word string) {
	c := sql[i]
	switch {
	case c == '\'':
		return skipQuoted(sql, i, '\'', false), ""
	case c == '"':
		return skipQuoted(sql, i, '"', false), ""
	case (c == 'E' || c == 'e') && i+1 < len(sql) && sql[i+1] == '\'':
		return skipQuoted(sql, i+1, '\'', true), ""
	case c == '$':
		if j, ok := skipDollarQuoted(sql, i); ok {
			return j, ""
		}
		return i + 1, ""
	case isIdentStart(c):
		j := i + 1
		for j < len(sql) && isIdentPart(sql[j]) {
			j++
		}
		return j, sql[i:j]
	case isDigit(c):
		j := i + 1
		for j < len(sql) && (isIdentPart(sql[j]) || sql[j] == '.') {
			j++
		}
		return j, ""
	}
	return i + 1, ""
}

// skipQuoted skips a literal opened by quote at i; a doubled quote is an
// escaped quote, and with backslashes (E'...') so is a backslash escape.
// An unterminated literal runs to the end.
func skipQuoted(sql string, i int, quote byte, backslashes bool) int {
	for j := i + 1; j < len(sql); j++ {
		switch sql[j] {
		case '\\':
			if backslashes {
				j++
			}
		case quote:
			if j+1 < len(sql) && sql[j+1] == quote {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(sql)
}

// skipDollarQuoted skips $tag$...$tag$ at i; ok is false when no dollar
// quote opens there ($1 is a parameter, not a tag).
func skipDollarQuoted(sql string, i int) (int, bool) {
	j := i + 1
	if j < len(sql) && isIdentStart(sql[j]) {
		j++
		for j < len(sql) && isIdentPart(sql[j]) && sql[j] != '$' {
			j++
		}
	}
	if j >= len(sql) || sql[j] != '$' {
		return i, false
	}
	tag := sql[i : j+1]
	if k := strings.Index(sql[j+1:], tag); k >= 0 {
		return j + 1 + k + len(tag), true
	}
	return len(sql), true
}

func skipLineComment(sql string, i int) int {
	if k := strings.IndexByte(sql[i:], '\n'); k >= 0 {
		return i + k + 1
	}
	return len(sql)
}

// skipBlockComment skips a /* */ comment; they nest in PostgreSQL.
func skipBlockComment(sql string, i int) int {
	depth := 0
	for j := i; j+1 < len(sql); j++ {
		switch {
		case sql[j] == '/' && sql[j+1] == '*':
			depth++
			j++
		case sql[j] == '*' && sql[j+1] == '/':
			depth--
			j++
			if depth == 0 {
				return j + 1
			}
		}
	}
	return len(sql)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isIdentStart and isIdentPart follow PostgreSQL's lexer: letters, '_',
// any non-ASCII byte; digits and '$' after the first.
func isIdentStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c >= 0x80
}

func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) || c == '$' }
