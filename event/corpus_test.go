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
	ev          *event.Event
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
		out = append(out, corpusEvent{file: f, label: label, ev: ev})
	}
	return out
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
func partition(evs []corpusEvent, key func(*event.Event) string) (groups int, merges, splits []string) {
	labelsOf := map[string]map[string]bool{} // key → labels
	keysOf := map[string]map[string]bool{}   // label → keys
	for _, c := range evs {
		k := key(c.ev)
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
	groups, merges, splits := partition(evs, func(ev *event.Event) string { return ev.GroupKeyOf(event.Grouping) })
	t.Logf("corpus: %d events, %d labelled groups; grouping %d: %d groups, %d false merges, %d false splits",
		len(evs), len(labels), event.Grouping, groups, len(merges), len(splits))
	for _, m := range merges {
		t.Errorf("false merge: %s", m)
	}
	for _, s := range splits {
		t.Errorf("false split: %s", s)
	}
	for v := event.Grouping - 1; v >= 1; v-- {
		g, m, s := partition(evs, func(ev *event.Event) string { return ev.GroupKeyOf(v) })
		t.Logf("grouping %d: %d groups, %d false merges %v, %d false splits %v", v, g, len(m), m, len(s), s)
	}

	// An event errlog sent carries the key it computed, which is the
	// one the event's own content gives.
	carried := 0
	for _, c := range evs {
		if k, v := c.ev.CarriedGroupKey(); v != 0 {
			carried++
			if k != c.ev.GroupKeyOf(v) {
				t.Errorf("%s: carries %s, its content gives %s", c.file, k, c.ev.GroupKeyOf(v))
			}
		}
	}
	if carried == 0 {
		t.Error("no corpus event carries its key")
	}
}
