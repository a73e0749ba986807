package store_test

import (
	"bytes"
	"compress/gzip"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPrepareGroupKey: an event's key is the one it carries (errlog's,
// which its mail threads by), whatever the project's in-app rules; other
// SDKs' events are keyed after the rules; PrevKeys are the keys of the
// groupings before.
func TestPrepareGroupKey(t *testing.T) {
	ev := func() *event.Event {
		return &event.Event{Exception: []event.Exception{{Type: "E", Value: "v", Stacktrace: &event.Stacktrace{Frames: []event.Frame{
			{Module: "github.com/acme/lib", Function: "Do", ContextLine: "lib.Do()"},
			{Module: "main", Function: "main", ContextLine: "run()", InApp: true},
		}}}}}
	}
	p := &store.Project{ID: 1, InApp: []string{"github.com/acme/"}}
	now := time.Now()

	plain, err := store.Prepare(p, ev(), nil, now)
	require.NoError(t, err)
	assert.NotEqual(t, ev().GroupKey(), plain.GroupKey, "the project's in-app rule counts the library's frame")
	require.Len(t, plain.PrevKeys, 2, "its keys by groupings 2 and 1")
	assert.Equal(t, plain.GroupKey, plain.PrevKeys[0].Key, "grouping 2 keys it as 3")
	assert.NotEqual(t, plain.GroupKey, plain.PrevKeys[1].Key, "grouping 1 keys it otherwise")

	carrying := ev()
	carrying.SetGroupKey()
	in, err := store.Prepare(p, carrying, nil, now)
	require.NoError(t, err)
	assert.Equal(t, ev().GroupKey(), in.GroupKey, "the key the client computed")
	assert.NotEmpty(t, in.PrevKeys)
}

// TestPrepareEarlierKeys: an event's keys by groupings 2 and 1, the
// latest first, where they differ from its key; an errlog event's key of
// an earlier grouping is the one it carries.
func TestPrepareEarlierKeys(t *testing.T) {
	rec := event.Frame{Module: "app", Function: "walk", ContextLine: "return walk(n.next)", InApp: true}
	ev := &event.Event{Exception: []event.Exception{{Type: "ValueError", Value: "cycle", Stacktrace: &event.Stacktrace{Frames: []event.Frame{rec, rec, rec}}}}}
	in, err := store.Prepare(&store.Project{ID: 1}, ev, nil, time.Now())
	require.NoError(t, err)
	assert.Equal(t, ev.GroupKeyOf(3), in.GroupKey)
	assert.Equal(t, []store.EarlierKey{{ev.GroupKeyOf(2), 2}, {ev.GroupKeyOf(1), 1}}, in.PrevKeys, "recursion: grouping 3 keys it apart from 2")

	carried := *ev
	carried.Contexts = map[string]map[string]any{event.GroupingContext: {"group_key": "0123456789abcdef0123456789abcdef", "grouping": 2}}
	in, err = store.Prepare(&store.Project{ID: 1}, &carried, nil, time.Now())
	require.NoError(t, err)
	assert.Equal(t, ev.GroupKeyOf(3), in.GroupKey)
	assert.Equal(t, []store.EarlierKey{{"0123456789abcdef0123456789abcdef", 2}, {ev.GroupKeyOf(1), 1}}, in.PrevKeys, "the key its mail threaded by")

	// A -trimpath build's dependency frame: errlog now says it is not
	// the application's; the groups before grouping 3 were keyed with
	// errlog's flag of then, which said it was.
	trimpath := func(depInApp bool) *event.Event {
		return &event.Event{Platform: "go", SDK: &event.SDK{Name: "errlog.go"}, Logentry: &event.Logentry{Message: "sync failed"}, Stacktrace: &event.Stacktrace{Frames: []event.Frame{
			{Module: "golang.org/x/sync/errgroup", Function: "(*Group).Go.func1", Filename: "golang.org/x/sync@v0.10.0/errgroup/errgroup.go", ContextLine: "if err := f(); err != nil {", InApp: depInApp},
			{Module: "example.com/app", Function: "sync.func1", Filename: "example.com/app/sync.go", ContextLine: `slog.Error("sync failed", "err", err)`, InApp: true},
		}}}
	}
	now, then := trimpath(false), trimpath(true)
	in, err = store.Prepare(&store.Project{ID: 1}, now, nil, time.Now())
	require.NoError(t, err)
	assert.Equal(t, now.GroupKeyOf(3), in.GroupKey, "without the dependency's frame")
	assert.Equal(t, []store.EarlierKey{{then.GroupKeyOf(2), 2}, {then.GroupKeyOf(1), 1}}, in.PrevKeys, "the keys of then")
	assert.NotEqual(t, now.GroupKeyOf(2), then.GroupKeyOf(2))
	// errlog's own frame of then was not the application's (a panic
	// recovered by errlog.Go); sentry-go's flags are its own.
	own := event.Frame{Module: "github.com/errlog/errlog", Function: "Go.func1", Filename: "github.com/errlog/errlog@v0.2.0/scope.go", AbsPath: "github.com/errlog/errlog@v0.2.0/scope.go"}
	withOwn := func(ev *event.Event, ownInApp bool) *event.Event {
		o := own
		o.InApp = ownInApp
		ev.Stacktrace.Frames = append([]event.Frame{o}, ev.Stacktrace.Frames...)
		return ev
	}
	in, err = store.Prepare(&store.Project{ID: 1}, withOwn(trimpath(false), false), nil, time.Now())
	require.NoError(t, err)
	assert.Equal(t, then.GroupKeyOf(2), in.PrevKeys[0].Key, "errlog's own frame stays out")
	sentry := withOwn(trimpath(true), false)
	sentry.SDK = &event.SDK{Name: "sentry.go"}
	in, err = store.Prepare(&store.Project{ID: 1}, sentry, nil, time.Now())
	require.NoError(t, err)
	assert.Equal(t, sentry.GroupKeyOf(2), in.PrevKeys[0].Key, "sentry-go's flags as it sent them")

	plain := &event.Event{Logentry: &event.Logentry{Message: "disk full"}}
	in, err = store.Prepare(&store.Project{ID: 1}, plain, nil, time.Now())
	require.NoError(t, err)
	assert.Equal(t, []store.EarlierKey{{plain.GroupKeyOf(2), 2}, {plain.GroupKeyOf(1), 1}}, in.PrevKeys)
	assert.Equal(t, in.GroupKey, in.PrevKeys[0].Key, "grouping 2's key is grouping 3's")
}

// TestStoredEnvelope: Decompress reads the event out of a stored gzip
// envelope, whatever items come before it, and says what is wrong with
// one that holds no event or is not gzip.
func TestStoredEnvelope(t *testing.T) {
	gz := func(s string) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.Bytes()
	}
	got, err := store.Decompress(store.StoredEnvelope(gz("{}\n{\"type\":\"client_report\"}\n{}\n{\"type\":\"event\",\"length\":14}\n{\"message\":1}\n\n")))
	require.NoError(t, err)
	assert.Equal(t, `{"message":1}`+"\n", string(got)[:14])
	got, err = store.Decompress(store.StoredEnvelope(gz("{}\n{\"type\":\"event\"}\n{\"message\":2}\n")))
	require.NoError(t, err)
	assert.Equal(t, `{"message":2}`, string(got))

	_, err = store.Decompress(store.StoredEnvelope(gz("{}\n{\"type\":\"session\"}\n{}\n")))
	assert.ErrorContains(t, err, "no event")
	_, err = store.Decompress(store.StoredEnvelope([]byte("not gzip")))
	assert.Error(t, err)
	b := store.StoredEnvelope(gz("{}\n{\"type\":\"event\"}\n{\"message\":3}\n"))
	_, err = store.Decompress(b[:len(b)/2])
	assert.Error(t, err, "a cut stream")

	// The store endpoint's gzip of the JSON itself.
	got, err = store.Decompress(store.StoredJSON(gz(`{"message":4}`)))
	require.NoError(t, err)
	assert.Equal(t, `{"message":4}`, string(got))
	j := store.StoredJSON(gz(`{"message":5}`))
	_, err = store.Decompress(j[:len(j)-10])
	assert.Error(t, err, "a cut stream")
}

// TestInApp: the project's prefixes win; a Go dependency's frame, in the
// module cache or at a version in a -trimpath build, is never in-app;
// else the SDK's flag stands.
func TestInApp(t *testing.T) {
	p := &store.Project{ID: 1, InApp: []string{"github.com/acme/"}}
	dep := event.Frame{Module: "golang.org/x/sync/errgroup", Filename: "golang.org/x/sync@v0.10.0/errgroup/errgroup.go", InApp: true}
	assert.False(t, store.InApp(p, dep), "-trimpath dependency")
	cached := dep
	cached.Filename, cached.AbsPath = "golang.org/x/sync@v0.10.0/errgroup/errgroup.go", "/root/go/pkg/mod/golang.org/x/sync@v0.10.0/errgroup/errgroup.go"
	assert.False(t, store.InApp(p, cached), "module cache")
	acme := event.Frame{Module: "github.com/acme/lib", Filename: "github.com/acme/lib@v1.2.0/lib.go"}
	assert.True(t, store.InApp(p, acme), "the project's rule wins")
	assert.True(t, store.InApp(p, event.Frame{Module: "example.com/app", Filename: "example.com/app/main.go", InApp: true}))
	assert.False(t, store.InApp(nil, event.Frame{Module: "example.com/app", Filename: "example.com/app/main.go"}))
}
