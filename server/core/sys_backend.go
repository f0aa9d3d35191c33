package core

import (
	"fmt"
	"slices"
	"strings"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

const (
	// sysMountPath and sysMountType describe the system backend's mount.
	sysMountPath = "sys/"
	sysMountType = "system"
	// authPrefix precedes every auth method's mount path.
	authPrefix = "auth/"
)

// systemBackend is the backend mounted at sys/: one framework table of
// every sys path, its fields, operations and route data. Its handlers are
// the core's own operations (seal, mounts, raft membership, keys).
type systemBackend struct {
	framework.Backend
}

var (
	_ logical.Backend        = (*systemBackend)(nil)
	_ logical.RouteDescriber = (*systemBackend)(nil)
)

// sysHandlers are the system backend's path tables and handlers: the
// core's operations as the sys/ routes expose them (kept off Core's own
// method set, which is the pipeline and the seal state machine).
type sysHandlers struct{ *Core }

func newSystemBackend(core *Core) *systemBackend {
	c := sysHandlers{core}
	b := &systemBackend{}
	b.Help = "system endpoints used for control, policy and debugging"
	b.Paths = slices.Concat(c.sealPaths(), c.mountPaths(), c.authPaths(), c.keyPaths(), c.rotatePaths(),
		c.rekeyPaths(), c.generateRootPaths(), c.raftPaths(), c.autopilotPaths(), c.policyPaths(), c.explainPaths(), c.auditPaths(), c.passwordPaths(), c.leasePaths(), c.rotationPaths())
	if err := b.Init(); err != nil {
		// A bad pattern is a programming error caught by every test.
		panic(fmt.Sprintf("core: system backend: %v", err))
	}
	return b
}

// RouteInfo implements logical.RouteDescriber: as declared, plus two
// rules for authenticated routes. Every write is the Cedar action "sudo"
// (unless the path declares another), so one Cedar policy governs who may
// change the server. Vault's root-protected paths (sysRootPaths) are
// sudo routes, so a Vault HCL policy needs the sudo capability there
// exactly where Vault asks for it.
func (b *systemBackend) RouteInfo(path string, op logical.Operation) (logical.RouteInfo, bool) {
	info, ok := b.Backend.RouteInfo(path, op)
	if !ok || info.Unauthenticated {
		return info, ok
	}
	if isWrite(op) && info.Action == "" {
		info.Action = "sudo"
	}
	if isRootPath(path) {
		info.Sudo = true
	}
	return info, ok
}

// sysRootPaths are the sys/ paths Vault protects with sudo (OpenBao's
// system backend PathsSpecial.Root), beyond those declaring Sudo
// themselves (seal, raft membership, rekey and root rotation): a trailing
// "*" matches any suffix.
var sysRootPaths = []string{
	"auth/*", "remount", "audit", "audit/*", "raw", "raw/*", "rotate", "rotate/keyring", "rotate/root",
	"config/cors", "config/auditing/*", "config/ui/headers/*", "plugins/catalog/*",
	"revoke-prefix/*", "revoke-force/*", "leases/revoke-prefix/*", "leases/revoke-force/*",
	"leases/lookup/*", "leases", "internal/inspect/*", "step-down",
}

func isRootPath(path string) bool {
	path = strings.TrimSuffix(path, "/")
	for _, p := range sysRootPaths {
		if pre, glob := strings.CutSuffix(p, "*"); glob && strings.HasPrefix(path, pre) || path == p {
			return true
		}
	}
	return false
}

// isWrite reports operations that change state.
func isWrite(op logical.Operation) bool {
	switch op {
	case logical.CreateOperation, logical.UpdateOperation, logical.PatchOperation, logical.DeleteOperation:
		return true
	}
	return false
}

// ops builds an Operations map serving the write operations (update and
// create) with one handler.
func writeOp(h framework.OperationHandler) map[logical.Operation]framework.OperationHandler {
	return map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: h}
}

func readOp(h framework.OperationHandler) map[logical.Operation]framework.OperationHandler {
	return map[logical.Operation]framework.OperationHandler{logical.ReadOperation: h}
}
