package postgres

import (
	"context"
	"database/sql"
	"testing"

	"github.com/errlog/errlog/errlogd/internal/pgtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOwnerLockSession: the statement run on the owner lock's connection
// (TestOwedCountsLockLost sees it run there) sets the server's TCP
// keepalives for that session, so that the lock of a process whose host
// vanished is released about a minute later, not after the systems'
// two hours; and it runs on a server that has those settings.
func TestOwnerLockSession(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("pgx", pgtest.URL(t))
	require.NoError(t, err)
	defer db.Close()
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(ctx, dialect.Owners.Session)
	require.NoError(t, err)
	var tcp bool
	require.NoError(t, conn.QueryRowContext(ctx, `SELECT inet_client_addr() IS NOT NULL`).Scan(&tcp))
	if !tcp {
		t.Skip("a Unix socket: PostgreSQL reads TCP keepalives as 0 there")
	}
	for name, want := range map[string]string{"tcp_keepalives_idle": "30", "tcp_keepalives_interval": "10", "tcp_keepalives_count": "3", "application_name": "errlogd owner lock"} {
		var got string
		require.NoError(t, conn.QueryRowContext(ctx, "SHOW "+name).Scan(&got))
		assert.Equal(t, want, got, name)
	}
}
