package core

import "github.com/secretumvault/secretumvault/engines/framework"

// SystemRouteDocs describes the sys/ routes (relative to sys/), for the
// generated API reference.
func (c *Core) SystemRouteDocs() []framework.PathDoc { return c.sys.Docs() }
