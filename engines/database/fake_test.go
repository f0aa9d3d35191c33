package database_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
)

// fakeServer is an in-memory stand-in for a database server, for the
// unit tests of the engine's own logic (validation, redaction, error
// scrubbing, recovery paths that need a failure at an exact point).
// The tests that matter run against real servers (mysql_test.go,
// postgres_test.go).
type fakeServer struct {
	mu    sync.Mutex
	users map[string]*fakeUser
	n     int
	// failUpdate, when set, fails the next UpdateUser; applyThenFail
	// makes that failure happen after the change took effect (a lost
	// acknowledgement).
	failUpdate    error
	applyThenFail bool
	opens, closes int
	// down makes VerifyCredentials fail as an unreachable server would.
	down bool
}

type fakeUser struct {
	password   string
	expiration time.Time
}

func newFakeServer() *fakeServer { return &fakeServer{users: map[string]*fakeUser{}} }

// plugins returns the plugin map with this server as "fake-database-plugin".
func (s *fakeServer) plugins() map[string]func() dbplugin.Database {
	return map[string]func() dbplugin.Database{"fake-database-plugin": func() dbplugin.Database { return &fakeDB{srv: s} }}
}

func (s *fakeServer) user(name string) (fakeUser, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[name]
	if !ok {
		return fakeUser{}, false
	}
	return *u, true
}

func (s *fakeServer) addUser(name, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[name] = &fakeUser{password: password}
}

// login checks a password as a server would.
func (s *fakeServer) login(name, password string) error {
	u, ok := s.user(name)
	if !ok || u.password != password {
		return fmt.Errorf("fake: access denied for user %q", name)
	}
	return nil
}

type fakeDB struct {
	srv  *fakeServer
	mu   sync.Mutex
	cfg  dbplugin.Config
	open bool
}

func (d *fakeDB) Initialize(_ context.Context, cfg dbplugin.Config) error {
	if strings.Contains(cfg.ConnectionURL, "unreachable") {
		// A driver error that, carelessly, quotes the DSN.
		return fmt.Errorf("%w: dial %s as %s/%s: connection refused", dbplugin.ErrInvalidConfig, cfg.ConnectionURL, cfg.Username, cfg.Password)
	}
	if cfg.VerifyConnection {
		if err := d.srv.login(cfg.Username, cfg.Password); err != nil {
			return err
		}
	}
	d.mu.Lock()
	d.cfg, d.open = cfg, true
	d.mu.Unlock()
	d.srv.mu.Lock()
	d.srv.opens++
	d.srv.mu.Unlock()
	return nil
}

func (d *fakeDB) check() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.open {
		return dbplugin.ErrNotInitialized
	}
	return d.srv.login(d.cfg.Username, d.cfg.Password)
}

func (d *fakeDB) NewUser(_ context.Context, req dbplugin.NewUserRequest) (dbplugin.NewUserResponse, error) {
	if err := d.check(); err != nil {
		return dbplugin.NewUserResponse{}, err
	}
	if strings.Contains(strings.Join(req.Statements.Commands, ";"), "FAIL") {
		// A server's syntax error quoting the statement it failed on.
		return dbplugin.NewUserResponse{}, fmt.Errorf("fake: syntax error near 'IDENTIFIED BY '%s''", req.Password)
	}
	s := d.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	name := fmt.Sprintf("v-%s-%s-%d", req.UsernameConfig.DisplayName, req.UsernameConfig.RoleName, s.n)
	s.users[name] = &fakeUser{password: req.Password, expiration: req.Expiration}
	return dbplugin.NewUserResponse{Username: name}, nil
}

func (d *fakeDB) UpdateUser(_ context.Context, req dbplugin.UpdateUserRequest) error {
	if err := d.check(); err != nil {
		return err
	}
	s := d.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	fail := s.failUpdate
	s.failUpdate = nil
	if fail != nil && !s.applyThenFail {
		return fail
	}
	u, ok := s.users[req.Username]
	if !ok {
		return fmt.Errorf("fake: no user %q", req.Username)
	}
	if req.Password != nil {
		u.password = req.Password.NewPassword
		if req.Username == d.cfg.Username {
			d.mu.Lock()
			d.cfg.Password = req.Password.NewPassword
			d.mu.Unlock()
		}
	}
	if req.Expiration != nil {
		u.expiration = req.Expiration.NewExpiration
	}
	return fail
}

func (d *fakeDB) DeleteUser(_ context.Context, req dbplugin.DeleteUserRequest) error {
	if err := d.check(); err != nil {
		return err
	}
	d.srv.mu.Lock()
	defer d.srv.mu.Unlock()
	delete(d.srv.users, req.Username)
	return nil
}

func (d *fakeDB) VerifyCredentials(_ context.Context, user, password string) error {
	d.mu.Lock()
	open := d.open
	d.mu.Unlock()
	if !open {
		return dbplugin.ErrNotInitialized
	}
	d.srv.mu.Lock()
	down := d.srv.down
	d.srv.mu.Unlock()
	if down {
		return errors.New("fake: connection refused")
	}
	if err := d.srv.login(user, password); err != nil {
		return fmt.Errorf("%w: %w", dbplugin.ErrAuthFailed, err)
	}
	return nil
}

func (d *fakeDB) Type() string { return "fake-database-plugin" }

func (d *fakeDB) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.open {
		return errors.New("fake: closed twice")
	}
	d.open = false
	d.srv.mu.Lock()
	d.srv.closes++
	d.srv.mu.Unlock()
	return nil
}
