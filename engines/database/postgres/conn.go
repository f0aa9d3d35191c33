package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
)

// applicationName is set on the plugin's sessions unless the connection
// URL sets one.
const applicationName = "secretumvault"

// normalizeConfig checks cfg and fills its defaults.
func normalizeConfig(cfg dbplugin.Config) (dbplugin.Config, error) {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", dbplugin.ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	switch {
	case strings.TrimSpace(cfg.ConnectionURL) == "":
		return cfg, invalid("connection_url is empty")
	case hasPlaceholder(cfg.Username) || hasPlaceholder(cfg.Password):
		return cfg, invalid("username and password may not hold {{username}} or {{password}}")
	case cfg.MaxOpenConnections < 0:
		return cfg, invalid("max_open_connections is negative (%d)", cfg.MaxOpenConnections)
	case cfg.MaxIdleConnections < 0:
		return cfg, invalid("max_idle_connections is negative (%d)", cfg.MaxIdleConnections)
	case cfg.MaxConnectionLifetime < 0:
		return cfg, invalid("max_connection_lifetime is negative (%s)", cfg.MaxConnectionLifetime)
	}
	if cfg.MaxOpenConnections == 0 {
		cfg.MaxOpenConnections = DefaultMaxOpenConnections
	}
	if cfg.MaxIdleConnections == 0 || cfg.MaxIdleConnections > cfg.MaxOpenConnections {
		cfg.MaxIdleConnections = cfg.MaxOpenConnections
	}
	if cfg.UsernameTemplate == "" {
		cfg.UsernameTemplate = DefaultUsernameTemplate
	}
	return cfg, nil
}

func hasPlaceholder(s string) bool {
	return strings.Contains(s, "{{username}}") || strings.Contains(s, "{{password}}")
}

// parseConnConfig renders cfg.ConnectionURL with cfg.Username and
// password and parses it. When the URL logs in as cfg.Username the
// password is set explicitly too, so a literal password in the URL does
// not outlive a root rotation.
func parseConnConfig(cfg dbplugin.Config, password string) (*pgx.ConnConfig, error) {
	connCfg, err := pgx.ParseConfig(renderURL(cfg.ConnectionURL, cfg.Username, password))
	if err != nil {
		return nil, fmt.Errorf("%w: connection_url: %w", dbplugin.ErrInvalidConfig, err)
	}
	if cfg.Username != "" && connCfg.User == cfg.Username && password != "" {
		connCfg.Password = password
	}
	if _, ok := connCfg.RuntimeParams["timezone"]; !ok {
		connCfg.RuntimeParams["timezone"] = "UTC"
	}
	if _, ok := connCfg.RuntimeParams["application_name"]; !ok {
		connCfg.RuntimeParams["application_name"] = applicationName
	}
	return connCfg, nil
}

// openDB opens a pool for connCfg with cfg's limits; it connects lazily.
// A pooled session is pinged before each reuse (operations are rare;
// a session the server ended is then replaced instead of failing the
// operation).
func openDB(cfg dbplugin.Config, connCfg *pgx.ConnConfig) *sql.DB {
	db := stdlib.OpenDB(*connCfg, stdlib.OptionShouldPing(func(context.Context, stdlib.ShouldPingParams) bool { return true }))
	db.SetMaxOpenConns(cfg.MaxOpenConnections)
	db.SetMaxIdleConns(cfg.MaxIdleConnections)
	db.SetConnMaxLifetime(cfg.MaxConnectionLifetime)
	return db
}

// renderURL substitutes {{username}} and {{password}}, escaped for where
// they land: percent-encoded in a URL (postgres://...), backslash-escaped
// in a keyword/value connection string (host=... password=...).
func renderURL(tmpl, user, password string) string {
	esc := escapeKeywordValue
	if isURL(tmpl) {
		esc = escapeURLComponent
	}
	return strings.NewReplacer("{{username}}", esc(user), "{{password}}", esc(password)).Replace(tmpl)
}

func isURL(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// escapeURLComponent percent-encodes every byte but the unreserved ones
// (RFC 3986), so the value is safe in the userinfo, path or query.
func escapeURLComponent(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
	}
	return b.String()
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// escapeKeywordValue backslash-escapes quotes, backslashes and white
// space, which libpq's keyword/value syntax reads literally when escaped,
// quoted or not.
func escapeKeywordValue(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '\'', ' ', '\t', '\n', '\r', '\v', '\f':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
