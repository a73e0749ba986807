package sqlite_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/errlog/errlog/event"
)

// TestAbsurdStoredTimeReadable: a timestamp stored before ingest clamped
// them (-1e18 seconds) is read within years 1 to 9999: every page of
// the API encodes.
func TestAbsurdStoredTimeReadable(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "e.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	p, err := st.CreateProject(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	in, err := store.Prepare(p, &event.Event{EventID: event.NewID(), Logentry: &event.Logentry{Formatted: "m"}}, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Submit(ctx, in); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE events SET ts = -9000000000000000000, received = 9000000000000000000`,
		`UPDATE event_groups SET first_seen = -9000000000000000000, last_seen = 9000000000000000000`} {
		if _, err := st.Pool().ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	page, err := st.ListGroups(ctx, store.GroupQuery{})
	if err != nil || len(page.Groups) != 1 {
		t.Fatalf("ListGroups: %v, %v", page, err)
	}
	evs, err := st.GroupEvents(ctx, page.Groups[0].ID, store.EventQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{page, evs} {
		if _, err := json.Marshal(v); err != nil {
			t.Errorf("encoding %T: %v", v, err)
		}
	}
}
