package database

import (
	"context"
	"fmt"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// pluginConfig is cfg as the plugin takes it, with password as the
// password and verify as VerifyConnection.
func pluginConfig(cfg *connConfig, password string, verify bool) dbplugin.Config {
	return dbplugin.Config{
		ConnectionURL:         cfg.ConnectionURL,
		Username:              cfg.Username,
		Password:              password,
		MaxOpenConnections:    cfg.MaxOpenConnections,
		MaxIdleConnections:    cfg.MaxIdleConnections,
		MaxConnectionLifetime: cfg.MaxConnectionLifetime,
		VerifyConnection:      verify,
		UsernameTemplate:      cfg.UsernameTemplate,
	}
}

// initialize makes a Database of cfg's plugin and initialises it. The
// error names no secret (it is scrubbed of the password and the URL).
func (b *Backend) initialize(ctx context.Context, cfg *connConfig, password string, verify bool) (dbplugin.Database, error) {
	mk := b.plugins[cfg.PluginName]
	if mk == nil {
		return nil, logical.InvalidRequest("plugin_name", "unknown database plugin %q", cfg.PluginName)
	}
	db := mk()
	if err := db.Initialize(ctx, pluginConfig(cfg, password, verify)); err != nil {
		_ = db.Close()
		return nil, scrub(fmt.Errorf("error creating database object: %w", err), secretsOf(password, cfg.ConnectionURL)...)
	}
	return db, nil
}

// openConfigured opens a stored config's connection. When a root
// rotation was interrupted (PendingPassword set), it connects with the
// stored password and, failing that, with the pending one, and stores
// whichever the server accepted. The caller holds name's nameLock.
func (b *Backend) openConfigured(ctx context.Context, s logical.Storage, name string, cfg *connConfig) (dbplugin.Database, error) {
	if cfg.PendingPassword == "" {
		return b.initialize(ctx, cfg, cfg.Password, cfg.VerifyConnection)
	}
	db, err := b.initialize(ctx, cfg, cfg.Password, true)
	if err != nil {
		db, err = b.initialize(ctx, cfg, cfg.PendingPassword, true)
		if err != nil {
			return nil, fmt.Errorf("database: connection %q after an interrupted root rotation: %w", name, err)
		}
		cfg.Password, cfg.PasswordSetAt = cfg.PendingPassword, b.now()
		b.log.InfoContext(ctx, "database: interrupted root rotation completed", "name", name)
	}
	cfg.PendingPassword = ""
	if err := putJSON(ctx, s, configPrefix+name, cfg); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}
