package mysql

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
)

func TestPoolBounds(t *testing.T) {
	addr := os.Getenv("SECRETUM_TEST_MYSQL_ADDR")
	if addr == "" {
		addr = "127.0.0.1:3306"
	}
	tests := []struct {
		name             string
		maxOpen, maxIdle int
		wantOpen         int
	}{
		{"default", 0, 0, DefaultMaxOpenConnections},
		{"configured", 2, 5, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			d := New()
			err := d.Initialize(ctx, dbplugin.Config{
				ConnectionURL: "root@tcp(" + addr + ")/", MaxOpenConnections: tt.maxOpen,
				MaxIdleConnections: tt.maxIdle, VerifyConnection: true,
			})
			if err != nil {
				t.Fatalf("Initialize (needs MySQL/MariaDB at %s, root without password): %v", addr, err)
			}
			defer func() { _ = d.Close() }()
			// Ten concurrent deletions of missing users hold connections
			// at once; the pool must not open more than its bound.
			var wg sync.WaitGroup
			for range 10 {
				wg.Go(func() {
					if err := d.DeleteUser(ctx, dbplugin.DeleteUserRequest{Username: "sv-pool-none"}); err != nil {
						t.Errorf("DeleteUser: %v", err)
					}
				})
			}
			wg.Wait()
			st := d.db.Stats()
			if st.MaxOpenConnections != tt.wantOpen || st.OpenConnections > tt.wantOpen || st.OpenConnections == 0 {
				t.Errorf("pool stats: max %d open %d, want max %d and 1..%d open",
					st.MaxOpenConnections, st.OpenConnections, tt.wantOpen, tt.wantOpen)
			}
		})
	}
}
