package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/errlog/errlog/event"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/errlog/errlog/errlogd/store/storetest"
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
	require.Equal(t, 2, v)
}
