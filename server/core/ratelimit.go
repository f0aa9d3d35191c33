package core

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Per-client limits of the unauthenticated routes: generous enough for
// load balancers polling sys/health and operators typing unseal keys,
// tight enough that one client cannot make a node work (or remember)
// without bound.
const (
	unauthRate       = rate.Limit(50) // requests per second, per client
	unauthBurst      = 100
	unauthMaxClients = 10_000
	unauthIdle       = time.Minute // a client's bucket is forgotten after
)

// clientLimiter rate-limits requests by client address with bounded
// memory: at most maxClients buckets; idle ones are swept, and when the
// table is still full, clients without a bucket share one overflow
// bucket (so a flood of addresses slows only the flood).
type clientLimiter struct {
	rate       rate.Limit
	burst      int
	maxClients int
	idle       time.Duration
	now        func() time.Time

	mu        sync.Mutex
	clients   map[string]*clientBucket
	overflow  *rate.Limiter
	lastSweep time.Time
}

type clientBucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newClientLimiter(now func() time.Time) *clientLimiter {
	return &clientLimiter{
		rate: unauthRate, burst: unauthBurst, maxClients: unauthMaxClients, idle: unauthIdle, now: now,
		clients: map[string]*clientBucket{}, overflow: rate.NewLimiter(unauthRate, unauthBurst),
	}
}

// allow reports whether client may make one more request now.
func (l *clientLimiter) allow(client string) bool {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.clients[client]
	if b == nil {
		if len(l.clients) >= l.maxClients {
			l.sweep(now)
		}
		if len(l.clients) >= l.maxClients {
			return l.overflow.AllowN(now, 1)
		}
		b = &clientBucket{lim: rate.NewLimiter(l.rate, l.burst)}
		l.clients[client] = b
	}
	b.seen = now
	if now.Sub(l.lastSweep) > l.idle {
		l.sweep(now)
	}
	return b.lim.AllowN(now, 1)
}

// sweep forgets the buckets of clients idle for longer than l.idle.
func (l *clientLimiter) sweep(now time.Time) {
	l.lastSweep = now
	for k, b := range l.clients {
		if now.Sub(b.seen) > l.idle {
			delete(l.clients, k)
		}
	}
}

// size is the number of clients remembered.
func (l *clientLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}
