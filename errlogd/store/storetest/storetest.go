// Package storetest is the conformance suite every store.Store passes:
// store/sqlite and store/postgres run it in their tests.
package storetest

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/sqlstore"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Opener returns a new, empty store for one subtest; the suite closes it.
type Opener func(t *testing.T) store.Store

// Run runs the suite.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		f    func(t *testing.T, s store.Store)
	}{
		{"Projects", testProjects},
		{"Grouping", testGrouping},
		{"Grouping3Fresh", testGrouping3Fresh},
		{"Idempotent", testIdempotent},
		{"Regression", testRegression},
		{"ListFilters", testListFilters},
		{"ListPaging", testListPaging},
		{"GroupEvents", testGroupEvents},
		{"EventJSON", testEventJSON},
		{"Counts", testCounts},
		{"SeenAndFacets", testSeen},
		{"GroupUsers", testGroupUsers},
		{"DeleteGroup", testDeleteGroup},
		{"DeleteGroupLateFeedback", testDeleteGroupLateFeedback},
		{"DeleteGroupFails", testDeleteGroupFails},
		{"Retention", testRetention},
		{"RetentionKeepsFeedback", testRetentionKeepsFeedback},
		{"FeedbackCount", testFeedbackCount},
		{"RetentionLastEvent", testRetentionLastEvent},
		{"RetentionCancelledLastEvent", testRetentionCancelledLastEvent},
		{"RetentionShares", testRetentionShares},
		{"EventSink", testEventSink},
		{"ConcurrentSubmit", testConcurrent},
		{"CloseDeadline", testCloseDeadline},
		{"TraceID", testTraceID},
		{"Batches", testBatches},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				require.NoError(t, s.Close(ctx))
			}()
			tc.f(t, s)
		})
	}
}

var ctx = context.Background()

// base is a fixed "now" a little in the past, so that MaxFuture never
// moves the test's timestamps.
var base = time.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour)

// Ev is an event of the given message, type and options, for tests.
type Ev struct {
	ID, Msg, Type, Level, Env, Release, User string
	Fingerprint                              []string
	At                                       time.Time
}

func (e Ev) event() *event.Event {
	ev := &event.Event{EventID: e.ID, Timestamp: e.At, Level: event.Level(e.Level), Environment: e.Env, Release: e.Release, Fingerprint: e.Fingerprint, Platform: "go"}
	if e.Type != "" {
		ev.Exception = []event.Exception{{Type: e.Type, Value: e.Msg, Stacktrace: &event.Stacktrace{Frames: []event.Frame{
			{Module: "main", Function: "main", Filename: "main.go", Lineno: 10, InApp: true},
			{Module: "example.com/app/" + e.Type, Function: "Do", Filename: "do.go", Lineno: 20, InApp: true},
		}}}}
	} else {
		ev.Logentry = &event.Logentry{Message: e.Msg}
	}
	if ev.EventID == "" {
		ev.EventID = event.NewID()
	}
	if e.User != "" {
		ev.User = &event.User{ID: e.User}
	}
	if ev.Timestamp.IsZero() {
		ev.Timestamp = base
	}
	return ev
}

func submit(t *testing.T, s store.Store, p *store.Project, evs ...Ev) []*store.Incoming {
	t.Helper()
	var out []*store.Incoming
	for _, e := range evs {
		in, err := store.Prepare(p, e.event(), nil, base.Add(48*time.Hour))
		require.NoError(t, err)
		require.NoError(t, s.Submit(ctx, in))
		out = append(out, in)
	}
	return out
}

func project(t *testing.T, s store.Store) *store.Project {
	t.Helper()
	p, err := s.CreateProject(ctx, "app")
	require.NoError(t, err)
	return p
}

func groups(t *testing.T, s store.Store, q store.GroupQuery) []store.Group {
	t.Helper()
	page, err := s.ListGroups(ctx, q)
	require.NoError(t, err)
	return page.Groups
}

func titles(gs []store.Group) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.Title
	}
	return out
}

func testProjects(t *testing.T, s store.Store) {
	a, err := s.CreateProject(ctx, "a")
	require.NoError(t, err)
	b, err := s.CreateProject(ctx, "b")
	require.NoError(t, err)
	assert.Len(t, a.PublicKey, 32)
	assert.NotEqual(t, a.PublicKey, b.PublicKey)
	ps, err := s.Projects(ctx)
	require.NoError(t, err)
	require.Len(t, ps, 2)
	assert.Equal(t, "a", ps[0].Name)
	got, err := s.ProjectByKey(ctx, b.PublicKey)
	require.NoError(t, err)
	assert.Equal(t, b.ID, got.ID)
	_, err = s.ProjectByKey(ctx, "nope")
	assert.ErrorIs(t, err, store.ErrNotFound)
	b.Disabled, b.RateLimit, b.InApp, b.Name = true, 120, []string{"github.com/acme/", "example.com/x"}, "b2"
	require.NoError(t, s.UpdateProject(ctx, b))
	got, err = s.Project(ctx, b.ID)
	require.NoError(t, err)
	assert.Equal(t, "b2", got.Name)
	assert.True(t, got.Disabled)
	assert.Equal(t, 120, got.RateLimit)
	assert.Equal(t, []string{"github.com/acme/", "example.com/x"}, got.InApp)
	_, err = s.Project(ctx, 999)
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func testGrouping(t *testing.T, s store.Store) {
	p := project(t, s)
	submit(t, s, p,
		Ev{Msg: "boom 1", Type: "DBError", At: base},
		Ev{Msg: "boom 2", Type: "DBError", At: base.Add(2 * time.Minute), Level: "fatal"},
		Ev{Msg: "boom 3", Type: "DBError", At: base.Add(time.Minute)},
		Ev{Msg: "other", Type: "IOError", At: base},
		Ev{Msg: "custom", Type: "IOError", Fingerprint: []string{"mine"}},
		Ev{Msg: "custom 2", Type: "DBError", Fingerprint: []string{"mine"}},
	)
	gs := groups(t, s, store.GroupQuery{Sort: store.SortCount})
	require.Len(t, gs, 3)
	g := gs[0]
	assert.Equal(t, int64(3), g.Count)
	assert.Equal(t, "DBError: boom 2", g.Title, "title of the newest event")
	assert.Equal(t, "fatal", g.Level)
	assert.Equal(t, base, g.FirstSeen)
	assert.Equal(t, base.Add(2*time.Minute), g.LastSeen)
	assert.Equal(t, store.StatusUnresolved, g.Status)
	assert.Contains(t, g.Culprit, "example.com/app/DBError.Do")
	assert.Equal(t, int64(2), gs[1].Count, "explicit fingerprint groups across types")

	// {{ default }} with an extra part splits the default group.
	submit(t, s, p, Ev{Msg: "boom 4", Type: "DBError", Fingerprint: []string{"{{ default }}", "tenant-a"}},
		Ev{Msg: "boom 5", Type: "DBError", Fingerprint: []string{"{{ default }}"}})
	gs = groups(t, s, store.GroupQuery{Sort: store.SortCount})
	require.Len(t, gs, 4)
	assert.Equal(t, int64(4), gs[0].Count, "{{ default }} alone is the default group")

	got, err := s.Group(ctx, g.ID)
	require.NoError(t, err)
	assert.Equal(t, int64(4), got.Count)
	assert.Equal(t, int64(0), got.Users, "no event had a user")

	// Users affected: distinct, across batches, duplicates not counted.
	id := event.NewID()
	submit(t, s, p, Ev{Msg: "u", Type: "UserError", User: "alice"}, Ev{Msg: "u", Type: "UserError", User: "bob"},
		Ev{ID: id, Msg: "u", Type: "UserError", User: "carol"}, Ev{ID: id, Msg: "u", Type: "UserError", User: "carol"},
		Ev{Msg: "u", Type: "UserError", User: "alice"}, Ev{Msg: "u", Type: "UserError"})
	page, err := s.ListGroups(ctx, store.GroupQuery{Text: "UserError"})
	require.NoError(t, err)
	require.Len(t, page.Groups, 1)
	assert.Equal(t, int64(5), page.Groups[0].Count)
	assert.Equal(t, int64(3), page.Groups[0].Users)
	_, err = s.Group(ctx, 123456)
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func testIdempotent(t *testing.T, s store.Store) {
	p := project(t, s)
	id := event.NewID()
	submit(t, s, p, Ev{ID: id, Msg: "x", Type: "E"}, Ev{ID: id, Msg: "x", Type: "E"})
	// A resend with other contents (another group) adds nothing either.
	submit(t, s, p, Ev{ID: id, Msg: "y", Type: "F"})
	// Two copies in one batch.
	in, err := store.Prepare(p, Ev{ID: event.NewID(), Msg: "x", Type: "E"}.event(), nil, base)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); assert.NoError(t, s.Submit(ctx, in)) }()
	}
	wg.Wait()
	gs := groups(t, s, store.GroupQuery{})
	require.Len(t, gs, 1, "no empty group for the duplicate")
	assert.Equal(t, int64(2), gs[0].Count)
	evs, err := s.GroupEvents(ctx, gs[0].ID, store.EventQuery{})
	require.NoError(t, err)
	assert.Len(t, evs, 2)
	// The same event id in another project is another event.
	q, err := s.CreateProject(ctx, "other")
	require.NoError(t, err)
	submit(t, s, q, Ev{ID: id, Msg: "x", Type: "E"})
	st, err := s.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(3), st.Events)
}

func testRegression(t *testing.T, s store.Store) {
	p := project(t, s)
	submit(t, s, p, Ev{Msg: "a", Type: "A"}, Ev{Msg: "b", Type: "B"})
	gs := groups(t, s, store.GroupQuery{Sort: store.SortFirstSeen})
	require.Len(t, gs, 2)
	ids := []int64{gs[0].ID, gs[1].ID}
	require.NoError(t, s.SetStatus(ctx, ids[:1], store.StatusResolved))
	require.NoError(t, s.SetStatus(ctx, ids[1:], store.StatusIgnored))
	assert.ErrorIs(t, s.SetStatus(ctx, []int64{999}, store.StatusResolved), store.ErrNotFound)
	assert.Error(t, s.SetStatus(ctx, ids, "bogus"))
	resolved := groups(t, s, store.GroupQuery{Status: store.StatusResolved})
	require.Len(t, resolved, 1)
	submit(t, s, p, Ev{Msg: "a", Type: "A"}, Ev{Msg: "b", Type: "B"})
	a, err := s.Group(ctx, ids[0])
	require.NoError(t, err)
	assert.Equal(t, store.StatusUnresolved, a.Status, "a resolved group that recurs is reopened")
	assert.True(t, a.Regression)
	b, err := s.Group(ctx, ids[1])
	require.NoError(t, err)
	assert.Equal(t, store.StatusIgnored, b.Status, "ignored stays ignored")
	assert.False(t, b.Regression)
	require.NoError(t, s.SetStatus(ctx, ids[:1], store.StatusUnresolved))
	a, err = s.Group(ctx, ids[0])
	require.NoError(t, err)
	assert.False(t, a.Regression)
}

func testListFilters(t *testing.T, s store.Store) {
	p := project(t, s)
	q := project(t, s)
	submit(t, s, p,
		Ev{Msg: "disk full on /var", Type: "IOError", Level: "fatal", Env: "production", Release: "1.0", At: base},
		Ev{Msg: "timeout", Type: "NetError", Level: "error", Env: "staging", Release: "1.1", At: base.Add(time.Hour)},
		Ev{Msg: "100% wrong_thing", Level: "warning", Env: "production", Release: "1.1", At: base.Add(2 * time.Hour)},
	)
	submit(t, s, q, Ev{Msg: "elsewhere", Type: "X"})
	assert.Len(t, groups(t, s, store.GroupQuery{}), 4)
	assert.Len(t, groups(t, s, store.GroupQuery{ProjectID: p.ID}), 3)
	assert.Equal(t, []string{"IOError: disk full on /var"}, titles(groups(t, s, store.GroupQuery{Level: "fatal"})))
	assert.Equal(t, []string{"100% wrong_thing", "IOError: disk full on /var"}, titles(groups(t, s, store.GroupQuery{Environment: "production"})))
	assert.Equal(t, []string{"100% wrong_thing", "NetError: timeout"}, titles(groups(t, s, store.GroupQuery{Release: "1.1"})))
	assert.Equal(t, []string{"IOError: disk full on /var"}, titles(groups(t, s, store.GroupQuery{Text: "DISK"})), "search ignores case")
	assert.Equal(t, []string{"100% wrong_thing"}, titles(groups(t, s, store.GroupQuery{Text: "0% w"})), "% is literal")
	assert.Empty(t, groups(t, s, store.GroupQuery{Text: "wrong%thing"}))
	assert.Equal(t, []string{"100% wrong_thing"}, titles(groups(t, s, store.GroupQuery{Text: "_thing"})), "_ is literal")
	assert.Len(t, groups(t, s, store.GroupQuery{Text: "do.go"}), 3, "culprit is searched")
	assert.Equal(t, []string{"100% wrong_thing", "NetError: timeout"}, titles(groups(t, s, store.GroupQuery{ProjectID: p.ID, Since: base.Add(30 * time.Minute)})))
	assert.Equal(t, []string{"IOError: disk full on /var"}, titles(groups(t, s, store.GroupQuery{ProjectID: p.ID, Until: base.Add(30 * time.Minute)})))
	assert.Equal(t, []string{"NetError: timeout"}, titles(groups(t, s, store.GroupQuery{ProjectID: p.ID, Since: base.Add(30 * time.Minute), Until: base.Add(90 * time.Minute)})))
	_, err := s.ListGroups(ctx, store.GroupQuery{Sort: "bogus"})
	assert.Error(t, err)
	_, err = s.ListGroups(ctx, store.GroupQuery{Cursor: "garbage"})
	assert.Error(t, err)
}

func testListPaging(t *testing.T, s store.Store) {
	p := project(t, s)
	const n = 23
	var evs []Ev
	for i := 0; i < n; i++ {
		// Equal last_seen for some, to test the id tie-break.
		for j := 0; j <= i%4; j++ {
			evs = append(evs, Ev{Msg: fmt.Sprintf("msg %c%c", 'a'+i%26, 'a'+i/26), Type: fmt.Sprintf("T%d", i), At: base.Add(time.Duration(i/3) * time.Minute)})
		}
	}
	submit(t, s, p, evs...)
	for _, sortBy := range []store.Sort{store.SortLastSeen, store.SortFirstSeen, store.SortCount} {
		var all []store.Group
		q := store.GroupQuery{Sort: sortBy, Limit: 5}
		for pages := 0; ; pages++ {
			require.Less(t, pages, 10)
			page, err := s.ListGroups(ctx, q)
			require.NoError(t, err)
			all = append(all, page.Groups...)
			if page.Next == "" {
				break
			}
			q.Cursor = page.Next
		}
		require.Len(t, all, n, sortBy)
		seen := map[int64]bool{}
		for i, g := range all {
			assert.False(t, seen[g.ID], "no group twice")
			seen[g.ID] = true
			if i == 0 {
				continue
			}
			prev := all[i-1]
			switch sortBy {
			case store.SortLastSeen:
				assert.False(t, g.LastSeen.After(prev.LastSeen))
			case store.SortFirstSeen:
				assert.False(t, g.FirstSeen.After(prev.FirstSeen))
			case store.SortCount:
				assert.LessOrEqual(t, g.Count, prev.Count)
			}
		}
	}
}

func testGroupEvents(t *testing.T, s store.Store) {
	p := project(t, s)
	var evs []Ev
	for i := 0; i < 7; i++ {
		evs = append(evs, Ev{Msg: "same", Type: "E", At: base.Add(time.Duration(i) * time.Second), Env: "prod", Release: "r1"})
	}
	ins := submit(t, s, p, evs...)
	g := groups(t, s, store.GroupQuery{})[0]
	first, err := s.GroupEvents(ctx, g.ID, store.EventQuery{Limit: 3})
	require.NoError(t, err)
	require.Len(t, first, 3)
	assert.Equal(t, ins[6].EventID, first[0].EventID, "newest first")
	assert.Equal(t, g.LastEventID, first[0].ID)
	assert.Equal(t, "prod", first[0].Environment)
	assert.Equal(t, "r1", first[0].Release)
	assert.Equal(t, "E: same", first[0].Title)
	assert.Greater(t, first[0].Size, first[0].Stored-1)
	older, err := s.GroupEvents(ctx, g.ID, store.EventQuery{Before: first[2].ID, Limit: 10})
	require.NoError(t, err)
	require.Len(t, older, 4)
	assert.Equal(t, ins[0].EventID, older[3].EventID)
	newer, err := s.GroupEvents(ctx, g.ID, store.EventQuery{After: older[0].ID, Limit: 1})
	require.NoError(t, err)
	require.Len(t, newer, 1)
	assert.Equal(t, first[2].ID, newer[0].ID, "After gives the next newer one")
	none, err := s.GroupEvents(ctx, 9999, store.EventQuery{})
	require.NoError(t, err)
	assert.Empty(t, none)
}

func testEventJSON(t *testing.T, s store.Store) {
	p := project(t, s)
	ev := Ev{Msg: "with payload", Type: "E"}.event()
	ev.Extra = map[string]any{"order": 42.0, "note": "ünïcode <script>"}
	raw, err := json.Marshal(ev)
	require.NoError(t, err)
	raw = append(raw, ' ') // stored as received, byte for byte
	in, err := store.Prepare(p, ev, raw, base)
	require.NoError(t, err)
	require.NoError(t, s.Submit(ctx, in))
	g := groups(t, s, store.GroupQuery{})[0]
	rows, err := s.GroupEvents(ctx, g.ID, store.EventQuery{})
	require.NoError(t, err)
	got, err := s.Event(ctx, rows[0].ID)
	require.NoError(t, err)
	assert.Equal(t, raw, got.JSON)
	assert.Equal(t, len(raw), got.Size)
	assert.Less(t, got.Stored, got.Size+20)
	byID, err := s.EventByEventID(ctx, p.ID, ev.EventID)
	require.NoError(t, err)
	assert.Equal(t, got.ID, byID.ID)
	byID, err = s.EventByEventID(ctx, 0, ev.EventID)
	require.NoError(t, err)
	assert.Equal(t, got.ID, byID.ID)
	_, err = s.Event(ctx, 98765)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.EventByEventID(ctx, p.ID, event.NewID())
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func testCounts(t *testing.T, s store.Store) {
	p := project(t, s)
	submit(t, s, p,
		Ev{Msg: "c", Type: "E", At: base.Add(10 * time.Second)},
		Ev{Msg: "c", Type: "E", At: base.Add(50 * time.Second)},
		Ev{Msg: "c", Type: "E", At: base.Add(3 * time.Minute)},
		Ev{Msg: "c", Type: "E", At: base.Add(time.Hour + time.Minute)},
		Ev{Msg: "d", Type: "F", At: base},
	)
	gs := groups(t, s, store.GroupQuery{Sort: store.SortCount})
	g, h := gs[0].ID, gs[1].ID
	hours, err := s.HourlyCounts(ctx, []int64{g, h}, base.Add(-time.Hour), base.Add(3*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, []store.Count{{Time: base, Count: 3}, {Time: base.Add(time.Hour), Count: 1}}, hours[g])
	assert.Equal(t, []store.Count{{Time: base, Count: 1}}, hours[h])
	mins, err := s.MinuteCounts(ctx, []int64{g}, base, base.Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, []store.Count{{Time: base, Count: 2}, {Time: base.Add(3 * time.Minute), Count: 1}}, mins[g], "[from, to)")
	empty, err := s.HourlyCounts(ctx, nil, base, base)
	require.NoError(t, err)
	assert.Empty(t, empty)
}

func testSeen(t *testing.T, s store.Store) {
	p := project(t, s)
	submit(t, s, p,
		Ev{Msg: "s", Type: "E", Env: "production", Release: "1.0", At: base},
		Ev{Msg: "s", Type: "E", Env: "production", Release: "1.1", At: base.Add(time.Hour)},
		Ev{Msg: "s", Type: "E", Env: "staging", Release: "1.1", At: base.Add(2 * time.Hour)},
		Ev{Msg: "s", Type: "E", At: base.Add(3 * time.Hour)},
	)
	g := groups(t, s, store.GroupQuery{})[0]
	seen, err := s.GroupSeen(ctx, g.ID)
	require.NoError(t, err)
	assert.Equal(t, []store.Seen{
		{Kind: "environment", Value: "staging", Count: 1, FirstSeen: base.Add(2 * time.Hour), LastSeen: base.Add(2 * time.Hour)},
		{Kind: "environment", Value: "production", Count: 2, FirstSeen: base, LastSeen: base.Add(time.Hour)},
		{Kind: "release", Value: "1.1", Count: 2, FirstSeen: base.Add(time.Hour), LastSeen: base.Add(2 * time.Hour)},
		{Kind: "release", Value: "1.0", Count: 1, FirstSeen: base, LastSeen: base},
	}, seen)
	f, err := s.Facets(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"production", "staging"}, f.Environments)
	assert.Equal(t, []string{"1.0", "1.1"}, f.Releases)
	f, err = s.Facets(ctx, 0)
	require.NoError(t, err)
	assert.Len(t, f.Environments, 2)
}

func testGroupUsers(t *testing.T, s store.Store) {
	p := project(t, s)
	in := func(msg string, u *event.User) *store.Incoming {
		ev := Ev{Msg: msg, Type: "E" + msg, Env: "production", Release: "1.0"}.event()
		ev.User = u
		i, err := store.Prepare(p, ev, nil, time.Now())
		require.NoError(t, err)
		return i
	}
	for _, i := range []*store.Incoming{
		in("a", &event.User{ID: "42"}),
		in("a", &event.User{ID: "42", Email: "ann@example.com"}),
		in("a", &event.User{Email: "bob@example.com"}),
		in("a", &event.User{IPAddress: "203.0.113.9"}),
		in("a", nil),
		in("b", nil),
	} {
		require.NoError(t, s.Submit(ctx, i))
	}
	gs := groups(t, s, store.GroupQuery{Sort: store.SortCount})
	require.Len(t, gs, 2)
	users, err := s.GroupUsers(ctx, []int64{gs[0].ID, gs[1].ID})
	require.NoError(t, err)
	assert.Equal(t, map[int64]int64{gs[0].ID: 3}, users, "42, bob and an address; none for b")
	seen, err := s.GroupSeen(ctx, gs[0].ID)
	require.NoError(t, err)
	assert.Len(t, seen, 2, "users are not environments or releases")
	f, err := s.Facets(ctx, 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"1.0"}, f.Releases)
	f, err = s.Facets(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"1.0"}, f.Releases)
	require.NoError(t, s.DeleteGroup(ctx, gs[0].ID))
	users, err = s.GroupUsers(ctx, []int64{gs[0].ID})
	require.NoError(t, err)
	assert.Empty(t, users)
}

func testDeleteGroup(t *testing.T, s store.Store) {
	p := project(t, s)
	submit(t, s, p, Ev{Msg: "a", Type: "A", Env: "e"}, Ev{Msg: "a", Type: "A"}, Ev{Msg: "b", Type: "B"})
	gs := groups(t, s, store.GroupQuery{Sort: store.SortCount})
	require.NoError(t, s.DeleteGroup(ctx, gs[0].ID))
	assert.ErrorIs(t, s.DeleteGroup(ctx, gs[0].ID), store.ErrNotFound)
	_, err := s.Group(ctx, gs[0].ID)
	assert.ErrorIs(t, err, store.ErrNotFound)
	left := groups(t, s, store.GroupQuery{})
	require.Len(t, left, 1)
	st, err := s.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(1), st.Events)
	h, err := s.HourlyCounts(ctx, []int64{gs[0].ID}, base.Add(-time.Hour), base.Add(time.Hour))
	require.NoError(t, err)
	assert.Empty(t, h)
	// The same key starts a new group.
	submit(t, s, p, Ev{Msg: "a", Type: "A"})
	assert.Len(t, groups(t, s, store.GroupQuery{}), 2)
}

func testRetention(t *testing.T, s store.Store) {
	p := project(t, s)
	now := time.Now()
	put := func(msg string, received time.Time, n int) {
		for i := 0; i < n; i++ {
			in, err := store.Prepare(p, Ev{Msg: msg, Type: msg, At: received}.event(), nil, received)
			require.NoError(t, err)
			require.NoError(t, s.Submit(ctx, in))
		}
	}
	put("old", now.Add(-40*24*time.Hour), 5)
	put("busy", now.Add(-time.Hour), 30)
	put("quiet", now.Add(-time.Hour), 2)
	res, err := s.Retain(ctx, store.Retention{MaxAge: 30 * 24 * time.Hour, MaxPerGroup: 10, BatchSize: 4})
	require.NoError(t, err)
	assert.Equal(t, int64(5+20), res.Events)
	assert.GreaterOrEqual(t, res.Minutes, int64(1), "the 40-day-old minute row")
	st, err := s.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(12), st.Events)
	gs := groups(t, s, store.GroupQuery{Sort: store.SortCount})
	require.Len(t, gs, 3, "groups stay")
	assert.Equal(t, int64(30), gs[0].Count, "counts are preserved")
	evs, err := s.GroupEvents(ctx, gs[0].ID, store.EventQuery{Limit: 100})
	require.NoError(t, err)
	assert.Len(t, evs, 10, "the newest 10 kept")
	assert.Equal(t, gs[0].LastEventID, evs[0].ID)
	// Still writable afterwards, and a second pass removes nothing.
	put("busy", now, 1)
	res, err = s.Retain(ctx, store.Retention{MaxAge: 30 * 24 * time.Hour, MaxPerGroup: 11})
	require.NoError(t, err)
	assert.Equal(t, int64(0), res.Events)
}

// testFeedbackCount: GroupFeedbackCount counts what GroupFeedback lists
// without its limit: feedback filed under the group and feedback that
// came before its event; not another group's.
func testFeedbackCount(t *testing.T, s store.Store) {
	p := project(t, s)
	early := Ev{Msg: "checkout failed", Type: "PayError"}.event()
	require.NoError(t, s.AddFeedback(ctx, &store.Feedback{ProjectID: p.ID, EventID: early.EventID, Comments: "before its event"}))
	in, err := store.Prepare(p, early, nil, base.Add(48*time.Hour))
	require.NoError(t, err)
	require.NoError(t, s.Submit(ctx, in))
	for i := 0; i < 4; i++ {
		id := event.NewID()
		submit(t, s, p, Ev{ID: id, Msg: "checkout failed", Type: "PayError"})
		require.NoError(t, s.AddFeedback(ctx, &store.Feedback{ProjectID: p.ID, EventID: id, Comments: fmt.Sprint("after ", i)}))
	}
	other := event.NewID()
	submit(t, s, p, Ev{ID: other, Msg: "disk full", Type: "IOError"})
	require.NoError(t, s.AddFeedback(ctx, &store.Feedback{ProjectID: p.ID, EventID: other, Comments: "another issue"}))
	gs := groups(t, s, store.GroupQuery{Sort: store.SortFirstSeen})
	require.Len(t, gs, 2)
	pay, disk := gs[0].ID, gs[1].ID
	if gs[0].Title != "PayError: checkout failed" {
		pay, disk = disk, pay
	}
	fb, err := s.GroupFeedback(ctx, pay, 2)
	require.NoError(t, err)
	require.Len(t, fb, 2)
	n, err := s.GroupFeedbackCount(ctx, pay)
	require.NoError(t, err)
	assert.Equal(t, int64(5), n, "four filed under the group, one found through its event")
	n, err = s.GroupFeedbackCount(ctx, disk)
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	n, err = s.GroupFeedbackCount(ctx, 999)
	require.NoError(t, err)
	assert.Equal(t, int64(0), n, "no such group")
}

// testRetentionKeepsFeedback: feedback that came before its event stays
// with the event's group when retention deletes the event, and goes with
// the group. It was found only through the event, so it vanished from
// the group and outlived the group's deletion.
func testRetentionKeepsFeedback(t *testing.T, s store.Store) {
	p := project(t, s)
	old := time.Now().Add(-40 * 24 * time.Hour)
	ev := Ev{Msg: "old", Type: "Old", At: old}.event()
	f := &store.Feedback{ProjectID: p.ID, EventID: ev.EventID, Name: "Ann", Comments: "it broke", Received: old}
	require.NoError(t, s.AddFeedback(ctx, f), "before its event")
	in, err := store.Prepare(p, ev, nil, old)
	require.NoError(t, err)
	require.NoError(t, s.Submit(ctx, in))
	gs := groups(t, s, store.GroupQuery{})
	require.Len(t, gs, 1)
	fb, err := s.GroupFeedback(ctx, gs[0].ID, 10)
	require.NoError(t, err)
	require.Len(t, fb, 1, "found through its event")

	res, err := s.Retain(ctx, store.Retention{MaxAge: 30 * 24 * time.Hour})
	require.NoError(t, err)
	require.Equal(t, int64(1), res.Events)
	fb, err = s.GroupFeedback(ctx, gs[0].ID, 10)
	require.NoError(t, err)
	require.Len(t, fb, 1, "still the group's without its event")
	assert.Equal(t, "it broke", fb[0].Comments)

	// Deleting the group deletes it with the group: none is left behind.
	require.NoError(t, s.DeleteGroup(ctx, gs[0].ID))
	fb, err = s.GroupFeedback(ctx, gs[0].ID, 10)
	require.NoError(t, err)
	assert.Empty(t, fb)
	st, ok := s.(interface{ Pool() *sql.DB })
	if ok {
		var n int
		require.NoError(t, st.Pool().QueryRow(`SELECT count(*) FROM feedback`).Scan(&n))
		assert.Equal(t, 0, n, "no feedback left orphaned")
	}
}

// submitReceived stores an event of type and message msg, received (and
// stamped) at received.
func submitReceived(t *testing.T, s store.Store, p *store.Project, msg string, received time.Time) {
	t.Helper()
	in, err := store.Prepare(p, Ev{Msg: msg, Type: msg, At: received}.event(), nil, received)
	require.NoError(t, err)
	require.NoError(t, s.Submit(ctx, in))
}

// testRetentionLastEvent: a group whose events retention deleted all has
// LastEventID 0, as Group documents; it kept the id of a deleted event.
// A group that keeps its newest event keeps pointing at it.
func testRetentionLastEvent(t *testing.T, s store.Store) {
	p := project(t, s)
	now := time.Now()
	put := func(msg string, received time.Time) { submitReceived(t, s, p, msg, received) }
	put("gone", now.Add(-50*24*time.Hour))
	put("kept", now.Add(-45*24*time.Hour))
	put("gone", now.Add(-40*24*time.Hour))
	put("kept", now.Add(-time.Hour))
	before := map[string]store.Group{}
	for _, g := range groups(t, s, store.GroupQuery{}) {
		before[g.Title] = g
	}
	res, err := s.Retain(ctx, store.Retention{MaxAge: 30 * 24 * time.Hour, BatchSize: 1})
	require.NoError(t, err)
	require.Equal(t, int64(3), res.Events)
	after := map[string]store.Group{}
	for _, g := range groups(t, s, store.GroupQuery{}) {
		after[g.Title] = g
	}
	require.Len(t, after, 2)
	for title, g := range after {
		evs, err := s.GroupEvents(ctx, g.ID, store.EventQuery{Limit: 10})
		require.NoError(t, err)
		if strings.HasPrefix(title, "gone") {
			assert.Empty(t, evs)
			assert.Zero(t, g.LastEventID, title)
			continue
		}
		require.Len(t, evs, 1)
		assert.Equal(t, evs[0].ID, g.LastEventID, title)
		assert.Equal(t, before[title].LastEventID, g.LastEventID, title)
	}
}

// testRetentionShares: retention waits between its delete batches, three
// times as long as each took by default, and ingest commits meanwhile.
// Its batches ran back to back and held SQLite's one writer connection
// nearly all the time: a store of 700,000 events deleting 200,000 of them
// processed 36 – 79 events/s instead of 3,800 while it ran.
func testRetentionShares(t *testing.T, s store.Store) {
	p := project(t, s)
	old := time.Now().Add(-40 * 24 * time.Hour)
	const stale, per = 400, 10
	submitMany(t, s, p, stale, Ev{Msg: "old", Type: "Old", At: old}, old)

	// Fresh events go on being submitted, one at a time, while
	// retention runs.
	stop := submitting(t, s, p, Ev{Msg: "new", Type: "New"})
	start := time.Now()
	res, err := s.Retain(ctx, store.Retention{MaxAge: 30 * 24 * time.Hour, BatchSize: per})
	end := time.Now()
	commits := stop()
	require.NoError(t, err)
	committed := 0
	for _, c := range commits {
		if c.After(start) && c.Before(end) {
			committed++
		}
	}
	assert.Equal(t, int64(stale), res.Events)
	assert.Equal(t, stale/per+1, res.Batches, "full batches, then the one that found fewer")
	assert.Less(t, res.Busy, end.Sub(start)/2,
		"deleting %v of %v: retention did not wait between its batches", res.Busy, end.Sub(start))
	assert.GreaterOrEqual(t, committed, res.Batches/4,
		"events committed while retention ran %d batches", res.Batches)
	st, err := s.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(len(commits)), st.Events, "every fresh event kept, every stale one gone")
	t.Logf("%d batches, %v deleting of %v; %d events committed meanwhile", res.Batches, res.Busy, end.Sub(start), committed)
}

// submitMany submits n events like e, received at received, from 8
// goroutines at once (so that they are committed in batches).
func submitMany(t *testing.T, s store.Store, p *store.Project, n int, e Ev, received time.Time) {
	t.Helper()
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				in, err := store.Prepare(p, e.event(), nil, received)
				if assert.NoError(t, err) {
					assert.NoError(t, s.Submit(ctx, in))
				}
			}
		}()
	}
	wg.Wait()
}

// oneGroup submits n events like e (submitMany), has their counts
// written, and returns their group, the store's only one.
func oneGroup(t *testing.T, s store.Store, p *store.Project, n int, e Ev) store.Group {
	t.Helper()
	submitMany(t, s, p, n, e, time.Now())
	// Their counts written now, not while other events wait behind them
	// (a store owing counts writes them within 250 ms).
	require.NoError(t, s.Flush(ctx))
	gs := groups(t, s, store.GroupQuery{})
	require.Len(t, gs, 1)
	return gs[0]
}

// submitting submits events like e, one at a time, until the function
// it returns is called; that returns when each was committed.
func submitting(t *testing.T, s store.Store, p *store.Project, e Ev) (stop func() []time.Time) {
	done := make(chan struct{})
	var mu sync.Mutex
	var commits []time.Time
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			in, err := store.Prepare(p, e.event(), nil, time.Now())
			if !assert.NoError(t, err) || !assert.NoError(t, s.Submit(ctx, in)) {
				return
			}
			mu.Lock()
			commits = append(commits, time.Now())
			mu.Unlock()
		}
	}()
	return func() []time.Time {
		close(done)
		wg.Wait()
		return commits
	}
}

// RunDeleteGroupShares checks that a store with one writer (SQLite)
// deletes a group's events in batches with waits between them, so that
// another group's events are committed meanwhile: one transaction
// deleting a group of 62,000 events held SQLite's writer for 6.9 s. On
// PostgreSQL, whose writers do not queue for one connection, the other
// group's commits waited through the whole deletion (34 – 49 ms) in 3
// to 4 of 8 runs: pg_stat_activity showed them, and the deletes, waiting
// on IO:WALSync (the disk's fsync, which they share), not on a lock. So
// it is not run there.
func RunDeleteGroupShares(t *testing.T, s store.Store) {
	p := project(t, s)
	g := oneGroup(t, s, p, 1500, Ev{Msg: "noisy", Type: "Noisy"})

	// Another group's events are being committed, one at a time, before
	// and while the group is deleted.
	stop := submitting(t, s, p, Ev{Msg: "other", Type: "Other"})
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	err := s.DeleteGroup(ctx, g.ID)
	end := time.Now()
	commits := stop()
	require.NoError(t, err)
	// The longest the other group's events waited: from the start to
	// the next commit, and so on through the deletion.
	var during int
	longest, last := time.Duration(0), start
	for _, c := range commits {
		if c.Before(start) {
			continue
		}
		if c.Sub(last) > longest {
			longest = c.Sub(last)
		}
		last = c
		if c.Before(end) {
			during++
		}
	}
	t.Logf("deleted in %v; %d events committed meanwhile, the longest wait %v", end.Sub(start), during, longest)
	assert.Less(t, longest, end.Sub(start)*3/4, "ingest waited for most of the deletion")
	_, err = s.Group(ctx, g.ID)
	assert.ErrorIs(t, err, store.ErrNotFound)
	st, err := s.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(len(commits)), st.Events, "the group's events gone, the other group's all kept")
}

// afterDeletes is a context that runs then, once, when it is checked
// once the store holds fewer than events events: after a batch of a
// deletion.
type afterDeletes struct {
	context.Context
	s      store.Store
	events int64
	then   func()
	once   sync.Once
	ran    bool
}

func (c *afterDeletes) Err() error {
	if st, err := c.s.Stats(ctx); err == nil && st.Events < c.events {
		c.once.Do(func() { c.then(); c.ran = true })
	}
	return c.Context.Err()
}

// lastEventsRight checks that each group's LastEventID is its newest
// event, or 0 when it has none.
func lastEventsRight(t *testing.T, s store.Store) {
	t.Helper()
	for _, g := range groups(t, s, store.GroupQuery{}) {
		evs, err := s.GroupEvents(ctx, g.ID, store.EventQuery{Limit: 1})
		require.NoError(t, err)
		if len(evs) == 0 {
			assert.Zero(t, g.LastEventID, "%s: no event left", g.Title)
			continue
		}
		assert.Equal(t, evs[0].ID, g.LastEventID, g.Title)
	}
}

// feedbackLeft counts the feedback rows of the store, -1 when it cannot
// tell.
func feedbackLeft(t *testing.T, s store.Store) int {
	st, ok := s.(interface{ Pool() *sql.DB })
	if !ok {
		return -1
	}
	var n int
	require.NoError(t, st.Pool().QueryRow(`SELECT count(*) FROM feedback`).Scan(&n))
	return n
}

// testDeleteGroupLateFeedback: feedback that came before its event, the
// event coming while the group is deleted (after its first batch of
// events), goes with the group. The batches took every event of the
// group, the late one too, and the feedback, found neither under the
// group nor through an event, stayed behind it with the user's email,
// naming a deleted event.
func testDeleteGroupLateFeedback(t *testing.T, s store.Store) {
	p := project(t, s)
	g := oneGroup(t, s, p, 320, Ev{Msg: "boom", Type: "Boom"})
	late := event.NewID()
	require.NoError(t, s.AddFeedback(ctx, &store.Feedback{ProjectID: p.ID, EventID: late, Email: "ann@example.com", Comments: "it broke"}), "before its event")

	during := &afterDeletes{Context: ctx, s: s, events: 320, then: func() { submit(t, s, p, Ev{ID: late, Msg: "boom", Type: "Boom"}) }}
	require.NoError(t, s.DeleteGroup(during, g.ID))
	require.True(t, during.ran, "the event came between two batches")
	_, err := s.EventByEventID(ctx, p.ID, late)
	assert.ErrorIs(t, err, store.ErrNotFound, "the late event went with its group")
	if n := feedbackLeft(t, s); n >= 0 {
		assert.Equal(t, 0, n, "no feedback left behind")
	}
}

// testDeleteGroupFails: a deletion whose last transaction fails (a
// component's GroupDeleteHook, here after the request was cancelled)
// after its batches deleted events leaves the group with what is left
// and its last event repaired. It kept the id of a deleted event.
func testDeleteGroupFails(t *testing.T, s store.Store) {
	hs, ok := s.(interface {
		Tables(context.Context, string, fs.FS) (*sqlstore.Tables, error)
	})
	if !ok {
		t.Skip("the store has no components")
	}
	tables, err := hs.Tables(ctx, "storetest", fstest.MapFS{
		"sqlite/0001_t.sql":   {Data: []byte(`CREATE TABLE storetest_t (n INTEGER)`)},
		"postgres/0001_t.sql": {Data: []byte(`CREATE TABLE storetest_t (n INTEGER)`)},
	})
	require.NoError(t, err)
	p := project(t, s)
	g := oneGroup(t, s, p, 320, Ev{Msg: "boom", Type: "Boom"})

	req, cancel := context.WithCancel(ctx)
	defer cancel()
	tables.SetGroupDeleteHook(func(ctx context.Context, _ *sqlstore.Tx, _ int64) error {
		cancel() // the client gave up
		return fmt.Errorf("storetest: %w", ctx.Err())
	})
	err = s.DeleteGroup(req, g.ID)
	require.ErrorIs(t, err, context.Canceled)
	_, err = s.Group(ctx, g.ID)
	require.NoError(t, err, "the group stays")
	lastEventsRight(t, s)
}

// testRetentionCancelledLastEvent: a retention cancelled after it
// deleted some events still points the groups that lost their last event
// at what is left (here nothing, 0). It skipped that step, so a group
// kept the id of a deleted event.
func testRetentionCancelledLastEvent(t *testing.T, s store.Store) {
	p := project(t, s)
	now := time.Now()
	put := func(msg string, received time.Time) { submitReceived(t, s, p, msg, received) }
	put("first", now.Add(-50*24*time.Hour))
	put("second", now.Add(-45*24*time.Hour))
	put("second", now.Add(-40*24*time.Hour))
	inner, cancel := context.WithCancel(ctx)
	defer cancel()
	res, err := s.Retain(&afterDeletes{Context: inner, s: s, events: 3, then: cancel}, store.Retention{MaxAge: 30 * 24 * time.Hour, BatchSize: 1})
	require.ErrorIs(t, err, context.Canceled)
	require.NotNil(t, res)
	require.Equal(t, int64(1), res.Events, "cancelled after the first batch")
	lastEventsRight(t, s)
}

// RunDeleteGroupCancelledOwed: a group's deletion cancelled after it
// deleted events, in a store s that owes the counts of events committed
// under load (opened with OweCounts, and a Writer whose InFlight says
// requests are always being served, with a Linger of a second, so that
// the second of two events is committed with its counts owed). When the
// store writes what it owes, the group points at an event that is left.
// The batches deleted the owed event too, and the settle pointed the
// group at it again after the deletion had repaired its last event.
func RunDeleteGroupCancelledOwed(t *testing.T, s store.Store) {
	p := project(t, s)
	submit(t, s, p, Ev{Msg: "boom", Type: "Boom"}) // counted at once
	submit(t, s, p, Ev{Msg: "boom", Type: "Boom"}) // within Linger: owed
	gs := groups(t, s, store.GroupQuery{})
	require.Len(t, gs, 1)
	if gs[0].Count != 1 {
		t.Skip("the store wrote what it owed before the deletion began (it may owe for 250 ms)")
	}

	req, cancel := context.WithCancel(ctx)
	defer cancel()
	err := s.DeleteGroup(&afterDeletes{Context: req, s: s, events: 2, then: cancel}, gs[0].ID)
	require.ErrorIs(t, err, context.Canceled)
	require.NoError(t, s.Flush(ctx)) // writes what is owed
	lastEventsRight(t, s)
	evs, err := s.GroupEvents(ctx, gs[0].ID, store.EventQuery{Limit: 10})
	require.NoError(t, err)
	assert.Len(t, evs, 1, "the owed event is left for the group's own transaction")
}

func testEventSink(t *testing.T, s store.Store) {
	for i := 0; i < 5; i++ {
		s.Deliver(Ev{Msg: "in-process", Type: "E"}.event())
	}
	require.NoError(t, s.Flush(ctx))
	ps, err := s.Projects(ctx)
	require.NoError(t, err)
	require.Len(t, ps, 1, "a default project is created")
	gs := groups(t, s, store.GroupQuery{})
	require.Len(t, gs, 1)
	assert.Equal(t, int64(5), gs[0].Count)
	assert.Equal(t, ps[0].ID, gs[0].ProjectID)
	require.NoError(t, s.Health(ctx))
	require.NoError(t, s.Close(ctx))
	require.NoError(t, s.Close(ctx), "closing twice")
	assert.ErrorIs(t, s.Submit(ctx, &store.Incoming{}), store.ErrClosed)
	assert.ErrorIs(t, s.Health(ctx), store.ErrClosed)
	s.Deliver(Ev{Msg: "late", Type: "E"}.event()) // must not panic
	_, err = s.Projects(ctx)
	assert.Error(t, err, "closed, and no panic")
}

func testConcurrent(t *testing.T, s store.Store) {
	p := project(t, s)
	const workers, per = 8, 50
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				in, err := store.Prepare(p, Ev{Msg: "c", Type: fmt.Sprintf("T%d", i%5)}.event(), nil, base)
				if !assert.NoError(t, err) {
					return
				}
				assert.NoError(t, s.Submit(ctx, in))
			}
		}(w)
	}
	wg.Wait()
	gs := groups(t, s, store.GroupQuery{})
	require.Len(t, gs, 5)
	var counts []int64
	for _, g := range gs {
		counts = append(counts, g.Count)
	}
	sort.Slice(counts, func(i, j int) bool { return counts[i] < counts[j] })
	assert.Equal(t, []int64{80, 80, 80, 80, 80}, counts)
}

// Migratable is a store that says its schema version and runs raw SQL
// (with ? placeholders) to seed an old schema.
type Migratable interface {
	store.Store
	SchemaVersion(ctx context.Context) (int, error)
	ExecSQL(ctx context.Context, query string, args ...any) error
}

// RunMigration opens a database with only schema version 1, writes rows
// as version 1 had them, then reopens it with every migration: the rows
// must survive and work with the new code. A second database, empty, must
// be migrated to the newest version.
func RunMigration(t *testing.T, open func(t *testing.T, upTo int) Migratable) {
	old := open(t, 1)
	v, err := old.SchemaVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, v)
	raw := []byte(`{"event_id":"0123456789abcdef0123456789abcdef","level":"error","message":"from v1"}`)
	ts := base.UnixMilli()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO projects (id, name, public_key, disabled, created_ms) VALUES (?, ?, ?, 0, ?)`, []any{7, "legacy", "00112233445566778899aabbccddeeff", ts}},
		{`INSERT INTO event_groups (id, project_id, key, title, culprit, level, count, first_seen, last_seen, status, regression, last_event_id) VALUES (?, ?, ?, ?, '', 'error', 1, ?, ?, 'resolved', 0, 1)`, []any{3, 7, "k1", "from v1", ts, ts}},
		{`INSERT INTO events (id, project_id, group_id, event_id, ts, received, level, title, environment, release, size, stored, payload) VALUES (1, 7, 3, ?, ?, ?, 'error', 'from v1', '', '', ?, ?, ?)`, []any{"0123456789abcdef0123456789abcdef", ts, ts, len(raw), len(raw), store.Compress(raw)}},
		{`INSERT INTO group_hours (group_id, bucket, n) VALUES (3, ?, 1)`, []any{base.Unix()}},
	} {
		require.NoError(t, old.ExecSQL(ctx, q.sql, q.args...), q.sql)
	}
	require.NoError(t, old.Close(ctx))

	s := open(t, 0)
	defer s.Close(ctx)
	v, err = s.SchemaVersion(ctx)
	require.NoError(t, err)
	require.GreaterOrEqual(t, v, 2)
	p, err := s.ProjectByKey(ctx, "00112233445566778899aabbccddeeff")
	require.NoError(t, err)
	assert.Equal(t, "legacy", p.Name)
	assert.Equal(t, 0, p.RateLimit)
	assert.Empty(t, p.InApp)
	g, err := s.Group(ctx, 3)
	require.NoError(t, err)
	assert.Equal(t, "from v1", g.Title)
	e, err := s.Event(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, raw, e.JSON)
	// New events join the old group and use the new tables.
	in, err := store.Prepare(p, &event.Event{Logentry: &event.Logentry{Message: "from v2"}, Environment: "prod", Timestamp: base.Add(time.Minute)}, nil, base.Add(time.Hour))
	require.NoError(t, err)
	in.GroupKey = "k1"
	require.NoError(t, s.Submit(ctx, in))
	g, err = s.Group(ctx, 3)
	require.NoError(t, err)
	assert.Equal(t, int64(2), g.Count)
	assert.True(t, g.Regression)
	// Search follows the title the migrated group now has.
	page, err := s.ListGroups(ctx, store.GroupQuery{Text: "from v2"})
	require.NoError(t, err)
	assert.Equal(t, []string{"from v2"}, titles(page.Groups))
	page, err = s.ListGroups(ctx, store.GroupQuery{Text: "from v1"})
	require.NoError(t, err)
	assert.Empty(t, page.Groups)
	seen, err := s.GroupSeen(ctx, 3)
	require.NoError(t, err)
	assert.Len(t, seen, 1)
	p.RateLimit = 5
	require.NoError(t, s.UpdateProject(ctx, p))
	_, err = s.CreateProject(ctx, "after")
	require.NoError(t, err)
}

// Searchable is a store whose tables a test may read.
type Searchable interface {
	store.Store
	Pool() *sql.DB
}

// RunSearchCatchUp: a group whose title changed is marked stale rather
// than re-indexed in the commit; searches match it on its current title
// at once, and the index catches up after the first commit a second
// later (and at Close), with no error. indexed returns the query counting the index's rows that
// hold text. open must reopen the same database each time.
func RunSearchCatchUp(t *testing.T, open func(t *testing.T, onError func(error)) Searchable, indexed func(text string) string) {
	var mu sync.Mutex
	var errs []error
	onError := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	s := open(t, onError)
	p := project(t, s)
	at := base
	submit := func(key, title string) {
		t.Helper()
		at = at.Add(time.Second)
		in, err := store.Prepare(p, &event.Event{Logentry: &event.Logentry{Message: title}, Timestamp: at}, nil, at)
		require.NoError(t, err)
		in.GroupKey = key
		require.NoError(t, s.Submit(ctx, in))
	}
	search := func(text string) []string {
		t.Helper()
		return titles(groups(t, s, store.GroupQuery{ProjectID: p.ID, Text: text}))
	}
	count := func(q string) int {
		t.Helper()
		var n int
		require.NoError(t, s.Pool().QueryRowContext(ctx, q).Scan(&n))
		return n
	}
	const stale = `SELECT count(*) FROM group_search_stale`

	submit("k", "checkout failed for order 1111")
	assert.Equal(t, 0, count(stale), "a new group is indexed at once")
	assert.Equal(t, 1, count(indexed("1111")))
	submit("k", "checkout failed for order 2222")
	assert.Equal(t, 1, count(stale))
	assert.Equal(t, 0, count(indexed("2222")), "not indexed yet")
	assert.Equal(t, []string{"checkout failed for order 2222"}, search("2222"), "found on its current title")
	assert.Empty(t, search("1111"), "not on its old one")
	assert.Equal(t, []string{"checkout failed for order 2222"}, search("CHECKOUT"), "once, though in both")

	time.Sleep(1100 * time.Millisecond) // sqlstore.CatchUpInterval
	submit("other", "another group")
	// The catch-up follows the commit, once its submitters have their
	// answers.
	require.Eventually(t, func() bool { return count(stale) == 0 }, 5*time.Second, 5*time.Millisecond, "caught up after the next commit")
	assert.Equal(t, 1, count(indexed("2222")))
	assert.Equal(t, 0, count(indexed("1111")), "the old title left the index")
	assert.Equal(t, []string{"checkout failed for order 2222"}, search("2222"))
	assert.Empty(t, search("1111"))

	submit("k", "checkout failed for order 3333")
	assert.Equal(t, 1, count(stale))
	require.NoError(t, s.Close(ctx))
	s = open(t, onError)
	defer s.Close(ctx)
	assert.Equal(t, 0, count(stale), "Close caught up")
	assert.Equal(t, 1, count(indexed("3333")))
	assert.Equal(t, []string{"checkout failed for order 3333"}, search("3333"))
	mu.Lock()
	assert.Empty(t, errs)
	mu.Unlock()
}

// RunSearchCommonText: a text in 2,100 titles (which a store may search by
// a scan rather than its index) and a text in 10 are found exactly, page
// after page. analyze, when set, runs after the groups are written (to
// give PostgreSQL's planner its statistics).
func RunSearchCommonText(t *testing.T, s store.Store, analyze func()) {
	p := project(t, s)
	const common = 2100
	var wg sync.WaitGroup
	for w := 0; w < 30; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < common+10; i += 30 {
				title := fmt.Sprintf("common failure %d", i)
				if i >= common {
					title = fmt.Sprintf("rare thing %d", i)
				}
				in, err := store.Prepare(p, &event.Event{Logentry: &event.Logentry{Message: title}}, nil, time.Now())
				assert.NoError(t, err)
				in.GroupKey = fmt.Sprint("k", i)
				assert.NoError(t, s.Submit(ctx, in))
			}
		}()
	}
	wg.Wait()
	if analyze != nil {
		analyze()
	}
	count := func(text string) int {
		n, cursor := 0, ""
		for {
			page, err := s.ListGroups(ctx, store.GroupQuery{ProjectID: p.ID, Text: text, Limit: 100, Cursor: cursor})
			require.NoError(t, err)
			for _, g := range page.Groups {
				require.Contains(t, strings.ToLower(g.Title), strings.ToLower(text))
			}
			n += len(page.Groups)
			if page.Next == "" {
				return n
			}
			cursor = page.Next
		}
	}
	assert.Equal(t, common, count("COMMON"))
	assert.Equal(t, 10, count("rare"))
	assert.Equal(t, 1, count("failure 2099"))
}

// testCloseDeadline: a Close whose deadline ends while events are still
// queued returns its error and abandons them safely (nothing is closed
// under the writer); a later Close waits for the writer, and everything
// after answers ErrClosed or an error, never a crash.
func testCloseDeadline(t *testing.T, s store.Store) {
	for i := 0; i < 500; i++ {
		ev := Ev{Msg: "queued at close", Type: "E"}.event()
		ev.Extra = map[string]any{"blob": strings.Repeat("x", 4096)}
		s.Deliver(ev)
	}
	short, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	if err := s.Close(short); err != nil {
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	}
	require.NoError(t, s.Close(ctx), "a later Close waits for the writer")
	assert.ErrorIs(t, s.Submit(ctx, &store.Incoming{}), store.ErrClosed)
	s.Deliver(Ev{Msg: "late", Type: "E"}.event())
	_, err := s.Stats(ctx)
	assert.Error(t, err)
}

// testTraceID: an event's contexts.trace.trace_id is stored on its row
// and finds its group, in any case; a malformed or absent one finds
// nothing.
func testTraceID(t *testing.T, s store.Store) {
	p := project(t, s)
	const trace = "4bf92f3577b34da6a3ce929d0e0e4736"
	traced := func(msg, traceID string) *store.Incoming {
		ev := Ev{Msg: msg}.event()
		ev.Contexts = map[string]map[string]any{"trace": {"trace_id": traceID, "span_id": "00f067aa0ba902b7"}}
		in, err := store.Prepare(p, ev, nil, base.Add(48*time.Hour))
		require.NoError(t, err)
		require.NoError(t, s.Submit(ctx, in))
		return in
	}
	in := traced("checkout failed", strings.ToUpper(trace))
	assert.Equal(t, trace, in.TraceID)
	traced("checkout failed", "4bf92f35-77b3-4da6-a3ce-929d0e0e4736") // the same trace, UUID-style
	traced("stock low", "00000000000000000000000000000000")           // invalid: no trace
	traced("stock low", "not a trace")
	submit(t, s, p, Ev{Msg: "untraced"})

	got := groups(t, s, store.GroupQuery{TraceID: strings.ToUpper(trace)})
	require.Equal(t, []string{"checkout failed"}, titles(got))
	rows, err := s.GroupEvents(ctx, got[0].ID, store.EventQuery{})
	require.NoError(t, err)
	require.Len(t, rows, 2)
	for _, r := range rows {
		assert.Equal(t, trace, r.TraceID)
	}
	ev, err := s.Event(ctx, rows[0].ID)
	require.NoError(t, err)
	assert.Equal(t, trace, ev.TraceID)

	assert.Empty(t, groups(t, s, store.GroupQuery{TraceID: "not a trace"}))
	assert.Empty(t, groups(t, s, store.GroupQuery{TraceID: "00000000000000000000000000000000"}))
	assert.Empty(t, groups(t, s, store.GroupQuery{TraceID: "ffffffffffffffffffffffffffffffff"}))
	all := groups(t, s, store.GroupQuery{})
	assert.Len(t, all, 3)
	for _, g := range all {
		if g.Title == "stock low" || g.Title == "untraced" {
			rows, err := s.GroupEvents(ctx, g.ID, store.EventQuery{})
			require.NoError(t, err)
			for _, r := range rows {
				assert.Empty(t, r.TraceID, g.Title)
			}
		}
	}
}

// testBatches: events committed many at a time, in batches of many
// groups (Deliver, then Flush), are counted as one at a time would be:
// 148 events in 37 groups, four each, in two minutes, of three users (one
// twice) and two environments; the group of the first events was
// resolved in between. Each group's count, users, title (its newest
// event's), first and last seen, last event, minute and hour counts and
// environments, and the regression.
func testBatches(t *testing.T, s store.Store) {
	const groups, rounds = 37, 4
	minute := base.Truncate(time.Minute)
	at := func(g, round int) time.Time {
		// rounds 0 and 1 in one minute, 2 and 3 in the next
		return minute.Add(time.Duration(round/2)*time.Minute + time.Duration(round%2*groups+g)*time.Millisecond)
	}
	deliver := func(g, round int) {
		s.Deliver(&event.Event{EventID: event.NewID(), Timestamp: at(g, round), Level: event.LevelError,
			Fingerprint: []string{fmt.Sprint("g", g)}, Logentry: &event.Logentry{Message: fmt.Sprintf("group %d event %d", g, round)},
			User: &event.User{ID: fmt.Sprint("u", round%3)}, Environment: []string{"prod", "staging"}[round%2]})
	}
	deliver(0, 0)
	require.NoError(t, s.Flush(ctx))
	page, err := s.ListGroups(ctx, store.GroupQuery{})
	require.NoError(t, err)
	require.Len(t, page.Groups, 1)
	resolved := page.Groups[0].ID
	require.NoError(t, s.SetStatus(ctx, []int64{resolved}, store.StatusResolved))
	for round := 0; round < rounds; round++ {
		for g := 0; g < groups; g++ {
			if g != 0 || round != 0 {
				deliver(g, round)
			}
		}
	}
	require.NoError(t, s.Flush(ctx))

	page, err = s.ListGroups(ctx, store.GroupQuery{Limit: 500})
	require.NoError(t, err)
	require.Len(t, page.Groups, groups)
	var ids []int64
	for _, g := range page.Groups {
		ids = append(ids, g.ID)
	}
	users, err := s.GroupUsers(ctx, ids)
	require.NoError(t, err)
	minutes, err := s.MinuteCounts(ctx, ids, minute.Add(-time.Hour), minute.Add(time.Hour))
	require.NoError(t, err)
	hours, err := s.HourlyCounts(ctx, ids, minute.Add(-2*time.Hour), minute.Add(2*time.Hour))
	require.NoError(t, err)
	for _, g := range page.Groups {
		var n int
		_, err := fmt.Sscanf(g.Title, "group %d event", &n)
		require.NoError(t, err, g.Title)
		assert.Equal(t, int64(rounds), g.Count, g.Title)
		assert.Equal(t, int64(3), g.Users, g.Title)
		assert.Equal(t, int64(3), users[g.ID], g.Title)
		assert.Equal(t, fmt.Sprintf("group %d event %d", n, rounds-1), g.Title, "the newest event's")
		assert.True(t, g.FirstSeen.Equal(at(n, 0)), "%s: first seen %v", g.Title, g.FirstSeen)
		assert.True(t, g.LastSeen.Equal(at(n, rounds-1)), "%s: last seen %v", g.Title, g.LastSeen)
		assert.Equal(t, g.ID == resolved, g.Regression, g.Title)
		assert.Equal(t, store.StatusUnresolved, g.Status, g.Title)
		evs, err := s.GroupEvents(ctx, g.ID, store.EventQuery{})
		require.NoError(t, err)
		require.Len(t, evs, rounds, g.Title)
		assert.Equal(t, evs[0].ID, g.LastEventID, "%s: the newest event stored", g.Title)
		if assert.Len(t, minutes[g.ID], 2, g.Title) {
			assert.Equal(t, []int64{2, 2}, []int64{minutes[g.ID][0].Count, minutes[g.ID][1].Count}, g.Title)
		}
		var inHours int64
		for _, c := range hours[g.ID] {
			inHours += c.Count
		}
		assert.Equal(t, int64(rounds), inHours, g.Title)
		seen, err := s.GroupSeen(ctx, g.ID)
		require.NoError(t, err)
		envs := map[string]int64{}
		for _, e := range seen {
			if e.Kind == "environment" {
				envs[e.Value] = e.Count
			}
		}
		assert.Equal(t, map[string]int64{"prod": 2, "staging": 2}, envs, g.Title)
	}
}
