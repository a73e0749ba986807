// Package pgtest gives each test a fresh PostgreSQL schema on the server
// named by ERRLOG_TEST_POSTGRES. Without it a test skips, or fails when
// CI=true, so that CI cannot pass without PostgreSQL.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// URL returns a connection URL whose search_path is a new empty schema,
// dropped when the test ends.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("ERRLOG_TEST_POSTGRES")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("ERRLOG_TEST_POSTGRES is not set, and CI=true: PostgreSQL tests must run in CI (.ci/run starts one; see the README's test command)")
		}
		t.Skip("ERRLOG_TEST_POSTGRES not set (.ci/run starts one; see the README's test command)")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		db.Close()
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		_, _ = db.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
		db.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
