package mysql_test

import (
	"errors"
	"testing"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
	mysqlplugin "github.com/secretumvault/secretumvault/engines/database/mysql"
)

func TestInitializeInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  dbplugin.Config
	}{
		{"empty URL", dbplugin.Config{}},
		{"no slash", dbplugin.Config{ConnectionURL: "root@tcp(127.0.0.1:3306)"}},
		{"unterminated address", dbplugin.Config{ConnectionURL: "root@tcp(127.0.0.1:3306/"}},
		{"bad parameter", dbplugin.Config{ConnectionURL: "root@tcp(127.0.0.1:3306)/?parseTime=maybe"}},
		{"placeholder in the address", dbplugin.Config{ConnectionURL: "root@tcp({{password}})/", Password: "x"}},
		{"negative max open", dbplugin.Config{ConnectionURL: templatedURL(), MaxOpenConnections: -1}},
		{"negative max idle", dbplugin.Config{ConnectionURL: templatedURL(), MaxIdleConnections: -1}},
		{"negative lifetime", dbplugin.Config{ConnectionURL: templatedURL(), MaxConnectionLifetime: -1}},
		{"unparsable template", dbplugin.Config{ConnectionURL: templatedURL(), UsernameTemplate: "{{ .RoleName"}},
		{"unknown template function", dbplugin.Config{ConnectionURL: templatedURL(), UsernameTemplate: "{{ nope 3 }}"}},
		{"template over 32 bytes", dbplugin.Config{ConnectionURL: templatedURL(), UsernameTemplate: "{{ random 33 }}"}},
		{"empty username", dbplugin.Config{ConnectionURL: templatedURL(), UsernameTemplate: "{{ .RoleName }}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := mysqlplugin.New()
			err := db.Initialize(testCtx(t), tt.cfg)
			if !errors.Is(err, dbplugin.ErrInvalidConfig) {
				t.Fatalf("Initialize: err = %v, want ErrInvalidConfig", err)
			}
			if err := db.DeleteUser(testCtx(t), dbplugin.DeleteUserRequest{Username: "x"}); !errors.Is(err, dbplugin.ErrNotInitialized) {
				t.Errorf("after a failed Initialize: err = %v, want ErrNotInitialized", err)
			}
		})
	}
}

func TestLifecycle(t *testing.T) {
	rootDB(t)
	db := mysqlplugin.New()
	ctx := testCtx(t)
	if _, err := db.NewUser(ctx, dbplugin.NewUserRequest{}); !errors.Is(err, dbplugin.ErrNotInitialized) {
		t.Errorf("NewUser before Initialize: %v", err)
	}
	if err := db.Initialize(ctx, rootConfig()); err != nil {
		t.Fatal(err)
	}
	if err := db.Initialize(ctx, rootConfig()); err == nil {
		t.Error("second Initialize succeeded")
	}
	if _, err := db.NewUser(ctx, dbplugin.NewUserRequest{Password: "x"}); !errors.Is(err, mysqlplugin.ErrNoStatements) {
		t.Errorf("NewUser without statements: %v", err)
	}
	if _, err := db.NewUser(ctx, dbplugin.NewUserRequest{Statements: dbplugin.Statements{Commands: []string{" ; -- nothing\n"}}}); !errors.Is(err, mysqlplugin.ErrNoStatements) {
		t.Errorf("NewUser with blank statements: %v", err)
	}
	for _, req := range []dbplugin.UpdateUserRequest{
		{Username: "u"},
		{Password: &dbplugin.ChangePassword{NewPassword: "p"}},
		{Username: "u", Password: &dbplugin.ChangePassword{}},
	} {
		if err := db.UpdateUser(ctx, req); !errors.Is(err, mysqlplugin.ErrInvalidRequest) {
			t.Errorf("UpdateUser(%+v): %v, want ErrInvalidRequest", req, err)
		}
	}
	if err := db.DeleteUser(ctx, dbplugin.DeleteUserRequest{}); !errors.Is(err, mysqlplugin.ErrInvalidRequest) {
		t.Errorf("DeleteUser without a username: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := db.DeleteUser(ctx, dbplugin.DeleteUserRequest{Username: "u"}); !errors.Is(err, dbplugin.ErrNotInitialized) {
		t.Errorf("DeleteUser after Close: %v", err)
	}
	if err := db.Initialize(ctx, rootConfig()); err == nil {
		t.Error("Initialize after Close succeeded")
	}
}

func TestErrorsHoldNoPassword(t *testing.T) {
	root := rootDB(t)
	pw := newPassword()
	admin := adminUser(t, root, pw)
	wrong := newPassword()

	t.Run("verify with a wrong templated password", func(t *testing.T) {
		err := mysqlplugin.New().Initialize(testCtx(t), dbplugin.Config{
			ConnectionURL: templatedURL(), Username: admin, Password: wrong, VerifyConnection: true,
		})
		if err == nil {
			t.Fatal("Initialize with a wrong password succeeded")
		}
		assertNoSecret(t, err, wrong)
	})
	t.Run("verify with a wrong literal password", func(t *testing.T) {
		lit := "Lit" + randomSuffix(16)
		err := mysqlplugin.New().Initialize(testCtx(t), dbplugin.Config{
			ConnectionURL: admin + ":" + lit + "@tcp(" + testAddr() + ")/", VerifyConnection: true,
		})
		if err == nil {
			t.Fatal("Initialize with a wrong password succeeded")
		}
		assertNoSecret(t, err, lit)
	})
	t.Run("bad DSN with a literal password", func(t *testing.T) {
		err := mysqlplugin.New().Initialize(testCtx(t), dbplugin.Config{
			ConnectionURL: admin + ":" + wrong + "@tcp(" + testAddr() + "/", Password: wrong,
		})
		if !errors.Is(err, dbplugin.ErrInvalidConfig) {
			t.Fatalf("err = %v, want ErrInvalidConfig", err)
		}
		assertNoSecret(t, err, wrong)
	})

	db := newPlugin(t, dbplugin.Config{ConnectionURL: templatedURL(), Username: admin, Password: pw})
	name := newUser(t, db, root, newPassword(), createStmt)
	t.Run("rotation statement failing near the password", func(t *testing.T) {
		next := newPassword()
		err := db.UpdateUser(testCtx(t), dbplugin.UpdateUserRequest{Username: name, Password: &dbplugin.ChangePassword{
			NewPassword: next,
			Statements:  dbplugin.Statements{Commands: []string{`ALTER USER '{{name}}'@'%' IDENTIFIED BYE '{{password}}'`}},
		}})
		if err == nil {
			t.Fatal("bad rotation statement succeeded")
		}
		assertNoSecret(t, err, next)
	})
	t.Run("root rotation failing", func(t *testing.T) {
		next := newPassword()
		err := db.UpdateUser(testCtx(t), dbplugin.UpdateUserRequest{Username: admin, Password: &dbplugin.ChangePassword{
			NewPassword: next,
			Statements:  dbplugin.Statements{Commands: []string{`ALTER USER '{{name}}'@'%' IDENTIFIED BYE '{{password}}'`}},
		}})
		if err == nil {
			t.Fatal("bad root rotation succeeded")
		}
		assertNoSecret(t, err, next)
		assertNoSecret(t, err, pw)
		if err := login(t, admin, pw); err != nil {
			t.Errorf("a failed rotation changed the admin password: %v", err)
		}
		if err := db.DeleteUser(testCtx(t), dbplugin.DeleteUserRequest{Username: name}); err != nil {
			t.Errorf("the plugin stopped working after a failed rotation: %v", err)
		}
	})
	t.Run("password outside quotes", func(t *testing.T) {
		next := newPassword()
		err := db.UpdateUser(testCtx(t), dbplugin.UpdateUserRequest{Username: name, Password: &dbplugin.ChangePassword{
			NewPassword: next,
			Statements:  dbplugin.Statements{Commands: []string{`ALTER USER '{{name}}'@'%' IDENTIFIED BY {{password}}`}},
		}})
		if !errors.Is(err, mysqlplugin.ErrInvalidRequest) {
			t.Fatalf("err = %v, want ErrInvalidRequest", err)
		}
		assertNoSecret(t, err, next)
	})
}
