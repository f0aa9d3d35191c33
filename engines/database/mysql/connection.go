package mysql

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
)

// credentials are the login of the plugin's own pool. The driver reads
// the password for each new connection (BeforeConnect), so root rotation
// only has to change it here: open connections stay logged in.
type credentials struct {
	mu         sync.RWMutex
	configUser string // Config.Username
	loginUser  string // the user the pool logs in as
	password   string // Config.Password, or the rotated one
	passwdTmpl string // the DSN's password, with token for {{password}}
	token      string
}

// passwd is the password the pool logs in with.
func (c *credentials) passwd() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return strings.ReplaceAll(c.passwdTmpl, c.token, c.password)
}

// isRoot reports whether username is the plugin's own user.
func (c *credentials) isRoot(username string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return username != "" && (username == c.configUser || username == c.loginUser)
}

// rotated records username's new password (username is the root user):
// later connections log in with it. Call it with c.mu held.
func (c *credentials) rotatedLocked(username, password string) {
	c.password = password
	if username == c.loginUser && !strings.Contains(c.passwdTmpl, c.token) {
		c.passwdTmpl = c.token
	}
}

// secrets returns the passwords an error must never show.
func (c *credentials) secrets() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return []string{c.password, strings.ReplaceAll(c.passwdTmpl, c.token, c.password)}
}

// poolConfig is Config made concrete for database/sql.
type poolConfig struct {
	driver   *mysql.Config
	creds    *credentials
	maxOpen  int
	maxIdle  int
	lifetime time.Duration
}

// newPoolConfig checks cfg and parses its DSN. {{username}} and
// {{password}} may only stand in the DSN's user and password; they are
// replaced after parsing, so no character of theirs needs escaping.
func newPoolConfig(cfg dbplugin.Config) (*poolConfig, error) {
	switch {
	case strings.TrimSpace(cfg.ConnectionURL) == "":
		return nil, fmt.Errorf("%w: connection_url is empty", dbplugin.ErrInvalidConfig)
	case cfg.MaxOpenConnections < 0:
		return nil, fmt.Errorf("%w: max_open_connections is negative", dbplugin.ErrInvalidConfig)
	case cfg.MaxIdleConnections < 0:
		return nil, fmt.Errorf("%w: max_idle_connections is negative", dbplugin.ErrInvalidConfig)
	case cfg.MaxConnectionLifetime < 0:
		return nil, fmt.Errorf("%w: max_connection_lifetime is negative", dbplugin.ErrInvalidConfig)
	}
	var raw [12]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("mysql: placeholder token: %w", err)
	}
	userTok, passTok := "svu"+hex.EncodeToString(raw[:]), "svp"+hex.EncodeToString(raw[:])
	dsn := strings.NewReplacer("{{username}}", userTok, "{{password}}", passTok).Replace(cfg.ConnectionURL)
	mc, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: connection_url: %w", dbplugin.ErrInvalidConfig, redact(err, false, cfg.Password))
	}
	if tokenOutsideUserinfo(mc, userTok, passTok) {
		return nil, fmt.Errorf("%w: connection_url: {{username}} and {{password}} may only stand in the user and password parts",
			dbplugin.ErrInvalidConfig)
	}
	creds := &credentials{
		configUser: cfg.Username,
		loginUser:  strings.ReplaceAll(mc.User, userTok, cfg.Username),
		password:   cfg.Password,
		passwdTmpl: strings.ReplaceAll(mc.Passwd, userTok, cfg.Username),
		token:      passTok,
	}
	mc.User, mc.Passwd = creds.loginUser, ""
	if err := mc.Apply(mysql.BeforeConnect(func(_ context.Context, c *mysql.Config) error {
		c.Passwd = creds.passwd()
		return nil
	})); err != nil {
		return nil, fmt.Errorf("%w: connection_url: %w", dbplugin.ErrInvalidConfig, err)
	}
	pc := &poolConfig{driver: mc, creds: creds, maxOpen: cfg.MaxOpenConnections,
		maxIdle: cfg.MaxIdleConnections, lifetime: cfg.MaxConnectionLifetime}
	if pc.maxOpen == 0 {
		pc.maxOpen = DefaultMaxOpenConnections
	}
	if pc.maxIdle == 0 || pc.maxIdle > pc.maxOpen {
		pc.maxIdle = pc.maxOpen
	}
	return pc, nil
}

// tokenOutsideUserinfo reports whether a placeholder token ended up
// anywhere but the DSN's user and password.
func tokenOutsideUserinfo(mc *mysql.Config, toks ...string) bool {
	fields := []string{mc.Net, mc.Addr, mc.DBName}
	for k, v := range mc.Params {
		fields = append(fields, k, v)
	}
	for _, f := range fields {
		for _, t := range toks {
			if strings.Contains(f, t) {
				return true
			}
		}
	}
	return false
}

// open returns the pool; it connects lazily.
func (pc *poolConfig) open() (*sql.DB, error) {
	connector, err := mysql.NewConnector(pc.driver)
	if err != nil {
		return nil, fmt.Errorf("%w: connection_url: %w", dbplugin.ErrInvalidConfig, err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(pc.maxOpen)
	db.SetMaxIdleConns(pc.maxIdle)
	db.SetConnMaxLifetime(pc.lifetime)
	return db, nil
}
