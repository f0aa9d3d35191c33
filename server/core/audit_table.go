package core

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/secretumvault/secretumvault/audit"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// auditInput is the body of sys/audit/:path (Vault's shape).
type auditInput struct {
	Type        string            `json:"type"`
	Description string            `json:"description"`
	Options     map[string]string `json:"options"`
	Local       bool              `json:"local"`
}

// enable adds a device: it is opened first (a device that cannot write
// is refused with the reason and nothing is stored), then its keys and
// the table are stored, then new requests are audited to it.
func (a *auditDevices) enable(ctx context.Context, path string, in *auditInput, declared bool) error {
	if path == "" {
		return logical.InvalidRequest("path", "missing audit device path")
	}
	if err := audit.ValidateConfig(audit.DeviceConfig{Type: in.Type, Options: in.Options}, a.cfg.Policy); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	cur := a.set()
	if _, ok := cur.devices[path]; ok {
		return logical.InvalidRequest("path", "path already in use: an audit device is enabled at %q", path)
	}
	id, err := logical.NewUUID()
	if err != nil {
		return err
	}
	e := &auditDeviceEntry{Path: path, Type: in.Type, Description: in.Description, Options: maps.Clone(in.Options), Local: in.Local, UUID: id, Declared: declared}
	keys, err := audit.NewKeys()
	if err != nil {
		return err
	}
	d, err := a.openDevice(ctx, e, &keys)
	if err != nil {
		_ = d.sink.Close()
		a.purge(ctx, id)
		return logical.InvalidRequest("options", "failed to enable audit device %q: %v", path, err)
	}
	next := &auditTable{Entries: append(append([]*auditDeviceEntry(nil), cur.table.Entries...), e)}
	if err := a.persist(ctx, e, keys, next); err != nil {
		_ = d.sink.Close()
		a.purge(ctx, id)
		return err
	}
	devs := maps.Clone(cur.devices)
	devs[path] = d
	a.publish(next, devs)
	a.log.Info("audit: enabled device", "device", path, "type", in.Type)
	return nil
}

// persist stores a new device's keys, then the table.
func (a *auditDevices) persist(ctx context.Context, e *auditDeviceEntry, k audit.Keys, t *auditTable) error {
	rec := auditKeyRecord{HMACRoot: k.HMACRoot, SigningSeed: k.Signing.Seed()}
	if err := putJSON(ctx, a.core.barrier, auditKeysPrefix+e.UUID, rec); err != nil {
		return err
	}
	return putJSON(ctx, a.core.barrier, auditTableKey, t)
}

// purge removes a device's keys and reservation.
func (a *auditDevices) purge(ctx context.Context, id string) {
	for _, k := range []string{auditKeysPrefix + id, auditSeqPrefix + id} {
		if err := a.core.barrier.Delete(ctx, k); err != nil {
			a.log.Warn("audit: remove device record", "key", k, "error", err)
		}
	}
}

// disable removes a device: the table first, then new requests stop using
// it, then it is closed (a final checkpoint) and its keys are removed.
// Disabling a path with no device succeeds, as in Vault.
func (a *auditDevices) disable(ctx context.Context, path string, declared bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	cur := a.set()
	d, ok := cur.devices[path]
	if !ok {
		return nil
	}
	if d.entry.Declared && !declared {
		return logical.InvalidRequest("path", "the audit device %q is declared in the server configuration: remove it there", path)
	}
	next := &auditTable{}
	for _, e := range cur.table.Entries {
		if e.Path != path {
			next.Entries = append(next.Entries, e)
		}
	}
	if err := putJSON(ctx, a.core.barrier, auditTableKey, next); err != nil {
		return err
	}
	devs := maps.Clone(cur.devices)
	delete(devs, path)
	a.publish(next, devs) // closes the device once its requests are done
	a.purge(ctx, d.entry.UUID)
	a.log.Info("audit: disabled device", "device", path)
	return nil
}

// reconcileDeclared brings the table in line with the configuration's
// declared devices: a missing one is added (with new keys), a declared
// row whose block is gone is removed; a block conflicting with a device
// enabled through the API is skipped with an error. Called by start with
// a.mu held, before the devices open.
func (a *auditDevices) reconcileDeclared(ctx context.Context, t *auditTable) (*auditTable, error) {
	want := map[string]AuditDeclaration{}
	for _, dcl := range a.cfg.Devices {
		want[normalizeMountPath(dcl.Path)] = dcl
	}
	next := &auditTable{}
	changed := false
	var errs []error
	for _, e := range t.Entries {
		dcl, ok := want[e.Path]
		switch {
		case e.Declared && !ok:
			changed = true
			a.purge(ctx, e.UUID)
			continue
		case ok && !e.Declared:
			errs = append(errs, fmt.Errorf("audit: declared device %q conflicts with a device enabled through the API", e.Path))
		case ok && (dcl.Type != e.Type || !maps.Equal(dcl.Options, e.Options)):
			errs = append(errs, fmt.Errorf("audit: declared device %q differs from the enabled one: declared devices cannot be modified (remove the block, restart, add it back)", e.Path))
		}
		delete(want, e.Path)
		next.Entries = append(next.Entries, e)
	}
	for _, dcl := range a.cfg.Devices {
		path := normalizeMountPath(dcl.Path)
		if _, ok := want[path]; !ok {
			continue
		}
		e, err := a.declare(ctx, path, dcl)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		changed = true
		next.Entries = append(next.Entries, e)
	}
	if changed {
		if err := putJSON(ctx, a.core.barrier, auditTableKey, next); err != nil {
			return t, err
		}
	}
	return next, errors.Join(errs...)
}

// declare creates a declared device's row and keys.
func (a *auditDevices) declare(ctx context.Context, path string, dcl AuditDeclaration) (*auditDeviceEntry, error) {
	if err := audit.ValidateConfig(audit.DeviceConfig{Type: dcl.Type, Options: dcl.Options}, a.cfg.Policy); err != nil {
		return nil, fmt.Errorf("audit: declared device %q: %w", path, err)
	}
	id, err := logical.NewUUID()
	if err != nil {
		return nil, err
	}
	keys, err := audit.NewKeys()
	if err != nil {
		return nil, err
	}
	rec := auditKeyRecord{HMACRoot: keys.HMACRoot, SigningSeed: keys.Signing.Seed()}
	if err := putJSON(ctx, a.core.barrier, auditKeysPrefix+id, rec); err != nil {
		return nil, err
	}
	return &auditDeviceEntry{Path: path, Type: dcl.Type, Description: dcl.Description, Options: maps.Clone(dcl.Options), Local: dcl.Local, UUID: id, Declared: true}, nil
}
