package cluster

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"sync"
)

// Network is the fault-injection layer between cluster nodes: one Proxy per
// node in front of its cluster port, and one shared table of blocked
// (from, to) pairs.
//
// A connection's source node is identified by its source IP: every node
// dials its peers from its own cluster IP (127.0.0.11, 127.0.0.12, ...), and
// Network maps those IPs to node ids. A connection from an IP that maps to no
// node is forwarded and counted (Stats().Unidentified), never blocked.
//
// Blocking is per TCP connection: Block(a, b) refuses connections that a
// opens to b's proxy and cuts the ones already open; b may still open
// connections to a (and both directions of such a connection flow), which is
// what a one-way firewall rule on connection set-up does. Partition blocks
// both directions between groups. All methods are safe for concurrent use.
type Network struct {
	ipToNode map[string]string

	mu           sync.Mutex
	blocked      map[link]bool
	proxies      []*Proxy
	accepted     int
	refused      int
	cut          int
	unidentified int
}

// link is one direction of traffic, identified by node ids.
type link struct{ from, to string }

// NetworkStats counts what the proxies did since the Network was created.
type NetworkStats struct {
	Accepted     int // connections forwarded
	Refused      int // connections closed at accept because the link was blocked
	Cut          int // forwarded connections closed later by Block or Partition
	Unidentified int // connections whose source IP maps to no node
}

// NewNetwork returns a Network whose proxies identify a connection's source
// node by ipToNode[source IP].
func NewNetwork(ipToNode map[string]string) *Network {
	m := make(map[string]string, len(ipToNode))
	for ip, id := range ipToNode {
		m[ip] = id
	}
	return &Network{ipToNode: m, blocked: make(map[link]bool)}
}

// Proxy listens on 127.0.0.1:0 and forwards every accepted connection to
// target, the real cluster address of node `to`, unless the link from the
// connection's source node to `to` is blocked.
type Proxy struct {
	net    *Network
	to     string
	target string
	ln     net.Listener

	mu     sync.Mutex
	conns  map[*proxyConn]bool
	closed bool
	wg     sync.WaitGroup
}

// proxyConn is one forwarded connection: client side and target side.
type proxyConn struct {
	from, to       string
	client, target net.Conn
	once           sync.Once
}

func (c *proxyConn) close() {
	c.once.Do(func() {
		c.client.Close()
		c.target.Close()
	})
}

// NewProxy starts a proxy for node `to` forwarding to target.
func (n *Network) NewProxy(to, target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy for %s: listen: %w", to, err)
	}
	p := &Proxy{net: n, to: to, target: target, ln: ln, conns: make(map[*proxyConn]bool)}
	n.mu.Lock()
	n.proxies = append(n.proxies, p)
	n.mu.Unlock()
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr is the proxy's listening address (host:port), the address its node
// advertises as cluster_addr.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Close stops accepting and closes every forwarded connection.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	conns := make([]*proxyConn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	err := p.ln.Close()
	for _, c := range conns {
		c.close()
	}
	p.wg.Wait()
	return err
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		conn, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		p.wg.Add(1)
		go p.handle(conn)
	}
}

// handle dials the target and copies both ways until either side closes or
// the link is blocked.
func (p *Proxy) handle(client net.Conn) {
	defer p.wg.Done()
	from := p.net.sourceNode(client)
	if !p.net.admit(from, p.to) {
		client.Close()
		return
	}
	target, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	c := &proxyConn{from: from, to: p.to, client: client, target: target}
	if !p.track(c) {
		c.close()
		return
	}
	// The link may have been blocked between admit and track; recheck so
	// that no connection outlives a Block call.
	if p.net.isBlocked(from, p.to) {
		p.untrack(c)
		c.close()
		return
	}
	done := make(chan struct{}, 2)
	go func() { io.Copy(target, client); done <- struct{}{} }()
	go func() { io.Copy(client, target); done <- struct{}{} }()
	<-done
	c.close()
	<-done
	p.untrack(c)
}

func (p *Proxy) track(c *proxyConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = true
	return true
}

func (p *Proxy) untrack(c *proxyConn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// cutBlocked closes this proxy's connections whose link is now blocked and
// returns how many it closed. The caller holds n.mu.
func (p *Proxy) cutBlocked(blocked map[link]bool) int {
	p.mu.Lock()
	var cut []*proxyConn
	for c := range p.conns {
		if blocked[link{c.from, c.to}] {
			cut = append(cut, c)
			delete(p.conns, c)
		}
	}
	p.mu.Unlock()
	for _, c := range cut {
		c.close()
	}
	return len(cut)
}

// sourceNode maps a connection's source IP to a node id ("" if unknown).
func (n *Network) sourceNode(c net.Conn) string {
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return ""
	}
	return n.ipToNode[host]
}

// admit records the connection and reports whether it may be forwarded.
func (n *Network) admit(from, to string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if from == "" {
		n.unidentified++
	}
	if n.blocked[link{from, to}] {
		n.refused++
		return false
	}
	n.accepted++
	return true
}

func (n *Network) isBlocked(from, to string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.blocked[link{from, to}]
}

// Block refuses new connections from node `from` to node `to` and closes the
// open ones.
func (n *Network) Block(from, to string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.blocked[link{from, to}] = true
	n.cutLocked()
}

// Unblock lets node `from` connect to node `to` again.
func (n *Network) Unblock(from, to string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.blocked, link{from, to})
}

// Partition replaces the current rules: any two nodes in different groups
// are blocked in both directions; nodes in the same group, and nodes in no
// group, are not blocked from each other. Open connections that are now
// blocked are closed at once.
func (n *Network) Partition(groups ...[]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.blocked = make(map[link]bool)
	for i, g := range groups {
		for j, h := range groups {
			if i == j {
				continue
			}
			for _, a := range g {
				for _, b := range h {
					n.blocked[link{a, b}] = true
				}
			}
		}
	}
	n.cutLocked()
}

// Heal removes every rule.
func (n *Network) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.blocked = make(map[link]bool)
}

// Blocked lists the blocked links as "from->to", sorted (for test logs).
func (n *Network) Blocked() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]string, 0, len(n.blocked))
	for l := range n.blocked {
		out = append(out, l.from+"->"+l.to)
	}
	sort.Strings(out)
	return out
}

// Stats returns the connection counters.
func (n *Network) Stats() NetworkStats {
	n.mu.Lock()
	defer n.mu.Unlock()
	return NetworkStats{Accepted: n.accepted, Refused: n.refused, Cut: n.cut, Unidentified: n.unidentified}
}

// Close closes every proxy.
func (n *Network) Close() error {
	n.mu.Lock()
	proxies := n.proxies
	n.proxies = nil
	n.mu.Unlock()
	var errs []error
	for _, p := range proxies {
		if err := p.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (n *Network) cutLocked() {
	for _, p := range n.proxies {
		n.cut += p.cutBlocked(n.blocked)
	}
}
