package alert

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTablesFromStoreMigrations: alert's tables used to be the store's
// migrations 5 and 6. A database made then (its tables and a rule in
// them) opens with alert's own migrations, which leave it as it is, and
// records them once; a fresh database gets the tables from alert alone.
func TestTablesFromStoreMigrations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(t, err)
	var tables int
	require.NoError(t, s.Pool().QueryRow(`SELECT count(*) FROM sqlite_master WHERE name LIKE 'alert%'`).Scan(&tables))
	assert.Zero(t, tables, "the store makes no alert tables")
	// As the store's migrations 5 and 6 left it.
	for _, name := range []string{"migrations/sqlite/0001_alerts.sql", "migrations/sqlite/0002_alert_rules.sql"} {
		body, err := migrations.ReadFile(name)
		require.NoError(t, err)
		require.NoError(t, s.ExecSQL(ctx, string(body)))
	}
	p, err := s.CreateProject(ctx, "p")
	require.NoError(t, err)
	require.NoError(t, s.ExecSQL(ctx, `INSERT INTO alert_rules (project_id, name, rule, updated_ms) VALUES (?, 'old rule', '{"name":"old rule","triggers":[{"type":"every"}],"actions":[{"type":"webhook","url":"http://127.0.0.1:1/"}]}', 0)`, p.ID))
	require.NoError(t, s.ExecSQL(ctx, `UPDATE alert_rules_version SET version = 7`))

	for i := 0; i < 2; i++ {
		n, err := New(s.DB, nil, Options{Manual: true})
		require.NoError(t, err)
		rs, err := n.StoredRules(ctx, p.ID)
		require.NoError(t, err)
		require.Len(t, rs, 1)
		assert.Equal(t, "old rule", rs[0].Rule.Name)
		require.NoError(t, n.Close())
	}
	var recorded, version int
	require.NoError(t, s.Pool().QueryRow(`SELECT count(*) FROM component_migrations WHERE component = 'alert'`).Scan(&recorded))
	assert.Equal(t, 2, recorded)
	require.NoError(t, s.Pool().QueryRow(`SELECT version FROM alert_rules_version`).Scan(&version))
	assert.Equal(t, 7, version, "kept")
	require.NoError(t, s.Close(ctx))

	fresh, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "new.db"), sqlite.Options{})
	require.NoError(t, err)
	defer fresh.Close(ctx)
	n, err := New(fresh.DB, nil, Options{Manual: true})
	require.NoError(t, err)
	defer n.Close()
	rs, err := n.StoredRules(ctx, 1)
	require.NoError(t, err)
	assert.Empty(t, rs)
}

// TestLostDatabaseFile: with the store's file deleted, alert's writes are
// refused as the store's are (ErrLost), and its sender stays quiet: the
// store says it once.
func TestLostDatabaseFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "errlog.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(t, err)
	defer s.Close(ctx)
	var reported []error
	n, err := New(s.DB, nil, Options{Manual: true, OnError: func(err error) { reported = append(reported, err) }})
	require.NoError(t, err)
	defer n.Close()
	p, err := s.CreateProject(ctx, "p")
	require.NoError(t, err)
	require.NoError(t, n.RunOnce(ctx))

	require.NoError(t, os.Link(path, filepath.Join(dir, "kept.db")))
	require.NoError(t, os.Remove(path))
	assert.ErrorIs(t, n.Acknowledge(ctx, 1, true), store.ErrLost)
	_, err = n.SaveRule(ctx, p.ID, 0, Rule{Name: "r", Triggers: []Trigger{{Type: TriggerNew}}, Actions: []Action{{Type: ActionWebhook, URL: "http://127.0.0.1:1/"}}})
	assert.ErrorIs(t, err, store.ErrLost)
	for i := 0; i < 3; i++ {
		assert.NoError(t, n.RunOnce(ctx))
	}
	assert.Empty(t, reported)

	require.NoError(t, os.Rename(filepath.Join(dir, "kept.db"), path))
	require.NoError(t, n.Acknowledge(ctx, 1, true), "the file is back")
	require.NoError(t, n.RunOnce(ctx))
}
