package audit

// ConnGone tells whether the peer of a network device's current
// connection has closed it (the next write redials).
func ConnGone(d *NetDevice) bool {
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	return d.w.conn != nil && d.w.conn.gone.Load()
}

// SetLocalSyslogPaths replaces the local syslog sockets for a test and
// returns the function that restores them.
func SetLocalSyslogPaths(paths ...string) (restore func()) {
	old := localSyslogPaths
	localSyslogPaths = paths
	return func() { localSyslogPaths = old }
}
