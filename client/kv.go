package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// KV is a KV version 2 secrets engine mounted at one path. Paths given to
// its methods are relative to the mount ("app/db", not "secret/data/app/db").
type KV struct {
	c     *Client
	mount string
}

// KV returns the helpers for the KV v2 engine mounted at mount, e.g. "secret".
func (c *Client) KV(mount string) *KV { return &KV{c: c, mount: strings.Trim(mount, "/")} }

// Mount returns the mount path the helpers use.
func (kv *KV) Mount() string { return kv.mount }

// KVSecret is one version of a KV v2 secret.
type KVSecret struct {
	// Data is the stored key/value map; nil for a deleted or destroyed version.
	Data map[string]any
	// VersionMetadata describes the version returned.
	VersionMetadata *KVVersionMetadata
	// Raw is the whole response envelope.
	Raw *Secret
}

// KVVersionMetadata describes one version. DeletionTime is zero unless the
// version was soft-deleted.
type KVVersionMetadata struct {
	Version        int               `json:"version"`
	CreatedTime    time.Time         `json:"created_time"`
	DeletionTime   time.Time         `json:"deletion_time"`
	Destroyed      bool              `json:"destroyed"`
	CustomMetadata map[string]string `json:"custom_metadata"`
}

// UnmarshalJSON accepts Vault's "" for an unset deletion_time.
func (m *KVVersionMetadata) UnmarshalJSON(b []byte) error {
	var w struct {
		Version        int               `json:"version"`
		CreatedTime    string            `json:"created_time"`
		DeletionTime   string            `json:"deletion_time"`
		Destroyed      bool              `json:"destroyed"`
		CustomMetadata map[string]string `json:"custom_metadata"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	created, err := parseTime(w.CreatedTime)
	if err != nil {
		return fmt.Errorf("created_time: %w", err)
	}
	deleted, err := parseTime(w.DeletionTime)
	if err != nil {
		return fmt.Errorf("deletion_time: %w", err)
	}
	*m = KVVersionMetadata{Version: w.Version, CreatedTime: created, DeletionTime: deleted,
		Destroyed: w.Destroyed, CustomMetadata: w.CustomMetadata}
	return nil
}

// KVMetadata is the metadata of a KV v2 secret across all its versions.
type KVMetadata struct {
	CASRequired        bool
	CreatedTime        time.Time
	UpdatedTime        time.Time
	CurrentVersion     int
	OldestVersion      int
	MaxVersions        int
	DeleteVersionAfter string
	CustomMetadata     map[string]string
	// Versions maps each version number to its metadata.
	Versions map[int]KVVersionMetadata
	// Raw is the whole response envelope.
	Raw *Secret
}

// VersionNumbers returns the keys of Versions in ascending order.
func (m *KVMetadata) VersionNumbers() []int {
	out := make([]int, 0, len(m.Versions))
	for v := range m.Versions {
		out = append(out, v)
	}
	sort.Ints(out)
	return out
}

// PutOption modifies a KV Put.
type PutOption func(*putOptions)

type putOptions struct{ cas *int }

// WithCAS makes Put succeed only if the secret's current version is v
// (0: only if the secret does not exist yet).
func WithCAS(v int) PutOption { return func(o *putOptions) { o.cas = &v } }

// GetOption modifies a KV Get.
type GetOption func(*getOptions)

type getOptions struct{ version int }

// WithVersion makes Get return version v instead of the latest.
func WithVersion(v int) GetOption { return func(o *getOptions) { o.version = v } }

// Put writes a new version of path (PUT mount/data/path) and returns its
// metadata. A failed check-and-set is a 400 *ResponseError.
func (kv *KV) Put(ctx context.Context, path string, data map[string]any, opts ...PutOption) (*KVVersionMetadata, error) {
	var o putOptions
	for _, opt := range opts {
		opt(&o)
	}
	if data == nil {
		data = map[string]any{}
	}
	body := map[string]any{"data": data}
	if o.cas != nil {
		body["options"] = map[string]any{"cas": *o.cas}
	}
	s, err := kv.c.secret(ctx, request{method: http.MethodPut, path: kv.path("data", path), body: body})
	if err != nil {
		return nil, fmt.Errorf("kv put %s/%s: %w", kv.mount, path, err)
	}
	var meta KVVersionMetadata
	if err := s.decodeData(&meta); err != nil {
		return nil, fmt.Errorf("kv put %s/%s: %w", kv.mount, path, err)
	}
	return &meta, nil
}

// Get reads the latest (or WithVersion) version of path
// (GET mount/data/path). A missing, deleted or destroyed version is a
// *ResponseError matching ErrNotFound.
func (kv *KV) Get(ctx context.Context, path string, opts ...GetOption) (*KVSecret, error) {
	var o getOptions
	for _, opt := range opts {
		opt(&o)
	}
	var q url.Values
	if o.version > 0 {
		q = url.Values{"version": {strconv.Itoa(o.version)}}
	}
	s, err := kv.c.cachedSecret(ctx, kv.mount, path, o.version, request{method: http.MethodGet, path: kv.path("data", path), query: q})
	if err == nil && s == nil {
		err = fmt.Errorf("client: empty answer")
	}
	if err != nil {
		return nil, fmt.Errorf("kv get %s/%s: %w", kv.mount, path, err)
	}
	var w struct {
		Data     map[string]any     `json:"data"`
		Metadata *KVVersionMetadata `json:"metadata"`
	}
	if err := s.decodeData(&w); err != nil {
		return nil, fmt.Errorf("kv get %s/%s: %w", kv.mount, path, err)
	}
	// Keep Data as decoded by the envelope (json.Number intact).
	data, _ := s.Data["data"].(map[string]any)
	return &KVSecret{Data: data, VersionMetadata: w.Metadata, Raw: s}, nil
}

// Delete soft-deletes versions of path; with no versions it deletes the
// latest (DELETE mount/data/path), else PUT mount/delete/path.
func (kv *KV) Delete(ctx context.Context, path string, versions ...int) error {
	var err error
	if len(versions) == 0 {
		err = kv.c.send(ctx, request{method: http.MethodDelete, path: kv.path("data", path)})
	} else {
		err = kv.versionsOp(ctx, "delete", path, versions)
	}
	if err != nil {
		return fmt.Errorf("kv delete %s/%s: %w", kv.mount, path, err)
	}
	return nil
}

// Undelete restores soft-deleted versions (PUT mount/undelete/path).
func (kv *KV) Undelete(ctx context.Context, path string, versions ...int) error {
	if err := kv.versionsOp(ctx, "undelete", path, versions); err != nil {
		return fmt.Errorf("kv undelete %s/%s: %w", kv.mount, path, err)
	}
	return nil
}

// Destroy permanently removes the data of versions (PUT mount/destroy/path).
func (kv *KV) Destroy(ctx context.Context, path string, versions ...int) error {
	if err := kv.versionsOp(ctx, "destroy", path, versions); err != nil {
		return fmt.Errorf("kv destroy %s/%s: %w", kv.mount, path, err)
	}
	return nil
}

func (kv *KV) versionsOp(ctx context.Context, op, path string, versions []int) error {
	if len(versions) == 0 {
		return invalidArg("%s needs at least one version", op)
	}
	for _, v := range versions {
		if v <= 0 {
			return invalidArg("version %d is not positive", v)
		}
	}
	body := map[string]any{"versions": versions}
	return kv.c.send(ctx, request{method: http.MethodPut, path: kv.path(op, path), body: body})
}

// List returns the keys directly under path ("" for the mount's root);
// folder keys end in "/". A path with nothing under it gives an empty slice.
func (kv *KV) List(ctx context.Context, path string) ([]string, error) {
	s, err := kv.c.List(ctx, kv.path("metadata", path))
	if errors.Is(err, ErrNotFound) {
		return []string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kv list %s/%s: %w", kv.mount, path, err)
	}
	keys := s.Keys()
	if keys == nil {
		keys = []string{}
	}
	return keys, nil
}

// Metadata returns the metadata of path (GET mount/metadata/path).
func (kv *KV) Metadata(ctx context.Context, path string) (*KVMetadata, error) {
	s, err := kv.c.secret(ctx, request{method: http.MethodGet, path: kv.path("metadata", path)})
	if err == nil && s == nil {
		err = fmt.Errorf("client: empty answer")
	}
	if err != nil {
		return nil, fmt.Errorf("kv metadata %s/%s: %w", kv.mount, path, err)
	}
	meta, err := decodeKVMetadata(s)
	if err != nil {
		return nil, fmt.Errorf("kv metadata %s/%s: %w", kv.mount, path, err)
	}
	return meta, nil
}

// DeleteMetadata removes path with all its versions and metadata
// (DELETE mount/metadata/path).
func (kv *KV) DeleteMetadata(ctx context.Context, path string) error {
	if err := kv.c.send(ctx, request{method: http.MethodDelete, path: kv.path("metadata", path)}); err != nil {
		return fmt.Errorf("kv delete metadata %s/%s: %w", kv.mount, path, err)
	}
	return nil
}

// path builds mount/<kind>/<p>.
func (kv *KV) path(kind, p string) string {
	return kv.mount + "/" + kind + "/" + strings.TrimPrefix(p, "/")
}

func decodeKVMetadata(s *Secret) (*KVMetadata, error) {
	var w struct {
		CASRequired        bool                         `json:"cas_required"`
		CreatedTime        string                       `json:"created_time"`
		UpdatedTime        string                       `json:"updated_time"`
		CurrentVersion     int                          `json:"current_version"`
		OldestVersion      int                          `json:"oldest_version"`
		MaxVersions        int                          `json:"max_versions"`
		DeleteVersionAfter string                       `json:"delete_version_after"`
		CustomMetadata     map[string]string            `json:"custom_metadata"`
		Versions           map[string]KVVersionMetadata `json:"versions"`
	}
	if err := s.decodeData(&w); err != nil {
		return nil, err
	}
	created, err := parseTime(w.CreatedTime)
	if err != nil {
		return nil, fmt.Errorf("created_time: %w", err)
	}
	updated, err := parseTime(w.UpdatedTime)
	if err != nil {
		return nil, fmt.Errorf("updated_time: %w", err)
	}
	m := &KVMetadata{CASRequired: w.CASRequired, CreatedTime: created, UpdatedTime: updated,
		CurrentVersion: w.CurrentVersion, OldestVersion: w.OldestVersion, MaxVersions: w.MaxVersions,
		DeleteVersionAfter: w.DeleteVersionAfter, CustomMetadata: w.CustomMetadata,
		Versions: make(map[int]KVVersionMetadata, len(w.Versions)), Raw: s}
	for k, v := range w.Versions {
		n, err := strconv.Atoi(k)
		if err != nil {
			return nil, fmt.Errorf("version key %q: %w", k, err)
		}
		v.Version = n
		m.Versions[n] = v
	}
	return m, nil
}

// parseTime parses RFC 3339 timestamps; "" is the zero time.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

// Patch merges data into the latest version of path, writing a new
// version (PATCH mount/data/path, JSON merge patch: a null value removes
// a key). A missing secret is a *ResponseError matching ErrNotFound.
func (kv *KV) Patch(ctx context.Context, path string, data map[string]any, opts ...PutOption) (*KVVersionMetadata, error) {
	var o putOptions
	for _, opt := range opts {
		opt(&o)
	}
	body := map[string]any{"data": data}
	if o.cas != nil {
		body["options"] = map[string]any{"cas": *o.cas}
	}
	s, err := kv.c.secret(ctx, request{method: http.MethodPatch, path: kv.path("data", path), body: body})
	if err == nil && s == nil {
		err = fmt.Errorf("client: empty answer")
	}
	if err != nil {
		return nil, fmt.Errorf("kv patch %s/%s: %w", kv.mount, path, err)
	}
	var meta KVVersionMetadata
	if err := s.decodeData(&meta); err != nil {
		return nil, fmt.Errorf("kv patch %s/%s: %w", kv.mount, path, err)
	}
	return &meta, nil
}

// Versions returns the metadata of every kept version of path, oldest
// first (from GET mount/metadata/path).
func (kv *KV) Versions(ctx context.Context, path string) ([]KVVersionMetadata, error) {
	m, err := kv.Metadata(ctx, path)
	if err != nil {
		return nil, err
	}
	out := make([]KVVersionMetadata, 0, len(m.Versions))
	for _, v := range m.VersionNumbers() {
		out = append(out, m.Versions[v])
	}
	return out, nil
}
