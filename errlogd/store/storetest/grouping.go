package storetest

import (
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// groupingV1Schema is the last schema before grouping 2.
const groupingV1Schema = 7

// upgradeEvents are events of every shape grouping 1 and 2 key
// differently, including grouping 1's merges (two messages of one
// function), which an upgraded store keeps merged.
func upgradeEvents() []*event.Event {
	frames := func(ctx ...string) *event.Stacktrace {
		st := &event.Stacktrace{Frames: []event.Frame{
			{Module: "net/http", Function: "HandlerFunc.ServeHTTP", Filename: "net/http/server.go", Lineno: 2220},
			{Module: "example.com/shop", Function: "checkout", Filename: "shop/checkout.go", Lineno: 40, InApp: true, ContextLine: "\tif err := charge(ctx, o); err != nil {"},
		}}
		for i, c := range ctx {
			st.Frames = append(st.Frames, event.Frame{Module: "example.com/shop", Function: "charge", Filename: "shop/charge.go", Lineno: 10 + i, InApp: true, ContextLine: c})
		}
		return st
	}
	record := func(msg, typ, value, line string) *event.Event {
		return &event.Event{Logger: "slog", Platform: "go", Logentry: &event.Logentry{Message: msg},
			Exception: []event.Exception{{Type: "*errors.errorString", Value: "declined"}, {Type: typ, Value: value, Stacktrace: frames(line)}}}
	}
	native := func(fn string) *event.Event {
		return &event.Event{Platform: "native", Exception: []event.Exception{{Type: "SIGSEGV", Value: "Segfault", Stacktrace: &event.Stacktrace{Frames: []event.Frame{
			{Function: "main", Filename: "main.c", Lineno: 3}, {Function: fn, Filename: "crash.c", Lineno: 9}}}}}}
	}
	return []*event.Event{
		record("charge failed", "*fmt.wrapError", "charge: declined", `slog.Error("charge failed", "err", err)`),
		record("shipping label failed", "*fmt.wrapError", "label: declined", `slog.Error("shipping label failed", "err", err)`),
		{Logger: "slog", Platform: "go", Logentry: &event.Logentry{Message: "user 42 not found"}},
		{Logger: "slog", Platform: "go", Logentry: &event.Logentry{Message: "user 7 not found"}},
		{Platform: "go", Exception: []event.Exception{{Type: "*errors.errorString", Value: "boom", Stacktrace: frames(`sentry.CaptureException(errors.New("boom"))`)}}},
		{Platform: "go", Exception: []event.Exception{{Type: "*errors.errorString", Value: "bang", Stacktrace: frames(`sentry.CaptureException(errors.New("bang"))`)}}},
		native("crash_a"), native("crash_b"),
		{Platform: "go", Exception: []event.Exception{{Type: "runtime.plainError", Value: "assignment to entry in nil map",
			Mechanism: &event.Mechanism{Type: "panic"}, Stacktrace: frames(`m["x"] = 1`)}}},
		{Logentry: &event.Logentry{Message: "tenant quota"}, Fingerprint: []string{"{{ default }}", "tenant-a"}},
		{Logentry: &event.Logentry{Message: "tenant quota"}, Fingerprint: []string{"{{ message }}", "{{ default }}"}},
		{Logentry: &event.Logentry{Message: "custom"}, Fingerprint: []string{"mine"}},
		{Logentry: &event.Logentry{Message: "default only"}, Fingerprint: []string{"{{ default }}"}},
	}
}

// RunGroupingUpgrade fills a store of the schema before grouping 2 with
// groups as errlogd made them then (grouping 1's keys), upgrades it, and
// sends the same events again, twice: they must make no new group, each
// joining the group it joined before; a new bug still makes a new group.
// open must reopen the same, empty database each time.
func RunGroupingUpgrade(t *testing.T, open func(t *testing.T, upTo int) Migratable) {
	old := open(t, groupingV1Schema)
	v, err := old.SchemaVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, groupingV1Schema, v)
	ts := base.UnixMilli()
	require.NoError(t, old.ExecSQL(ctx, `INSERT INTO projects (id, name, public_key, disabled, created_ms) VALUES (?, ?, ?, 0, ?)`,
		5, "upgraded", "ffeeddccbbaa99887766554433221100", ts))
	p := &store.Project{ID: 5}
	evs := upgradeEvents()
	groupOf := map[string]int64{} // grouping 1 key → group id
	var want []int64              // each event's group
	for i, ev := range evs {
		in, err := store.Prepare(p, ev, nil, base)
		require.NoError(t, err)
		key := in.GroupKey // errlogd's key before grouping 2: the last one
		if n := len(in.PrevKeys); n > 0 {
			key = in.PrevKeys[n-1].Key
		}
		require.Equal(t, ev.GroupKeyOf(1), key)
		id, ok := groupOf[key]
		if !ok {
			id = int64(100 + i)
			groupOf[key] = id
			require.NoError(t, old.ExecSQL(ctx, `INSERT INTO event_groups (id, project_id, key, title, culprit, level, count, first_seen, last_seen, status, regression, last_event_id) VALUES (?, 5, ?, ?, '', 'error', 0, ?, ?, 'unresolved', 0, 0)`,
				id, key, in.Title, ts, ts))
		}
		require.NoError(t, old.ExecSQL(ctx, `UPDATE event_groups SET count = count + 1 WHERE id = ?`, id))
		want = append(want, id)
	}
	require.Less(t, len(groupOf), len(evs), "grouping 1 merged some of these events")
	require.NoError(t, old.Close(ctx))

	s := open(t, 0)
	defer s.Close(ctx)
	p, err = s.ProjectByKey(ctx, "ffeeddccbbaa99887766554433221100")
	require.NoError(t, err)
	for round := 1; round <= 2; round++ {
		for i, ev := range evs {
			cp := *ev
			cp.EventID = event.NewID()
			in, err := store.Prepare(p, &cp, nil, base.Add(time.Hour))
			require.NoError(t, err)
			require.NoError(t, s.Submit(ctx, in))
			out, err := s.GroupEvents(ctx, want[i], store.EventQuery{Limit: 1})
			require.NoError(t, err)
			require.NotEmpty(t, out, "event %d joins its group of grouping 1", i)
			assert.Equal(t, cp.EventID, out[0].EventID, "event %d joins its group of grouping 1", i)
		}
		page, err := s.ListGroups(ctx, store.GroupQuery{ProjectID: p.ID, Limit: 500})
		require.NoError(t, err)
		assert.Len(t, page.Groups, len(groupOf), "round %d: no new group", round)
		for _, g := range page.Groups {
			n := int64(0)
			for _, id := range want {
				if id == g.ID {
					n++
				}
			}
			assert.Equal(t, n*int64(1+round), g.Count, "group %d", g.ID)
		}
	}
	// A bug of its own still makes a group, by the current grouping's key.
	in, err := store.Prepare(p, &event.Event{Logentry: &event.Logentry{Message: "brand new"}}, nil, base.Add(time.Hour))
	require.NoError(t, err)
	require.NoError(t, s.Submit(ctx, in))
	page, err := s.ListGroups(ctx, store.GroupQuery{ProjectID: p.ID, Limit: 500})
	require.NoError(t, err)
	assert.Len(t, page.Groups, len(groupOf)+1)

	groupingUpgrade3(t, s, p)
}

// groupingUpgrade3: groups grouping 2 made, and a group of grouping 1
// that grouping 2 found by its key (group_hashes), are found by the events
// grouping 3 keys apart from grouping 2 (recursion, a bare "%s", a JVM's
// generated class, a -trimpath build's dependency); the two "%s"
// messages grouping 2 merged stay merged, as grouping 1's merges did.
func groupingUpgrade3(t *testing.T, s Migratable, p *store.Project) {
	rec := event.Frame{Module: "app", Function: "walk", ContextLine: "return walk(n.next)", InApp: true}
	stack := func(frames ...event.Frame) *event.Stacktrace { return &event.Stacktrace{Frames: frames} }
	py := func(msg string) *event.Event {
		return &event.Event{Logger: "shop", Logentry: &event.Logentry{Message: "%s", Params: []any{msg}}}
	}
	evs := []*event.Event{
		{Exception: []event.Exception{{Type: "ValueError", Value: "cycle", Stacktrace: stack(rec, rec, rec)}}},
		py("payment gateway refused card"),
		py("inventory sync lost its lock"),
		{Platform: "java", Exception: []event.Exception{{Type: "IllegalStateException", Stacktrace: stack(
			event.Frame{Module: "com.shop.OrderRepo$$EnhancerBySpringCGLIB$$1a2b3c4d", Function: "save", InApp: true})}}},
		{Platform: "go", Logentry: &event.Logentry{Message: "sync failed"}, Stacktrace: stack(
			event.Frame{Module: "golang.org/x/sync/errgroup", Function: "(*Group).Go.func1", Filename: "golang.org/x/sync@v0.10.0/errgroup/errgroup.go", ContextLine: "if err := f(); err != nil {", InApp: true},
			event.Frame{Module: "example.com/app", Function: "sync.func1", ContextLine: `slog.Error("sync failed", "err", err)`, InApp: true})},
	}
	// As grouping 2 left them: the first four in groups of their grouping
	// 2 keys (the "%s" ones in one), the last in a group of grouping 1
	// that grouping 2 found.
	ts := base.UnixMilli()
	want := make([]int64, len(evs))
	made := map[string]int64{}
	for i, ev := range evs {
		in, err := store.Prepare(p, ev, nil, base)
		require.NoError(t, err)
		k2 := in.PrevKeys[0].Key // as errlogd keyed it then
		require.Equal(t, 2, in.PrevKeys[0].Grouping)
		require.NotEqual(t, k2, in.GroupKey, "event %d: grouping 3 keys it apart", i)
		id, ok := made[k2]
		if !ok {
			id = int64(1000 + i)
			made[k2] = id
			key, grouping := k2, 2
			if i == len(evs)-1 {
				// Another event's key of grouping 1: only group_hashes
				// leads this one there.
				key, grouping = "00000000000000000000000000000abc", 1
				require.NoError(t, s.ExecSQL(ctx, `INSERT INTO group_hashes (project_id, hash, grouping, group_id) VALUES (?, ?, 2, ?)`, p.ID, k2, id))
			}
			require.NoError(t, s.ExecSQL(ctx, `INSERT INTO event_groups (id, project_id, key, title, culprit, level, count, first_seen, last_seen, status, regression, last_event_id, grouping) VALUES (?, ?, ?, 'before', '', 'error', 0, ?, ?, 'unresolved', 0, 0, ?)`,
				id, p.ID, key, ts, ts, grouping))
		}
		want[i] = id
	}
	before, err := s.ListGroups(ctx, store.GroupQuery{ProjectID: p.ID, Limit: 500})
	require.NoError(t, err)
	for round := 1; round <= 2; round++ {
		for i, ev := range evs {
			cp := *ev
			cp.EventID = event.NewID()
			in, err := store.Prepare(p, &cp, nil, base.Add(2*time.Hour))
			require.NoError(t, err)
			require.NoError(t, s.Submit(ctx, in))
			out, err := s.GroupEvents(ctx, want[i], store.EventQuery{Limit: 1})
			require.NoError(t, err)
			require.NotEmpty(t, out, "round %d: event %d joins its group", round, i)
			assert.Equal(t, cp.EventID, out[0].EventID, "round %d: event %d joins its group", round, i)
		}
		page, err := s.ListGroups(ctx, store.GroupQuery{ProjectID: p.ID, Limit: 500})
		require.NoError(t, err)
		assert.Len(t, page.Groups, len(before.Groups), "round %d: no new group", round)
	}

	// Two groups grouping 2 made of one recursion at two depths, which
	// grouping 3 keys alike: each keeps its events, whichever meets the
	// new key first (the deeper one here, then the other), and no event
	// moves to its sibling.
	depth := func(n int) *event.Event {
		frames := []event.Frame{{Module: "app", Function: "main", ContextLine: "walk(root)", InApp: true}}
		for range n {
			frames = append(frames, event.Frame{Module: "app", Function: "visit", ContextLine: "visit(n.child)", InApp: true})
		}
		return &event.Event{Exception: []event.Exception{{Type: "RecursionError", Value: "too deep", Stacktrace: stack(frames...)}}}
	}
	shallow, deep := depth(3), depth(7)
	require.Equal(t, shallow.GroupKeyOf(3), deep.GroupKeyOf(3))
	// oldGroup makes a group as grouping 2 left it; joins sends ev and
	// checks that it joined group id.
	oldGroup := func(id int64, ev *event.Event) {
		require.NoError(t, s.ExecSQL(ctx, `INSERT INTO event_groups (id, project_id, key, title, culprit, level, count, first_seen, last_seen, status, regression, last_event_id, grouping) VALUES (?, ?, ?, 'sibling', '', 'error', 0, ?, ?, 'unresolved', 0, 0, 2)`,
			id, p.ID, ev.GroupKeyOf(2), ts, ts))
	}
	joins := func(ev *event.Event, id int64) {
		cp := *ev
		cp.EventID = event.NewID()
		in, err := store.Prepare(p, &cp, nil, base.Add(3*time.Hour))
		require.NoError(t, err)
		require.NoError(t, s.Submit(ctx, in))
		out, err := s.GroupEvents(ctx, id, store.EventQuery{Limit: 1})
		require.NoError(t, err)
		require.NotEmpty(t, out)
		assert.Equal(t, cp.EventID, out[0].EventID, "the event joins its own group of then, %d", id)
	}
	oldGroup(2000, shallow)
	oldGroup(2001, deep)
	joins(deep, 2001)
	joins(shallow, 2000)
	joins(deep, 2001)
	joins(shallow, 2000)
	for _, id := range []int64{2000, 2001} {
		g, err := s.Group(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, int64(2), g.Count, "group %d", id)
	}

	// Siblings one of which has the current key as its own: grouping 2
	// keyed a -trimpath build's events by a dependency's frames, which
	// errlogd now says are not in-app, so their current key is the key
	// of the group the other build's events made. Each keeps its own.
	build := func(trimpath bool) *event.Event {
		dep := event.Frame{Module: "golang.org/x/sync/errgroup", Function: "(*Group).Go.func1", Filename: "golang.org/x/sync@v0.10.0/errgroup/errgroup.go", ContextLine: "if err := f(); err != nil {", InApp: trimpath}
		if !trimpath {
			dep.AbsPath = "/root/go/pkg/mod/" + dep.Filename
		}
		return &event.Event{Platform: "go", Logentry: &event.Logentry{Message: "shard failed"}, Stacktrace: stack(dep,
			event.Frame{Module: "main", Function: "syncShards.func1", ContextLine: `slog.Error("shard failed", "err", err)`, InApp: true})}
	}
	plainBuild, trimBuild := build(false), build(true)
	oldGroup(3000, plainBuild)
	oldGroup(3001, trimBuild)
	joins(trimBuild, 3001)
	joins(plainBuild, 3000)
	joins(trimBuild, 3001)
}

// testGrouping3Fresh: on a store that holds no group of an earlier
// grouping, an event's earlier key never leads it to a group grouping 3
// made (groupings 2 and 3 hash alike): "%s" logged without parameters,
// then with two messages, are three groups, not one.
func testGrouping3Fresh(t *testing.T, s store.Store) {
	p, err := s.CreateProject(ctx, "fresh")
	require.NoError(t, err)
	py := func(params ...any) *event.Event {
		return &event.Event{Logger: "shop", Logentry: &event.Logentry{Message: "%s", Params: params}}
	}
	for _, ev := range []*event.Event{py(), py("payment gateway refused card"), py("inventory sync lost its lock"), py("payment gateway refused card")} {
		ev.EventID = event.NewID()
		in, err := store.Prepare(p, ev, nil, base)
		require.NoError(t, err)
		require.NoError(t, s.Submit(ctx, in))
	}
	page, err := s.ListGroups(ctx, store.GroupQuery{ProjectID: p.ID, Limit: 10})
	require.NoError(t, err)
	assert.Len(t, page.Groups, 3)
}
