package core

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/secretumvault/secretumvault/audit"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

// The audit devices of the active node. The table of devices (Vault's
// sys/audit) is replicated behind the barrier at core/audit, each
// device's keys at core/audit-keys/<uuid> and its seq reservation at
// core/audit-seq/<uuid>. Only the active node runs devices: it opens
// every device of the table (and those the server configuration
// declares) before it serves its first request, and closes them when it
// stops being active, so every node that becomes active audits to the
// same devices, each on its own file or socket, continuing the device's
// seq where the reservation left it.
//
// Each request is audited to the device set current when it arrived
// (request and response entry alike), so enabling or disabling a device
// never splits a request's pair of entries.

// AuditDeclaration is an audit device the server configuration declares
// (OpenBao's `audit "file" "path" { ... }` blocks): created on the active
// node when missing, never changed or disabled through the API, removed
// when the block goes.
type AuditDeclaration struct {
	Type        string
	Path        string
	Description string
	Options     map[string]string
	Local       bool
}

// AuditConfig is the server configuration's audit settings.
type AuditConfig struct {
	// Devices are the declared devices.
	Devices []AuditDeclaration
	// Policy says which options devices may use (log_raw, prefix).
	Policy audit.Policy
	// DisableAPIChanges refuses enabling and disabling devices through
	// sys/audit: only the configuration declares them.
	DisableAPIChanges bool
	// AuditHealth audits health checks, seal status, sys/leader and
	// metrics scrapes too (not audited by default, as in Vault).
	AuditHealth bool
}

// auditDeviceEntry is one row of the audit table (Vault's shape).
type auditDeviceEntry struct {
	Path        string            `json:"path"`
	Type        string            `json:"type"`
	Description string            `json:"description"`
	Options     map[string]string `json:"options"`
	Local       bool              `json:"local"`
	UUID        string            `json:"uuid"`
	// Declared: the device comes from the server configuration.
	Declared bool `json:"declared,omitempty"`
}

// auditTable is the persisted list of audit devices.
type auditTable struct {
	Entries []*auditDeviceEntry `json:"entries"`
}

// auditKeyRecord is a device's keys as stored behind the barrier.
type auditKeyRecord struct {
	HMACRoot    []byte `json:"hmac_root"`
	SigningSeed []byte `json:"signing_seed"`
}

// auditSeqRecord is a device's seq reservation: no node writes a seq
// below Next any more.
type auditSeqRecord struct {
	Next uint64 `json:"next"`
}

// liveDevice is an enabled device on the active node.
type liveDevice struct {
	entry *auditDeviceEntry
	keys  audit.Keys
	sink  *retrySink
}

// auditSet is the devices requests are audited to; immutable once
// published. A request holds its set's users lock for reading from
// arrival to answer, so a set replaced by a step-down, a seal or a table
// change closes its devices only once the requests audited to it are
// done (the response of sys/seal is recorded too).
type auditSet struct {
	broker  audit.Broker
	devices map[string]*liveDevice
	table   *auditTable
	users   sync.RWMutex
}

// enter marks a request as audited to s until the returned func runs.
func (s *auditSet) enter() func() {
	s.users.RLock()
	return s.users.RUnlock
}

// emptyAuditSet audits nowhere: no device is enabled (a standby, a sealed
// node, an active node without devices, as in Vault).
var emptyAuditSet = &auditSet{broker: audit.Nop{}, devices: map[string]*liveDevice{}, table: &auditTable{}}

// auditDevices runs the active node's devices.
type auditDevices struct {
	core *Core
	cfg  AuditConfig
	log  *slog.Logger
	// mu serialises start, stop and table changes.
	mu       sync.Mutex
	current  atomic.Pointer[auditSet]
	failures sync.Map // device path -> *atomic.Uint64
	// retired is closed once the devices of the last retired set are
	// closed (nil: none pending); start waits for it, briefly, so a
	// reopened file is not still locked by its previous device.
	retired chan struct{}
}

// retireWait bounds how long start waits for retired devices to close: a
// request still using them (one that reseals and reactivates the node
// itself, a snapshot restore) holds them until it is answered.
const retireWait = time.Second

func newAuditDevices(c *Core, cfg AuditConfig) *auditDevices {
	a := &auditDevices{core: c, cfg: cfg, log: c.logger.With(slog.String("subsystem", "audit"))}
	a.current.Store(emptyAuditSet)
	return a
}

// set returns the current device set.
func (a *auditDevices) set() *auditSet { return a.current.Load() }

// start opens the table's devices (adding and removing declared ones) for
// a new active period. A device that cannot be opened stays in the set
// and fails every entry until it opens (retrySink), so requests fail
// closed when it is the only one.
func (a *auditDevices) start(ctx context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.retire(a.current.Swap(emptyAuditSet), nil)
	if a.retired != nil {
		select {
		case <-a.retired:
		case <-time.After(retireWait):
			a.log.Warn("audit: previous devices still in use; their files are retried until released")
		}
	}
	t, err := a.loadTable(ctx)
	if err != nil {
		a.log.Error("audit: cannot read the audit table; every request will be refused", "error", err)
		a.current.Store(&auditSet{broker: failingBroker{err}, devices: map[string]*liveDevice{}, table: &auditTable{}})
		return
	}
	if t, err = a.reconcileDeclared(ctx, t); err != nil {
		a.log.Error("audit: cannot apply the configuration's audit devices", "error", err)
	}
	devs := map[string]*liveDevice{}
	for _, e := range t.Entries {
		d, err := a.openDevice(ctx, e, nil)
		if err != nil {
			a.log.Error("audit: device unavailable; it is retried on every request", "device", e.Path, "error", err)
		}
		devs[e.Path] = d
	}
	a.publish(t, devs)
}

// stop audits nowhere from now on and closes every device (a final
// checkpoint each) once the requests audited to them are done; done is
// closed then (nil: do not wait).
func (a *auditDevices) stop(done chan struct{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.retire(a.current.Swap(emptyAuditSet), done)
}

// retire closes the devices of a replaced set that the new set does not
// keep, in the background, once no request uses the set any more (the
// caller may itself be such a request: sys/seal).
func (a *auditDevices) retire(old *auditSet, done chan struct{}) {
	keep := a.current.Load().devices
	var closing []*liveDevice
	for path, d := range old.devices {
		if keep[path] != d {
			closing = append(closing, d)
		}
	}
	if done == nil {
		done = make(chan struct{})
	}
	if len(closing) == 0 {
		close(done)
		return
	}
	a.retired = done
	go func() {
		old.users.Lock()
		defer old.users.Unlock()
		for _, d := range closing {
			if err := d.sink.Close(); err != nil {
				a.log.Warn("audit: close device", "device", d.entry.Path, "error", err)
			}
		}
		close(done)
		// A device of the current set waiting for a file these held
		// opens on its next entry.
		for _, d := range a.current.Load().devices {
			d.sink.retryNow()
		}
	}()
}

// publish makes a new set current.
func (a *auditDevices) publish(t *auditTable, devs map[string]*liveDevice) {
	names := make([]string, 0, len(devs))
	for n := range devs {
		names = append(names, n)
	}
	sort.Strings(names)
	sinks := make([]audit.NamedSink, 0, len(names))
	for _, n := range names {
		sinks = append(sinks, audit.NamedSink{Name: n, Sink: devs[n].sink})
	}
	var b audit.Broker = audit.Nop{}
	if len(sinks) > 0 {
		b = audit.NewFanout(sinks, audit.FanoutOptions{OnFailure: a.failed})
	}
	a.retire(a.current.Swap(&auditSet{broker: b, devices: devs, table: t}), nil)
}

// failed counts and logs one device's failure to record an entry.
func (a *auditDevices) failed(device string, err error) {
	n, _ := a.failures.LoadOrStore(device, new(atomic.Uint64))
	n.(*atomic.Uint64).Add(1)
	a.log.Error("audit: device failed to record an entry", "device", device, "error", err)
}

// Failures returns how many entries each device failed to record since
// the process started (secretum_vault_audit_log_failures_total).
func (a *auditDevices) Failures() map[string]uint64 {
	out := map[string]uint64{}
	a.failures.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Uint64).Load()
		return true
	})
	return out
}

// openDevice loads (or, with fresh keys, stores) a device's keys and
// opens it through a retrySink. The sink is returned even when opening
// failed (it retries); keys non-nil means a new device.
func (a *auditDevices) openDevice(ctx context.Context, e *auditDeviceEntry, fresh *audit.Keys) (*liveDevice, error) {
	var k audit.Keys
	if fresh != nil {
		k = *fresh
	} else {
		var err error
		if k, err = a.loadKeys(ctx, e.UUID); err != nil {
			s := newRetrySink(e.Path, func() (audit.Sink, error) { return nil, err })
			return &liveDevice{entry: e, sink: s}, err
		}
	}
	d := &liveDevice{entry: e, keys: k}
	d.sink = newRetrySink(e.Path, func() (audit.Sink, error) { return a.openSink(e, k) })
	return d, d.sink.open()
}

// openSink opens a device continuing from its replicated reservation.
func (a *auditDevices) openSink(e *auditDeviceEntry, k audit.Keys) (audit.Sink, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	floor, err := a.loadSeq(ctx, e.UUID)
	if err != nil {
		return nil, err
	}
	key := auditSeqPrefix + e.UUID
	reserve := func(ctx context.Context, upTo uint64) error {
		return putJSON(ctx, a.core.barrier, key, auditSeqRecord{Next: upTo})
	}
	return audit.Open(audit.DeviceConfig{Type: e.Type, Options: e.Options}, a.cfg.Policy, k, audit.Chain{Floor: floor, Reserve: reserve})
}

// reopen reopens every file device (after its file was renamed away by
// log rotation; SIGHUP).
func (a *auditDevices) reopen() error {
	var errs []error
	for path, d := range a.set().devices {
		if err := d.sink.reopen(); err != nil {
			errs = append(errs, fmt.Errorf("audit: reopen %s: %w", path, err))
		}
	}
	return errors.Join(errs...)
}

func (a *auditDevices) loadTable(ctx context.Context) (*auditTable, error) {
	t := &auditTable{}
	ok, err := getJSON(ctx, a.core.barrier, auditTableKey, t)
	if err != nil || !ok {
		return t, err
	}
	return t, nil
}

func (a *auditDevices) loadKeys(ctx context.Context, id string) (audit.Keys, error) {
	var r auditKeyRecord
	ok, err := getJSON(ctx, a.core.barrier, auditKeysPrefix+id, &r)
	if err == nil && (!ok || len(r.SigningSeed) != ed25519.SeedSize || len(r.HMACRoot) != audit.RootKeySize) {
		err = errors.New("core: audit device keys missing or damaged")
	}
	if err != nil {
		return audit.Keys{}, err
	}
	return audit.Keys{HMACRoot: r.HMACRoot, Signing: ed25519.NewKeyFromSeed(r.SigningSeed)}, nil
}

func (a *auditDevices) loadSeq(ctx context.Context, id string) (uint64, error) {
	var r auditSeqRecord
	if _, err := getJSON(ctx, a.core.barrier, auditSeqPrefix+id, &r); err != nil {
		return 0, err
	}
	return r.Next, nil
}

// getJSON reads and decodes key; false when absent.
func getJSON(ctx context.Context, b storage.Backend, key string, v any) (bool, error) {
	e, err := b.Get(ctx, key)
	if err != nil {
		return false, fmt.Errorf("core: read %s: %w", key, err)
	}
	if e == nil {
		return false, nil
	}
	if err := json.Unmarshal(e.Value, v); err != nil {
		return false, fmt.Errorf("core: decode %s: %w", key, err)
	}
	return true, nil
}

// putJSON encodes and writes v at key.
func putJSON(ctx context.Context, b storage.Backend, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("core: encode %s: %w", key, err)
	}
	if err := b.Put(ctx, &storage.Entry{Key: key, Value: raw}); err != nil {
		return fmt.Errorf("core: write %s: %w", key, err)
	}
	return nil
}

// failingBroker refuses every entry (the audit table is unreadable).
type failingBroker struct{ err error }

func (f failingBroker) LogRequest(context.Context, *audit.Entry) error  { return f.err }
func (f failingBroker) LogResponse(context.Context, *audit.Entry) error { return f.err }

// errAuditAPIDisabled: the server configuration manages the devices.
var errAuditAPIDisabled = fmt.Errorf("%w: audit devices are managed in the server configuration", logical.ErrInvalidRequest)
