package event_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/wire/decode"
)

// corpusEvent is one event of testdata/grouping: its file, and the group
// a person chose for it (the file name up to "--").
type corpusEvent struct {
	file, label string
	// raw is the event as decoded; ev has the in-app flags errlogd reads
	// (asErrlogd).
	raw, ev *event.Event
}

// loadCorpus reads the labelled grouping corpus (testdata/grouping, see
// its README.md) as errlogd decodes events.
func loadCorpus(t testing.TB) []corpusEvent {
	files, err := filepath.Glob("testdata/grouping/*/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	var out []corpusEvent
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := decode.Event(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(ev.Frames()) == 0 {
			ev.Stacktrace = threadStack(t, b)
		}
		label, _, ok := strings.Cut(filepath.Base(f), "--")
		if !ok {
			t.Fatalf("%s: no label", f)
		}
		out = append(out, corpusEvent{file: f, label: label, raw: ev, ev: asErrlogd(ev)})
	}
	return out
}

// asErrlogd returns ev with the in-app flags errlogd corrects before
// grouping (store.InApp without a project's rules): a Go dependency's
// frame, in the module cache or at a version (a -trimpath build), is not
// the application's, whatever the SDK said.
func asErrlogd(ev *event.Event) *event.Event {
	fix := func(st *event.Stacktrace) *event.Stacktrace {
		if st == nil {
			return nil
		}
		cp := &event.Stacktrace{Frames: append([]event.Frame(nil), st.Frames...)}
		for i := range cp.Frames {
			f := &cp.Frames[i]
			if strings.Contains(f.AbsPath+f.Filename, "/pkg/mod/") || event.InVersionedModule(f.Filename, f.AbsPath) {
				f.InApp = false
			}
		}
		return cp
	}
	cp := *ev
	cp.Exception = append([]event.Exception(nil), ev.Exception...)
	for i := range cp.Exception {
		cp.Exception[i].Stacktrace = fix(cp.Exception[i].Stacktrace)
	}
	cp.Stacktrace = fix(ev.Stacktrace)
	return &cp
}

// threadStack is the crashed (else current, else first) thread's stack,
// which errlogd's ingest takes for an event's when it has no other.
func threadStack(t testing.TB, b []byte) *event.Stacktrace {
	var raw struct {
		Threads json.RawMessage `json:"threads"`
	}
	if err := json.Unmarshal(b, &raw); err != nil || raw.Threads == nil {
		return nil
	}
	type thread struct {
		Crashed, Current bool
		Stacktrace       *event.Stacktrace
	}
	threads, err := decode.Values[thread](raw.Threads)
	if err != nil {
		t.Fatal(err)
	}
	for _, pick := range []func(thread) bool{
		func(th thread) bool { return th.Crashed }, func(th thread) bool { return th.Current }, func(thread) bool { return true },
	} {
		for _, th := range threads {
			if th.Stacktrace != nil && pick(th) {
				return th.Stacktrace
			}
		}
	}
	return nil
}

// partition compares the groups key makes with the labels: a false merge
// is a key shared by several labels, a false split a label spread over
// several keys.
func partition(evs []corpusEvent, key func(corpusEvent) string) (groups int, merges, splits []string) {
	labelsOf := map[string]map[string]bool{} // key → labels
	keysOf := map[string]map[string]bool{}   // label → keys
	for _, c := range evs {
		k := key(c)
		if labelsOf[k] == nil {
			labelsOf[k] = map[string]bool{}
		}
		labelsOf[k][c.label] = true
		if keysOf[c.label] == nil {
			keysOf[c.label] = map[string]bool{}
		}
		keysOf[c.label][k] = true
	}
	for _, ls := range labelsOf {
		if len(ls) > 1 {
			var names []string
			for l := range ls {
				names = append(names, l)
			}
			sort.Strings(names)
			merges = append(merges, strings.Join(names, " + "))
		}
	}
	for l, ks := range keysOf {
		if len(ks) > 1 {
			splits = append(splits, l)
		}
	}
	sort.Strings(merges)
	sort.Strings(splits)
	return len(labelsOf), merges, splits
}

// TestGroupingCorpus: on the labelled corpus, GroupKey makes exactly the
// groups a person chose: no false merge, no false split. The earlier
// groupings' mistakes on it are logged for comparison.
func TestGroupingCorpus(t *testing.T) {
	evs := loadCorpus(t)
	labels := map[string]bool{}
	for _, c := range evs {
		labels[c.label] = true
	}
	groups, merges, splits := partition(evs, func(c corpusEvent) string { return c.ev.GroupKeyOf(event.Grouping) })
	t.Logf("corpus: %d events, %d labelled groups; grouping %d: %d groups, %d false merges, %d false splits",
		len(evs), len(labels), event.Grouping, groups, len(merges), len(splits))
	for _, m := range merges {
		t.Errorf("false merge: %s", m)
	}
	for _, s := range splits {
		t.Errorf("false split: %s", s)
	}
	for v := event.Grouping - 1; v >= 1; v-- {
		// As errlogd read the events then: with the SDKs' flags.
		g, m, s := partition(evs, func(c corpusEvent) string { return c.raw.GroupKeyOf(v) })
		t.Logf("grouping %d: %d groups, %d false merges %v, %d false splits %v", v, g, len(m), m, len(s), s)
	}

	// An event errlog sent carries the key it computed, which is the
	// one the event's own content gives.
	carried := 0
	for _, c := range evs {
		if k, v := c.raw.CarriedGroupKey(); v != 0 {
			carried++
			if k != c.raw.GroupKeyOf(v) {
				t.Errorf("%s: carries %s, its content gives %s", c.file, k, c.raw.GroupKeyOf(v))
			}
		}
	}
	if carried == 0 {
		t.Error("no corpus event carries its key")
	}
}
