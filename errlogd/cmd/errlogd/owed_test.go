package main

import (
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKilledWhileCountsOwed: errlogd is killed (SIGKILL) under load while
// it owes the counts of events it has acknowledged (sqlstore's "Owed
// counts"); started again, it finds them: every event acknowledged is
// stored, and every group's count, minute buckets and environments seen
// are its events, each counted once.
// On PostgreSQL the counts owed are recorded under the process's id, and
// the killed process's session, with its owner lock, ends with it.
func TestKilledWhileCountsOwed(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "e.db")
		killedWhileCountsOwed(t, path, func() (*sql.DB, error) {
			return sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
		}, `SELECT (SELECT count(*) FROM events) - (SELECT COALESCE(sum(count), 0) FROM event_groups)`)
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgURL(t)
		killedWhileCountsOwed(t, url, func() (*sql.DB, error) { return sql.Open("pgx", url) },
			`SELECT count(*) FROM owed_events`)
	})
}

// killedWhileCountsOwed runs errlogd on db, kills it when owedQuery (on a
// connection of open's) finds counts owed, starts it again and checks
// the counts.
func killedWhileCountsOwed(t *testing.T, db string, open func() (*sql.DB, error), owedQuery string) {
	p := start(t, nil, "-addr", "127.0.0.1:0", "-db", db)
	key := firstKey(t, p)

	words := []string{"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"}
	var mu sync.Mutex
	var acked []string
	var sent atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := event.NewID()
				sent.Add(1)
				code, err := sendEvent(client, p.base, key, fmt.Sprintf(`{"event_id":%q,"message":"crash %s","level":"error","environment":%q,"extra":{"pad":%q}}`,
					id, words[(w+i)%len(words)], []string{"prod", "staging"}[i%2], strings.Repeat("x", 1000)))
				if err == nil && code == 200 {
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
				}
			}
		}(w)
	}
	ackedCount := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }

	// Kill it at a moment the database holds events its counts do not.
	ro, err := open()
	require.NoError(t, err)
	defer ro.Close()
	owed := int64(0)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if ackedCount() < 500 {
			continue
		}
		if err := ro.QueryRow(owedQuery).Scan(&owed); err != nil {
			continue
		}
		if owed > 0 {
			require.NoError(t, p.cmd.Process.Kill())
			break
		}
	}
	require.Positive(t, owed, "the counts of some events were owed")
	<-p.done
	close(stop)
	wg.Wait()
	ro.Close()

	p = start(t, nil, "-addr", "127.0.0.1:0", "-db", db)
	p.stop(t)

	check, err := open()
	require.NoError(t, err)
	have := eventIDsIn(t, check)
	defer check.Close()
	mu.Lock()
	missing := 0
	for _, id := range acked {
		if !have[id] {
			missing++
		}
	}
	n := len(acked)
	mu.Unlock()
	assert.Zero(t, missing, "every event acknowledged is stored")

	rows, err := check.Query(`SELECT g.title, g.count,
  (SELECT count(*) FROM events e WHERE e.group_id = g.id),
  (SELECT COALESCE(sum(n), 0) FROM group_minutes m WHERE m.group_id = g.id),
  (SELECT COALESCE(sum(n), 0) FROM group_seen s WHERE s.group_id = g.id AND s.kind = 'environment'),
  g.last_event_id = (SELECT max(id) FROM events e WHERE e.group_id = g.id)
FROM event_groups g`)
	require.NoError(t, err)
	defer rows.Close()
	groups := 0
	for rows.Next() {
		var title string
		var count, events, minutes, seen int64
		var last bool
		require.NoError(t, rows.Scan(&title, &count, &events, &minutes, &seen, &last))
		assert.Equal(t, events, count, "%s: count", title)
		assert.Equal(t, events, minutes, "%s: minute buckets", title)
		assert.Equal(t, events, seen, "%s: environments seen", title)
		assert.True(t, last, "%s: last event", title)
		groups++
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, len(words), groups)
	t.Logf("%d events sent, %d acknowledged, %d owed at the kill", sent.Load(), n, owed)
}
