package authz

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/cedar-policy/cedar-go/types"
)

// contextRecord is requestContext(req, n), from c when it was built for
// the same values (never when a policy reads the time, which changes with
// every request). A bad remote address is an error, cached or not.
func contextRecord(req *Request, n needs, c *caches) (types.Record, error) {
	var ip types.IPAddr
	if req.RemoteAddr != "" {
		var err error
		if ip, err = parseRemote(req.RemoteAddr); err != nil {
			return types.Record{}, fmt.Errorf("authz: remote address %q: %w", req.RemoteAddr, err)
		}
	}
	if c == nil || n.cx.time {
		return requestContext(req, ip, n), nil
	}
	var k contextKey
	if n.cx.operation {
		k.operation = req.Operation
	}
	if n.cx.mountType {
		k.mountType = req.MountType
	}
	if n.cx.sudo {
		k.sudo = req.Sudo
	}
	if n.cx.remoteAddr {
		k.remoteAddr = req.RemoteAddr
	}
	if n.cx.kvPath {
		k.kvPath = req.KVPath
	}
	if req.HasTTL && n.cx.ttl {
		k.hasTTL, k.ttl = true, req.TTL
	}
	return c.contextRecord(&k, func() types.Record { return requestContext(req, ip, n) }), nil
}

// parseRemote is types.ParseIPAddr(s) without its costly first attempt
// (netip.ParsePrefix, which fails with an allocated error on a plain
// address) when s has no "/".
func parseRemote(s string) (types.IPAddr, error) {
	if !strings.Contains(s, "/") && (strings.Count(s, ":") < 2 || strings.Count(s, ".") < 2) {
		if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
			return types.IPAddr(netip.PrefixFrom(a, a.BitLen())), nil
		}
	}
	return types.ParseIPAddr(s)
}

// requestContext is the Cedar context: operation, mount_type, time, sudo,
// remote_addr (ip, the parsed RemoteAddr, when known), kv_path and ttl
// (when known); those n says no policy reads are left out.
func requestContext(req *Request, ip types.IPAddr, n needs) types.Record {
	m := make(types.RecordMap, 7)
	if n.cx.operation {
		m["operation"] = types.String(req.Operation)
	}
	if n.cx.mountType {
		m["mount_type"] = types.String(req.MountType)
	}
	if n.cx.time {
		m["time"] = types.NewDatetime(req.Time)
	}
	if n.cx.sudo {
		m["sudo"] = types.Boolean(req.Sudo)
	}
	if req.RemoteAddr != "" && n.cx.remoteAddr {
		m["remote_addr"] = ip
	}
	if req.KVPath != "" && n.cx.kvPath {
		m["kv_path"] = types.String(req.KVPath)
	}
	if req.HasTTL && n.cx.ttl {
		m["ttl"] = types.NewDuration(req.TTL)
	}
	if len(m) == 0 {
		return types.Record{}
	}
	return types.NewRecord(m)
}
