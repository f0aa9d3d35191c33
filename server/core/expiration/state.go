package expiration

import (
	"container/heap"
	"strings"
	"time"
)

// entryState is where a lease is in the manager's memory.
type entryState uint8

const (
	// stateUnloaded: listed from storage during load, record not read yet.
	stateUnloaded entryState = iota
	// stateRegistering: Register reserved its quota slot and is writing it.
	stateRegistering
	// statePending: in the queue, due at entry.due.
	statePending
	// stateRevoking: taken off the queue by the scheduler; a worker owns it.
	stateRevoking
	// stateIrrevocable: out of attempts; kept, never scheduled again.
	stateIrrevocable
)

// entry is the in-memory index of one live lease: what scheduling,
// counting and metrics need, never the secret's data (which stays in
// storage and is read when needed).
type entry struct {
	id     string
	mount  string    // "" while unloaded
	expire time.Time // zero while unloaded
	due    time.Time // when the scheduler hands it to a worker
	state  entryState
	index  int // position in the queue, -1 when not queued
}

// queue is a min-heap of entries by due time (container/heap).
type queue []*entry

func (q queue) Len() int           { return len(q) }
func (q queue) Less(i, j int) bool { return q[i].due.Before(q[j].due) }
func (q queue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *queue) Push(x any) {
	e := x.(*entry)
	e.index = len(*q)
	*q = append(*q, e)
}
func (q *queue) Pop() any {
	old := *q
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	e.index = -1
	*q = old[:n-1]
	return e
}

// index is the state of one active period, guarded by Manager.mu.
type index struct {
	leases      map[string]*entry
	queue       queue
	byMount     map[string]int
	mounts      map[string]string // interned mount names
	irrevocable int
	quotas      []*quotaState // most specific (longest prefix) first
	// gone holds, until the load has indexed the listed ids (then nil),
	// the ids removed since it began, so that a lease listed just before
	// its revocation is not indexed again as unloaded (and counted
	// against its quota).
	gone map[string]struct{}
}

func newIndex() *index {
	return &index{
		leases: make(map[string]*entry), byMount: make(map[string]int),
		mounts: make(map[string]string), gone: make(map[string]struct{}),
	}
}

// governing is the quota that applies to lease id: the one with the
// longest path prefix of id (the global quota, path "", matches all).
func (x *index) governing(id string) *quotaState {
	for _, q := range x.quotas {
		if strings.HasPrefix(id, q.prefix) {
			return q
		}
	}
	return nil
}

// intern returns the shared copy of mount.
func (x *index) intern(mount string) string {
	if m, ok := x.mounts[mount]; ok {
		return m
	}
	x.mounts[mount] = mount
	return mount
}

// add indexes a new entry and counts it.
func (x *index) add(e *entry) {
	e.index = -1
	x.leases[e.id] = e
	if q := x.governing(e.id); q != nil {
		q.count++
	}
	x.countMount(e.mount, 1)
	if e.state == stateIrrevocable {
		x.irrevocable++
	}
}

// countMount adds d to mount's lease count ("" is not counted).
func (x *index) countMount(mount string, d int) {
	if mount == "" {
		return
	}
	x.byMount[mount] += d
	if x.byMount[mount] <= 0 {
		delete(x.byMount, mount)
	}
}

// remove forgets e if it is still the entry indexed under its id.
func (x *index) remove(e *entry) {
	if x.leases[e.id] != e {
		return
	}
	x.unqueue(e)
	delete(x.leases, e.id)
	if x.gone != nil {
		x.gone[e.id] = struct{}{}
	}
	if q := x.governing(e.id); q != nil {
		q.count--
	}
	x.countMount(e.mount, -1)
	x.setState(e, stateUnloaded)
}

// forget drops lease id, whose record was deleted, from the index (or
// keeps the load from indexing it, when it was listed but not indexed).
func (x *index) forget(id string) {
	if x.gone != nil {
		x.gone[id] = struct{}{}
	}
	if e := x.leases[id]; e != nil {
		x.remove(e)
	}
}

// setState moves e to s, keeping the irrevocable count.
func (x *index) setState(e *entry, s entryState) {
	if e.state == stateIrrevocable {
		x.irrevocable--
	}
	e.state = s
	if s == stateIrrevocable {
		x.irrevocable++
	}
}

// unqueue takes e off the queue if it is on it.
func (x *index) unqueue(e *entry) {
	if e.index >= 0 {
		heap.Remove(&x.queue, e.index)
	}
}

// schedule queues e (or moves it) to run at due.
func (x *index) schedule(e *entry, due time.Time) {
	e.due = due
	x.setState(e, statePending)
	if e.index >= 0 {
		heap.Fix(&x.queue, e.index)
		return
	}
	heap.Push(&x.queue, e)
}

// markIrrevocable takes e out of scheduling for good.
func (x *index) markIrrevocable(e *entry) {
	x.unqueue(e)
	x.setState(e, stateIrrevocable)
}

// install gives an entry what its (just read or written) record says.
func (x *index) install(e *entry, l *Lease) {
	if e.mount != l.MountPoint {
		x.countMount(e.mount, -1)
		e.mount = x.intern(l.MountPoint)
		x.countMount(e.mount, 1)
	}
	e.expire = l.ExpireTime
	if e.state == stateRevoking {
		return // its worker reads the record again and reschedules it
	}
	if l.Irrevocable {
		x.markIrrevocable(e)
		return
	}
	x.schedule(e, dueTime(l))
}

// dueTime is when a stored lease is next acted on: its expiry, or its
// pending retry when later.
func dueTime(l *Lease) time.Time {
	if l.NextAttempt.After(l.ExpireTime) {
		return l.NextAttempt
	}
	return l.ExpireTime
}

// popDue takes the first entry due at or before now off the queue, or
// returns nil and how long until the next one is due (wait<0: empty).
func (x *index) popDue(now time.Time) (e *entry, wait time.Duration) {
	if len(x.queue) == 0 {
		return nil, -1
	}
	top := x.queue[0]
	if top.due.After(now) {
		return nil, top.due.Sub(now)
	}
	heap.Pop(&x.queue)
	top.state = stateRevoking
	return top, 0
}

// recount recomputes every quota's count (after a quota change).
func (x *index) recount() {
	for _, q := range x.quotas {
		q.count = 0
	}
	if len(x.quotas) == 0 {
		return
	}
	for id := range x.leases {
		if q := x.governing(id); q != nil {
			q.count++
		}
	}
}
