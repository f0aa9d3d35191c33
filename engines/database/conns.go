package database

import (
	"context"
	"fmt"
	"sync"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// connManager holds one open dbplugin.Database per config name.
//
// Locking: mu guards the map only. A conn's own RWMutex is held for
// reading by every operation using its Database and for writing to open
// it, close it or rotate its root password (which must not overlap
// other operations). nameLocks serialise the changes of one config
// (write, delete, reset, rotate-root, lazy open); the order is nameLock,
// then conn.mu.
type connManager struct {
	b         *Backend
	mu        sync.Mutex
	m         map[string]*conn
	nameLocks stripes
}

// conn is one config's connection slot.
type conn struct {
	mu sync.RWMutex
	db dbplugin.Database // nil until opened
	// removed: the slot left the map; a holder must look it up again.
	removed bool
}

func newConnManager(b *Backend) *connManager {
	return &connManager{b: b, m: make(map[string]*conn)}
}

// slot returns name's slot, creating an empty one.
func (m *connManager) slot(name string) *conn {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.m[name]
	if c == nil {
		c = &conn{}
		m.m[name] = c
	}
	return c
}

// with runs fn with name's Database, opening it from its stored config
// if needed; fn may run concurrently with other operations on it.
func (m *connManager) with(ctx context.Context, s logical.Storage, name string, fn func(dbplugin.Database) error) error {
	for {
		c := m.slot(name)
		c.mu.RLock()
		if c.db != nil && !c.removed {
			defer c.mu.RUnlock()
			return fn(c.db)
		}
		c.mu.RUnlock()
		if err := m.open(ctx, s, name, c); err != nil {
			return err
		}
	}
}

// open opens c's Database unless another caller did (or c was removed:
// the caller then retries with a fresh slot).
func (m *connManager) open(ctx context.Context, s logical.Storage, name string, c *conn) error {
	l := m.nameLocks.Of(name)
	l.Lock()
	defer l.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.db != nil || c.removed {
		return nil
	}
	return m.openLocked(ctx, s, name, c)
}

// exclusive runs fn with name's Database held against every other
// operation; the caller holds name's nameLock.
func (m *connManager) exclusive(ctx context.Context, s logical.Storage, name string, fn func(dbplugin.Database) error) error {
	for {
		c := m.slot(name)
		c.mu.Lock()
		if c.removed {
			c.mu.Unlock()
			continue
		}
		defer c.mu.Unlock()
		if c.db == nil {
			if err := m.openLocked(ctx, s, name, c); err != nil {
				return err
			}
		}
		return fn(c.db)
	}
}

// openLocked opens c from the stored config; the caller holds name's
// nameLock and c.mu for writing. A missing config drops the slot.
func (m *connManager) openLocked(ctx context.Context, s logical.Storage, name string, c *conn) error {
	cfg, err := loadConfig(ctx, s, name)
	if err != nil {
		return err
	}
	if cfg == nil {
		c.removed = true
		m.drop(name, c)
		return fmt.Errorf("database: no connection configuration %q: %w", name, logical.ErrNotFound)
	}
	db, err := m.b.openConfigured(ctx, s, name, cfg)
	if err != nil {
		return err
	}
	c.db = db
	m.b.log.InfoContext(ctx, "database: connection opened", "name", name, "plugin_name", cfg.PluginName)
	return nil
}

// drop removes c from the map if it is still name's slot.
func (m *connManager) drop(name string, c *conn) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m[name] == c {
		delete(m.m, name)
	}
}

// replace installs an open Database as name's connection and closes the
// one it replaces (after its operations finish). The caller holds
// name's nameLock.
func (m *connManager) replace(ctx context.Context, name string, db dbplugin.Database) {
	m.mu.Lock()
	old := m.m[name]
	m.m[name] = &conn{db: db}
	m.mu.Unlock()
	if old != nil {
		m.closeConn(ctx, name, old)
	}
}

// close closes and forgets name's connection (reopened lazily). The
// caller holds name's nameLock.
func (m *connManager) close(ctx context.Context, name string) {
	m.mu.Lock()
	old := m.m[name]
	delete(m.m, name)
	m.mu.Unlock()
	if old != nil {
		m.closeConn(ctx, name, old)
	}
}

// closeAll closes every connection.
func (m *connManager) closeAll(ctx context.Context) {
	m.mu.Lock()
	all := m.m
	m.m = make(map[string]*conn)
	m.mu.Unlock()
	for name, c := range all {
		m.closeConn(ctx, name, c)
	}
}

// closeConn waits for c's operations, closes its Database and marks it
// removed.
func (m *connManager) closeConn(ctx context.Context, name string, c *conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removed = true
	if c.db == nil {
		return
	}
	if err := c.db.Close(); err != nil {
		m.b.log.WarnContext(ctx, "database: closing a connection failed", "name", name, "error", err)
	}
	c.db = nil
}
