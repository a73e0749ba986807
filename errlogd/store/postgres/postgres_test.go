package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/internal/pgtest"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/postgres"
	"github.com/errlog/errlog/errlogd/store/storetest"
	"github.com/stretchr/testify/require"
)

// TestConformance: as errlogd serving opens it, owing counts.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := postgres.Open(context.Background(), pgtest.URL(t), postgres.Options{OweCounts: true})
		require.NoError(t, err)
		return s
	})
}

func TestMigrateFromPrevious(t *testing.T) {
	url := pgtest.URL(t)
	storetest.RunMigration(t, func(t *testing.T, upTo int) storetest.Migratable {
		s, err := postgres.Open(context.Background(), url, postgres.Options{UpTo: upTo})
		require.NoError(t, err)
		return s
	})
}

// TestGroupingUpgrade: see storetest.RunGroupingUpgrade.
func TestGroupingUpgrade(t *testing.T) {
	url := pgtest.URL(t)
	storetest.RunGroupingUpgrade(t, func(t *testing.T, upTo int) storetest.Migratable {
		s, err := postgres.Open(context.Background(), url, postgres.Options{UpTo: upTo})
		require.NoError(t, err)
		return s
	})
}

// TestSearchIndexCatchesUp: see storetest.RunSearchCatchUp.
func TestSearchIndexCatchesUp(t *testing.T) {
	url := pgtest.URL(t)
	storetest.RunSearchCatchUp(t, func(t *testing.T, onError func(error)) storetest.Searchable {
		s, err := postgres.Open(context.Background(), url, postgres.Options{Writer: store.WriterOptions{OnError: onError}})
		require.NoError(t, err)
		return s
	}, func(text string) string {
		return `SELECT count(*) FROM group_search WHERE title LIKE '%` + text + `%'`
	})
}

// TestSearchCommonText: see storetest.RunSearchCommonText.
func TestSearchCommonText(t *testing.T) {
	s, err := postgres.Open(context.Background(), pgtest.URL(t), postgres.Options{})
	require.NoError(t, err)
	defer s.Close(context.Background())
	storetest.RunSearchCommonText(t, s, func() {
		// As autovacuum would: the planner's estimate of 2,100 matches
		// makes the common text a scan, the rare one an index search.
		require.NoError(t, s.ExecSQL(context.Background(), `ANALYZE group_search`))
	})
}

// TestDeleteGroupCancelledOwed: see storetest.RunDeleteGroupCancelledOwed.
func TestDeleteGroupCancelledOwed(t *testing.T) {
	s, err := postgres.Open(context.Background(), pgtest.URL(t), postgres.Options{OweCounts: true, Writer: store.WriterOptions{
		InFlight: func() int { return 1000 },
		Linger:   time.Second,
	}})
	require.NoError(t, err)
	defer s.Close(context.Background())
	storetest.RunDeleteGroupCancelledOwed(t, s)
}
