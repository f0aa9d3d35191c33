package cluster_test

import (
	"context"
	"io"
	"testing"

	"github.com/secretumvault/secretumvault/server/cluster"
)

// BenchmarkDialHandshake measures one outbound cluster connection: TCP from
// 127.0.0.2, mutual TLS 1.3 handshake with ECDSA P-256, ALPN, delivery by
// the mux.
func BenchmarkDialHandshake(b *testing.B) {
	ca, err := cluster.NewCA()
	if err != nil {
		b.Fatal(err)
	}
	sid, _ := ca.IssueIdentity("server")
	cid, _ := ca.IssueIdentity("client")
	m, err := cluster.Listen("127.0.0.1:0", sid, cluster.ProtoRaft)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	l := m.Listener(cluster.ProtoRaft)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	d, _ := cluster.NewDialer("127.0.0.2", func() *cluster.NodeIdentity { return cid })
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		c, err := d.DialContext(ctx, m.Addr().String(), cluster.ProtoRaft)
		if err != nil {
			b.Fatal(err)
		}
		_ = c.Close()
	}
}

// BenchmarkStreamThroughput measures bulk data over one established cluster
// TLS connection (raft log replication is bulk writes on pooled conns).
func BenchmarkStreamThroughput(b *testing.B) {
	ca, _ := cluster.NewCA()
	sid, _ := ca.IssueIdentity("server")
	cid, _ := ca.IssueIdentity("client")
	m, err := cluster.Listen("127.0.0.1:0", sid, cluster.ProtoRaft)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	l := m.Listener(cluster.ProtoRaft)
	go func() {
		c, err := l.Accept()
		if err == nil {
			_, _ = io.Copy(io.Discard, c)
			_ = c.Close()
		}
	}()
	d, _ := cluster.NewDialer("", func() *cluster.NodeIdentity { return cid })
	c, err := d.DialContext(context.Background(), m.Addr().String(), cluster.ProtoRaft)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
}
