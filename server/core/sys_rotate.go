package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/barrier"
)

// rotatePaths are the key rotations besides the keyring term (sys/rotate,
// keyPaths): a new root key with the unseal keys unchanged (OpenBao's
// sys/rotate/root), and the automatic term rotation's configuration under
// both names, sys/rotate/config (Vault) and sys/rotate/keyring/config
// (OpenBao).
func (c sysHandlers) rotatePaths() []*framework.Path {
	return []*framework.Path{
		{Pattern: "rotate/root", Sudo: true, Operations: writeOp(c.handleRotateRoot), HelpSynopsis: "Replace the root key; the unseal keys stay valid."},
		{
			Pattern: "rotate(/keyring)?/config", Sudo: true,
			Fields: map[string]*framework.FieldSchema{
				"max_operations": {Type: framework.TypeInt}, "interval": {Type: framework.TypeDuration}, "enabled": {Type: framework.TypeBool},
			},
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ReadOperation: c.handleRotateConfigRead, logical.UpdateOperation: c.handleRotateConfigWrite,
			},
			HelpSynopsis: "When the barrier key term rotates by itself.",
		},
	}
}

func (c sysHandlers) handleRotateRoot(ctx context.Context, _ *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	if err := c.shamir.RotateRootKey(ctx, c.barrier, c.staticSealHook); err != nil {
		return nil, ceremonyError(fmt.Errorf("core: rotate root key: %w", err))
	}
	c.logger.Info("core: root key rotated; the unseal keys are unchanged")
	return nil, nil
}

// staticSealHook re-wraps the root key for the static seal in the same
// transaction as a root key rotation, so that auto-unseal keeps working.
func (c *Core) staticSealHook(_ context.Context, _, newRootKey []byte) ([]*storage.Op, error) {
	if c.cfg.StaticSealKey == nil {
		return nil, nil
	}
	blob, err := wrapRootKey(c.cfg.StaticSealKey, newRootKey)
	if err != nil {
		return nil, err
	}
	return []*storage.Op{{Kind: storage.OpPut, Entry: &storage.Entry{Key: staticSealKey, Value: blob}}}, nil
}

func (c sysHandlers) handleRotateConfigRead(context.Context, *logical.Request, *framework.FieldData) (*logical.Response, error) {
	cfg, err := c.barrier.RotationConfig()
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"max_operations": cfg.MaxOperations, "interval": int64(cfg.Interval / time.Second), "enabled": cfg.Enabled,
	}}, nil
}

func (c sysHandlers) handleRotateConfigWrite(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in struct {
		MaxOperations *int           `json:"max_operations"`
		Interval      *time.Duration `json:"interval"`
		Enabled       *bool          `json:"enabled"`
	}
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	cfg, err := c.barrier.RotationConfig()
	if err != nil {
		return nil, err
	}
	if in.MaxOperations != nil {
		if *in.MaxOperations < 0 {
			return nil, logical.InvalidRequest("max_operations", "must not be negative")
		}
		cfg.MaxOperations = uint64(*in.MaxOperations)
	}
	if in.Interval != nil {
		cfg.Interval = *in.Interval
	}
	if in.Enabled != nil {
		cfg.Enabled = *in.Enabled
	}
	if err := c.barrier.SetRotationConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("%w: %v", logical.ErrInvalidRequest, err)
	}
	return nil, nil
}

// keyRotationService rotates the barrier key term when it is due (the
// rotation config's operation count or interval) and persists the
// encryption count, on the active node only, every `every`.
type keyRotationService struct {
	core   *Core
	every  time.Duration
	cancel context.CancelFunc
	done   chan struct{}
}

// Name implements activeService.
func (s *keyRotationService) Name() string { return "key-rotation" }

// Start implements activeService.
func (s *keyRotationService) Start(context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan struct{})
	go s.run(ctx, s.done)
	return nil
}

// Stop implements activeService.
func (s *keyRotationService) Stop() {
	if s.cancel != nil {
		s.cancel()
		<-s.done
		s.cancel = nil
	}
}

func (s *keyRotationService) run(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// No last flush: stopping may precede a restore of another
			// cluster's state, which must not receive this cluster's
			// count. At most a minute's count (and never more than the
			// barrier's own flush interval) is lost on a hand-over.
			return
		case <-t.C:
			s.tick(ctx)
		}
	}
}

// tick rotates if due, then persists the count.
func (s *keyRotationService) tick(ctx context.Context) {
	c := s.core
	if due, reason := c.barrier.RotationDue(c.cfg.Now()); due {
		term, err := c.barrier.Rotate(ctx)
		if err != nil {
			c.logger.Error("core: automatic barrier key rotation failed", "reason", reason, "error", err)
		} else {
			c.logger.Info("core: barrier key rotated automatically", "reason", reason, "term", term)
		}
	}
	s.flush()
}

func (s *keyRotationService) flush() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.core.barrier.Flush(ctx); err != nil && !errors.Is(err, barrier.ErrSealed) {
		s.core.logger.Warn("core: could not persist the barrier encryption count", "error", err)
	}
}
