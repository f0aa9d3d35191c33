package database

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// nameRe is Vault's framework.GenericNameRegex("name").
const nameRe = `(?P<name>\w(([\w-.]+)?\w)?)`

// passwordInURLWarning is Vault's warning for a connection_url that
// embeds a password.
const passwordInURLWarning = "Password found in connection_url, use a templated url to enable root rotation and prevent read access to password information."

func configFields() map[string]*framework.FieldSchema {
	return map[string]*framework.FieldSchema{
		"name":                     {Type: framework.TypeString, Description: "Name of the connection."},
		"plugin_name":              {Type: framework.TypeString, Description: "Database plugin: postgresql-database-plugin, mysql-database-plugin, ..."},
		"plugin_version":           {Type: framework.TypeString, Description: "Accepted for compatibility; builtin plugins have no version."},
		"connection_url":           {Type: framework.TypeString, Description: "Connection string; use {{username}} and {{password}} templates."},
		"username":                 {Type: framework.TypeString, Description: "The connection's (root) user."},
		"password":                 {Type: framework.TypeString, Description: "The connection's (root) password; never returned."},
		"allowed_roles":            {Type: framework.TypeStringSlice, Description: `Roles allowed to use this connection (globs; "*" for all).`},
		"verify_connection":        {Type: framework.TypeBool, Default: true, Description: "Connect and ping when the config is written."},
		"max_open_connections":     {Type: framework.TypeInt, Description: "Maximum open connections (0: the plugin's default)."},
		"max_idle_connections":     {Type: framework.TypeInt, Description: "Maximum idle connections (0: the plugin's default)."},
		"max_connection_lifetime":  {Type: framework.TypeDuration, Description: "Maximum lifetime of a connection (0: unlimited)."},
		"password_policy":          {Type: framework.TypeString, Description: "Password policy generating the passwords of this connection's users."},
		"username_template":        {Type: framework.TypeString, Description: "Template of generated usernames."},
		"root_rotation_statements": {Type: framework.TypeStringSlice, Description: "Statements rotating the root password (default: the plugin's)."},
	}
}

// configInput is a config write; nil means "not sent".
type configInput struct {
	PluginName             *string        `json:"plugin_name"`
	ConnectionURL          *string        `json:"connection_url"`
	Username               *string        `json:"username"`
	Password               *string        `json:"password"`
	AllowedRoles           *[]string      `json:"allowed_roles"`
	VerifyConnection       bool           `json:"verify_connection"`
	MaxOpenConnections     *int           `json:"max_open_connections"`
	MaxIdleConnections     *int           `json:"max_idle_connections"`
	MaxConnectionLifetime  *time.Duration `json:"max_connection_lifetime"`
	PasswordPolicy         *string        `json:"password_policy"`
	UsernameTemplate       *string        `json:"username_template"`
	RootRotationStatements *[]string      `json:"root_rotation_statements"`
}

// apply sets the fields the request carries on cfg.
func (in *configInput) apply(cfg *connConfig) {
	set(&cfg.PluginName, in.PluginName)
	set(&cfg.ConnectionURL, in.ConnectionURL)
	set(&cfg.Username, in.Username)
	if in.Password != nil {
		cfg.Password, cfg.PendingPassword = *in.Password, ""
	}
	set(&cfg.AllowedRoles, in.AllowedRoles)
	cfg.VerifyConnection = in.VerifyConnection
	set(&cfg.MaxOpenConnections, in.MaxOpenConnections)
	set(&cfg.MaxIdleConnections, in.MaxIdleConnections)
	set(&cfg.MaxConnectionLifetime, in.MaxConnectionLifetime)
	set(&cfg.PasswordPolicy, in.PasswordPolicy)
	set(&cfg.UsernameTemplate, in.UsernameTemplate)
	set(&cfg.RootRotationStatements, in.RootRotationStatements)
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// validate checks a config before it is tried.
func (b *Backend) validateConfig(cfg *connConfig) error {
	switch {
	case cfg.PluginName == "":
		return logical.InvalidRequest("plugin_name", "missing required field")
	case b.plugins[cfg.PluginName] == nil:
		return logical.InvalidRequest("plugin_name", "unknown database plugin %q", cfg.PluginName)
	case cfg.ConnectionURL == "":
		return logical.InvalidRequest("connection_url", "missing required field")
	case cfg.MaxOpenConnections < 0:
		return logical.InvalidRequest("max_open_connections", "must not be negative")
	case cfg.MaxIdleConnections < 0:
		return logical.InvalidRequest("max_idle_connections", "must not be negative")
	case cfg.MaxConnectionLifetime < 0:
		return logical.InvalidRequest("max_connection_lifetime", "must not be negative")
	}
	return nil
}

func (b *Backend) pathConfigList() *framework.Path {
	return &framework.Path{
		Pattern:      `config/?`,
		Operations:   map[logical.Operation]framework.OperationHandler{logical.ListOperation: b.handleConfigList},
		HelpSynopsis: "List the configured connections.",
	}
}

func (b *Backend) pathConfig() *framework.Path {
	return &framework.Path{
		Pattern: `config/` + nameRe,
		Fields:  configFields(),
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation:   b.handleConfigRead,
			logical.UpdateOperation: b.handleConfigWrite,
			logical.DeleteOperation: b.handleConfigDelete,
		},
		ExistenceCheck: func(ctx context.Context, req *logical.Request, d *framework.FieldData) (bool, error) {
			cfg, err := loadConfig(ctx, req.Storage, d.String("name"))
			return cfg != nil, err
		},
		HelpSynopsis: "Configure a connection to a database server.",
	}
}

func (b *Backend) pathReset() *framework.Path {
	return &framework.Path{
		Pattern:      `reset/` + nameRe,
		Fields:       map[string]*framework.FieldSchema{"name": {Type: framework.TypeString}},
		Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleReset},
		HelpSynopsis: "Close and reopen a connection.",
	}
}

func (b *Backend) handleConfigList(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	return listKeys(ctx, req.Storage, configPrefix)
}

// mustConfig loads a config; a missing one is logical.ErrNotFound.
func mustConfig(ctx context.Context, s logical.Storage, name string) (*connConfig, error) {
	cfg, err := loadConfig(ctx, s, name)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, fmt.Errorf("database: no connection configuration %q: %w", name, logical.ErrNotFound)
	}
	return cfg, nil
}

func (b *Backend) handleConfigRead(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	cfg, err := mustConfig(ctx, req.Storage, d.String("name"))
	if err != nil {
		return nil, err
	}
	details := map[string]any{
		"connection_url":          redactURL(cfg.ConnectionURL),
		"username":                cfg.Username,
		"max_open_connections":    cfg.MaxOpenConnections,
		"max_idle_connections":    cfg.MaxIdleConnections,
		"max_connection_lifetime": cfg.MaxConnectionLifetime.String(),
	}
	if cfg.UsernameTemplate != "" {
		details["username_template"] = cfg.UsernameTemplate
	}
	return &logical.Response{Data: map[string]any{
		"plugin_name":                        cfg.PluginName,
		"plugin_version":                     "",
		"connection_details":                 details,
		"allowed_roles":                      nonNil(cfg.AllowedRoles),
		"password_policy":                    cfg.PasswordPolicy,
		"root_credentials_rotate_statements": nonNil(cfg.RootRotationStatements),
		"verify_connection":                  cfg.VerifyConnection,
	}}, nil
}

// nonNil renders a nil list as [] (Vault's responses never hold null
// lists).
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// handleConfigWrite creates or updates a connection: the fields sent
// replace the stored ones, the plugin is initialised (connecting when
// verify_connection is true), and the new connection replaces the old.
func (b *Backend) handleConfigWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.String("name")
	var in configInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	l := b.conns.nameLocks.Of(name)
	l.Lock()
	defer l.Unlock()
	cfg, err := loadConfig(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if cfg == nil || in.Password != nil {
		if cfg == nil {
			cfg = &connConfig{}
		}
		cfg.PasswordSetAt = b.now()
	}
	in.apply(cfg)
	if err := b.validateConfig(cfg); err != nil {
		return nil, err
	}
	db, err := b.openWritten(ctx, req.Storage, name, cfg)
	if err != nil {
		return nil, err
	}
	if err := putJSON(ctx, req.Storage, configPrefix+name, cfg); err != nil {
		_ = db.Close()
		return nil, err
	}
	b.conns.replace(ctx, name, db)
	b.log.InfoContext(ctx, "database: connection configured", "name", name, "plugin_name", cfg.PluginName)
	if urlHasPassword(cfg.ConnectionURL) {
		return &logical.Response{Warnings: []string{passwordInURLWarning}}, nil
	}
	return nil, nil
}

// openWritten initialises a written config's Database; a failure is the
// client's 400, as in Vault.
func (b *Backend) openWritten(ctx context.Context, s logical.Storage, name string, cfg *connConfig) (dbplugin.Database, error) {
	var db dbplugin.Database
	var err error
	if cfg.PendingPassword != "" {
		// A root rotation was interrupted and no new password was sent.
		db, err = b.openConfigured(ctx, s, name, cfg)
	} else {
		db, err = b.initialize(ctx, cfg, cfg.Password, cfg.VerifyConnection)
	}
	if err != nil && !errors.Is(err, logical.ErrInvalidRequest) {
		return nil, logical.InvalidRequest("", "%s", err.Error())
	}
	return db, err
}

func (b *Backend) handleConfigDelete(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.String("name")
	l := b.conns.nameLocks.Of(name)
	l.Lock()
	defer l.Unlock()
	if err := deleteKey(ctx, req.Storage, configPrefix+name); err != nil {
		return nil, err
	}
	b.conns.close(ctx, name)
	return nil, nil
}

// handleReset closes a connection and opens it again from its config.
func (b *Backend) handleReset(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.String("name")
	l := b.conns.nameLocks.Of(name)
	l.Lock()
	defer l.Unlock()
	if _, err := mustConfig(ctx, req.Storage, name); err != nil {
		return nil, err
	}
	b.conns.close(ctx, name)
	return nil, b.conns.exclusive(ctx, req.Storage, name, func(dbplugin.Database) error { return nil })
}
