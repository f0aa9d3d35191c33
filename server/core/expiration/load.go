package expiration

import (
	"errors"
	"sync"
	"time"
)

// The load reads records loadBatch at a time, loadReaders batches at once,
// and indexes listed ids insertChunk at a time, so that no phase holds
// the manager's lock for long.
const (
	loadBatch   = 256
	loadReaders = 4
	insertChunk = 4096
)

// load is the period's background load: list every lease id (from then
// on the quota counts are exact), then read the records in batches and
// schedule each lease; leases already expired are due at once. Storage
// errors are retried with backoff until Stop. Loaded is closed at the end.
func (m *Manager) load(p *period, x *index, loaded chan struct{}) {
	defer p.wg.Done()
	start := time.Now()
	var ids []string
	ok := m.retry(p, "list leases", func() error {
		ids = ids[:0]
		return walk(p.ctx, m.cfg.Storage, idPrefix, func(id string) error {
			ids = append(ids, id)
			return nil
		})
	})
	if !ok {
		return
	}
	m.indexListed(x, ids)
	listed := time.Since(start)
	batches := make(chan []string)
	var wg sync.WaitGroup
	for range loadReaders {
		wg.Go(func() {
			for b := range batches {
				m.loadBatch(p, x, b)
			}
		})
	}
	for i := 0; i < len(ids) && p.ctx.Err() == nil; i += loadBatch {
		select {
		case batches <- ids[i:min(i+loadBatch, len(ids))]:
		case <-p.ctx.Done():
		}
	}
	close(batches)
	wg.Wait()
	if p.ctx.Err() != nil {
		return
	}
	m.mu.Lock()
	if m.run == p {
		m.isLoaded = true
	}
	m.mu.Unlock()
	close(loaded)
	m.cfg.Logger.Info("expiration: leases loaded", "leases", len(ids),
		"listed_in", listed, "loaded_in", time.Since(start))
}

// indexListed indexes the listed ids not indexed yet, as unloaded.
func (m *Manager) indexListed(x *index, ids []string) {
	for i := 0; i < len(ids); i += insertChunk {
		m.mu.Lock()
		for _, id := range ids[i:min(i+insertChunk, len(ids))] {
			if _, gone := x.gone[id]; !gone && x.leases[id] == nil {
				x.add(&entry{id: id, state: stateUnloaded})
			}
		}
		m.mu.Unlock()
	}
	m.mu.Lock()
	x.gone = nil // from now on an id is indexed only by an operation
	m.mu.Unlock()
}

// loadBatch reads the records of ids and installs those still unloaded
// (an operation that ran meanwhile has installed or removed the others).
func (m *Manager) loadBatch(p *period, x *index, ids []string) {
	leases := make([]*Lease, len(ids))
	for i, id := range ids {
		ok := m.retry(p, "read lease "+id, func() error {
			l, err := m.read(p.ctx, id)
			if errors.Is(err, ErrCorrupt) {
				m.cfg.Logger.Error("expiration: skipping a corrupt lease record (tidy removes it)", "lease_id", id, "error", err)
				return nil
			}
			leases[i] = l
			return err
		})
		if !ok {
			return
		}
	}
	m.mu.Lock()
	for i, id := range ids {
		e := x.leases[id]
		if e == nil || e.state != stateUnloaded {
			continue
		}
		if leases[i] == nil {
			x.remove(e)
			continue
		}
		x.install(e, leases[i])
	}
	m.mu.Unlock()
	p.poke()
}

// retry runs fn until it succeeds, waiting BaseBackoff doubling up to
// MaxBackoff between failures; false means the period stopped.
func (m *Manager) retry(p *period, what string, fn func() error) bool {
	delay := m.cfg.BaseBackoff
	for {
		err := fn()
		if p.ctx.Err() != nil {
			return false
		}
		if err == nil {
			return true
		}
		m.cfg.Logger.Error("expiration: load: storage error; retrying", "step", what, "error", err, "in", delay)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-p.ctx.Done():
			t.Stop()
			return false
		}
		delay = min(2*delay, m.cfg.MaxBackoff)
	}
}
