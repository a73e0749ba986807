package sqlite_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/errlog/errlog/event"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/errlog/errlog/errlogd/store/storetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "errlog.db"), sqlite.Options{})
		require.NoError(t, err)
		return s
	})
}

func TestMigrateFromPrevious(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	storetest.RunMigration(t, func(t *testing.T, upTo int) storetest.Migratable {
		s, err := sqlite.Open(context.Background(), path, sqlite.Options{UpTo: upTo})
		require.NoError(t, err)
		return s
	})
}

// TestGroupingUpgrade: see storetest.RunGroupingUpgrade.
func TestGroupingUpgrade(t *testing.T) {
	path := filepath.Join(t.TempDir(), "grouping1.db")
	storetest.RunGroupingUpgrade(t, func(t *testing.T, upTo int) storetest.Migratable {
		s, err := sqlite.Open(context.Background(), path, sqlite.Options{UpTo: upTo})
		require.NoError(t, err)
		return s
	})
}

func TestReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "errlog.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(t, err)
	p, err := s.CreateProject(ctx, "p")
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		in, err := store.Prepare(p, &event.Event{Logentry: &event.Logentry{Message: "kept"}}, nil, time.Now())
		require.NoError(t, err)
		require.NoError(t, s.Submit(ctx, in))
	}
	require.NoError(t, s.Close(ctx))
	s, err = sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(t, err)
	defer s.Close(ctx)
	page, err := s.ListGroups(ctx, store.GroupQuery{})
	require.NoError(t, err)
	require.Len(t, page.Groups, 1)
	require.Equal(t, int64(3), page.Groups[0].Count)
	v, err := s.SchemaVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, sqlite.Schema(), v, "every migration applied")
}

// TestRetentionReclaimsSpace: deleted events' pages go back to the file
// system (auto_vacuum=INCREMENTAL plus incremental_vacuum after Retain),
// while the store keeps taking events.
func TestRetentionReclaimsSpace(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "errlog.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(t, err)
	defer s.Close(ctx)
	p, err := s.CreateProject(ctx, "p")
	require.NoError(t, err)
	old := time.Now().Add(-100 * 24 * time.Hour)
	noise := make([]byte, 20000)
	for i := 0; i < 200; i++ {
		rand.Read(noise) // incompressible, so that each event takes pages
		ev := &event.Event{Logentry: &event.Logentry{Message: "old"}, Extra: map[string]any{"blob": hex.EncodeToString(noise)}}
		in, err := store.Prepare(p, ev, nil, old)
		require.NoError(t, err)
		require.NoError(t, s.Submit(ctx, in))
	}
	raw, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer raw.Close()
	pages := func() (n int64) {
		require.NoError(t, raw.QueryRow(`PRAGMA page_count`).Scan(&n))
		return n
	}
	var mode int
	require.NoError(t, raw.QueryRow(`PRAGMA auto_vacuum`).Scan(&mode))
	assert.Equal(t, 2, mode, "auto_vacuum=INCREMENTAL")
	before := pages()
	res, err := s.Retain(ctx, store.Retention{MaxAge: 90 * 24 * time.Hour, BatchSize: 50})
	require.NoError(t, err)
	assert.Equal(t, int64(200), res.Events)
	after := pages()
	assert.Less(t, after, before/4, "pages %d → %d", before, after)
	var free int64
	require.NoError(t, raw.QueryRow(`PRAGMA freelist_count`).Scan(&free))
	assert.Less(t, free, int64(50))
	g, err := s.ListGroups(ctx, store.GroupQuery{})
	require.NoError(t, err)
	assert.Equal(t, int64(200), g.Groups[0].Count, "the count stays")
}

// The checkpointer copies committed WAL frames into the database file
// while the store runs; the writer's own autocheckpoint (10,000 pages)
// would not reach 1.2 MB of events.
func TestCheckpointerCopiesWAL(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "errlog.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(t, err)
	defer s.Close(ctx)
	p, err := s.CreateProject(ctx, "p")
	require.NoError(t, err)
	st0, err := os.Stat(path)
	require.NoError(t, err)
	for i := 0; i < 300; i++ {
		in, err := store.Prepare(p, &event.Event{Logentry: &event.Logentry{Message: "wal"}}, nil, time.Now())
		require.NoError(t, err)
		in.Payload = make([]byte, 4096)
		_, _ = rand.Read(in.Payload)
		require.NoError(t, s.Submit(ctx, in))
	}
	require.Eventually(t, func() bool {
		st, err := os.Stat(path)
		return err == nil && st.Size() >= st0.Size()+1<<20
	}, 3*time.Second, 20*time.Millisecond, "the database file did not grow: WAL not checkpointed")
}

// Large batches are split into prepared statements of 2^k rows (here 37
// groups: 32 + 4 + 1 rows); every group gets its count and latest title.
func TestLargeBatchSplitsStatements(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "errlog.db"), sqlite.Options{})
	require.NoError(t, err)
	defer s.Close(ctx)
	base := time.Now().Add(-time.Minute)
	for i := 0; i < 111; i++ {
		s.Deliver(&event.Event{Timestamp: base.Add(time.Duration(i) * time.Millisecond),
			Fingerprint: []string{fmt.Sprint("g", i%37)}, Logentry: &event.Logentry{Message: fmt.Sprintf("group %d event %d", i%37, i)}})
	}
	require.NoError(t, s.Flush(ctx))
	require.Zero(t, s.Dropped())
	page, err := s.ListGroups(ctx, store.GroupQuery{Limit: 500})
	require.NoError(t, err)
	require.Len(t, page.Groups, 37)
	for _, g := range page.Groups {
		var n int
		_, err := fmt.Sscanf(g.Title, "group %d event", &n)
		require.NoError(t, err, g.Title)
		assert.Equal(t, int64(3), g.Count, g.Title)
		assert.Equal(t, fmt.Sprintf("group %d event %d", n, n+74), g.Title)
	}
}

// TestSearchIndexCatchesUp: see storetest.RunSearchCatchUp.
func TestSearchIndexCatchesUp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "errlog.db")
	storetest.RunSearchCatchUp(t, func(t *testing.T, onError func(error)) storetest.Searchable {
		s, err := sqlite.Open(context.Background(), path, sqlite.Options{Writer: store.WriterOptions{OnError: onError}})
		require.NoError(t, err)
		return s
	}, func(text string) string {
		return `SELECT count(*) FROM group_search WHERE group_search MATCH '"` + text + `"'`
	})
}

// TestDeleteGroupShares: see storetest.RunDeleteGroupShares.
func TestDeleteGroupShares(t *testing.T) {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "errlog.db"), sqlite.Options{})
	require.NoError(t, err)
	defer s.Close(context.Background())
	storetest.RunDeleteGroupShares(t, s)
}

// TestDeleteGroupCancelledOwed: see storetest.RunDeleteGroupCancelledOwed.
func TestDeleteGroupCancelledOwed(t *testing.T) {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "errlog.db"), sqlite.Options{OweCounts: true, Writer: store.WriterOptions{
		InFlight: func() int { return 1000 },
		Linger:   time.Second,
	}})
	require.NoError(t, err)
	defer s.Close(context.Background())
	storetest.RunDeleteGroupCancelledOwed(t, s)
}

// TestSearchCommonText: see storetest.RunSearchCommonText; here 2,100
// matching titles are over searchScanAbove, so they are scanned.
func TestSearchCommonText(t *testing.T) {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "errlog.db"), sqlite.Options{})
	require.NoError(t, err)
	defer s.Close(context.Background())
	storetest.RunSearchCommonText(t, s, nil)
}

// TestSearchFoldsCaseBeyondASCII: the index, a stale group's current
// title and a short text's scan all ignore the case of non-ASCII letters
// (SQLite's LIKE alone folds only A-Z).
func TestSearchFoldsCaseBeyondASCII(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "errlog.db"), sqlite.Options{})
	require.NoError(t, err)
	defer s.Close(ctx)
	p, err := s.CreateProject(ctx, "p")
	require.NoError(t, err)
	at := time.Now().Add(-time.Hour)
	submit := func(key, title string) {
		at = at.Add(time.Second)
		in, err := store.Prepare(p, &event.Event{Logentry: &event.Logentry{Message: title}, Timestamp: at}, nil, time.Now())
		require.NoError(t, err)
		in.GroupKey = key
		require.NoError(t, s.Submit(ctx, in))
	}
	search := func(text string) []string {
		page, err := s.ListGroups(ctx, store.GroupQuery{Text: text})
		require.NoError(t, err)
		var out []string
		for _, g := range page.Groups {
			out = append(out, g.Title)
		}
		return out
	}
	submit("ru", "Ошибка оплаты 1")
	submit("fr", "ÉCHEC du paiement")
	assert.Equal(t, []string{"Ошибка оплаты 1"}, search("ошибка"), "through the index")
	assert.Equal(t, []string{"ÉCHEC du paiement"}, search("échec"))
	submit("ru", "Ошибка оплаты 2") // stale now
	assert.Equal(t, []string{"Ошибка оплаты 2"}, search("ошибка"), "a stale group, on its current title")
	assert.Equal(t, []string{"Ошибка оплаты 2"}, search("ОПЛАТЫ 2"))
	assert.Equal(t, []string{"ÉCHEC du paiement"}, search("éc"), "a short text, scanned")
}
