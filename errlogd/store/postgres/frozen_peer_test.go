package postgres_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/errlog/errlog/errlogd/store/postgres"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWriterSessionsOfAFrozenProcessEnd: an errlogd process that stops
// mid-commit (SIGSTOP, a paused VM, a host that lost power) holds its
// transaction's row locks on the groups it was writing. Reproduced with
// three processes on one database: with one stopped inside a commit for
// ten minutes, the two others answered no event of those groups (each
// commit waited 30 s for the lock, SDKs timed out), for as long as it
// stayed stopped. The owner lock's session is bounded (keepalives, about
// a minute); the writer's sessions must be too: idle in a transaction
// (idle_in_transaction_session_timeout) and vanished (TCP keepalives).
func TestWriterSessionsOfAFrozenProcessEnd(t *testing.T) {
	ctx := context.Background()
	url, _ := adminDB(t)
	s, err := postgres.Open(ctx, url, postgres.Options{OweCounts: true})
	require.NoError(t, err)
	defer s.Close(ctx)
	var idleTx, keepIdle string
	require.NoError(t, s.Pool().QueryRowContext(ctx, `SELECT current_setting('idle_in_transaction_session_timeout'), current_setting('tcp_keepalives_idle')`).Scan(&idleTx, &keepIdle))
	assert.NotEqual(t, "0", idleTx, "a writer frozen in a transaction holds its groups' locks forever")
	idle, err := strconv.Atoi(keepIdle)
	require.NoError(t, err)
	assert.True(t, idle > 0 && idle <= 60, "tcp_keepalives_idle %d s: a vanished writer holds its groups' locks for the system's two hours", idle)
}
