package mail

import (
	"fmt"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
)

var t0 = time.Date(2024, 5, 1, 14, 2, 0, 0, time.UTC)

func groupEvent(group string) *event.Event {
	return &event.Event{EventID: event.NewID(), Level: event.LevelError, Logentry: &event.Logentry{Message: "failed: " + group}, Fingerprint: []string{group}}
}

func addAt(th *Throttle, ev *event.Event, at time.Time) ([]Notice, bool) {
	return th.Add(ev, ev.GroupKey(), at)
}

func TestThrottleFirstThenDigest(t *testing.T) {
	th := NewThrottle(ThrottleOptions{Window: 5 * time.Minute, MaxPerHour: DefaultMaxPerHour})
	ev := groupEvent("a")
	out, first := addAt(th, ev, t0)
	if len(out) != 1 || out[0].Kind != NoticeFirst || out[0].Count != 1 || !first || out[0].Event != ev {
		t.Fatalf("first add = %+v, %v; want one first notice", out, first)
	}
	var last *event.Event
	for i := 1; i <= 499; i++ {
		last = groupEvent("a")
		out, first = addAt(th, last, t0.Add(time.Duration(i)*500*time.Millisecond))
		if len(out) != 0 || first {
			t.Fatalf("repeat %d = %+v, %v; want nothing", i, out, first)
		}
	}
	if got, want := th.Next(), t0.Add(5*time.Minute); !got.Equal(want) {
		t.Fatalf("next = %v, want %v", got, want)
	}
	if out := th.Due(t0.Add(4 * time.Minute)); len(out) != 0 {
		t.Fatalf("due before the window ends = %+v", out)
	}
	out = th.Due(t0.Add(5 * time.Minute))
	if len(out) != 1 {
		t.Fatalf("due at window end = %+v, want one digest", out)
	}
	d := out[0]
	if d.Kind != NoticeDigest || d.Count != 499 || d.Total != 500 || !d.Since.Equal(t0) ||
		!d.Last.Equal(t0.Add(499*500*time.Millisecond)) || d.Event != last {
		t.Fatalf("digest = %+v", d)
	}
	// A quiet window closes the group; the next occurrence is a first again.
	if out := th.Due(t0.Add(10 * time.Minute)); len(out) != 0 {
		t.Fatalf("quiet window = %+v", out)
	}
	if len(th.groups) != 0 {
		t.Fatalf("groups after a quiet window: %d", len(th.groups))
	}
	out, first = addAt(th, groupEvent("a"), t0.Add(11*time.Minute))
	if len(out) != 1 || out[0].Kind != NoticeFirst || out[0].Total != 501 || first {
		t.Fatalf("return after a quiet window = %+v, firstSeen %v", out, first)
	}
}

// A storm that goes on for an hour gives one digest per window.
func TestThrottleLongStorm(t *testing.T) {
	th := NewThrottle(ThrottleOptions{Window: 10 * time.Minute, MaxPerHour: DefaultMaxPerHour})
	var mails, counted int
	collect := func(out []Notice) {
		for _, n := range out {
			mails++
			counted += n.Count
		}
	}
	for s := 0; s < 3600; s++ {
		now := t0.Add(time.Duration(s) * time.Second)
		collect(th.Due(now))
		out, _ := addAt(th, groupEvent("storm"), now)
		collect(out)
	}
	collect(th.Flush(t0.Add(time.Hour), true))
	if mails != 7 || counted != 3600 {
		t.Fatalf("an hour's storm: %d mails counting %d errors; want 7 counting 3600", mails, counted)
	}
}

func TestThrottleHourlyCap(t *testing.T) {
	th := NewThrottle(ThrottleOptions{Window: 10 * time.Minute, MaxPerHour: 3})
	var sent []Notice
	for i := 0; i < 5; i++ {
		out, _ := addAt(th, groupEvent(fmt.Sprint("g", i)), t0.Add(time.Duration(i)*time.Second))
		sent = append(sent, out...)
	}
	if len(sent) != 3 {
		t.Fatalf("sent %d notices under a cap of 3", len(sent))
	}
	// The two held back are summarized when the hour ends (the groups'
	// windows ended quietly long before).
	if got := th.Next(); !got.Equal(t0.Add(10 * time.Minute)) {
		t.Fatalf("next = %v", got)
	}
	th.Due(t0.Add(20 * time.Minute))
	if got := th.Next(); !got.Equal(t0.Add(time.Hour)) {
		t.Fatalf("next with a held summary = %v, want the end of the hour", got)
	}
	out := th.Due(t0.Add(time.Hour))
	if len(out) != 1 || out[0].Kind != NoticeSummary || out[0].Count != 2 || len(out[0].Groups) != 2 {
		t.Fatalf("summary = %+v", out)
	}
	if titles := []string{out[0].Groups[0].Title, out[0].Groups[1].Title}; !(titles[0] == "failed: g3" && titles[1] == "failed: g4" ||
		titles[0] == "failed: g4" && titles[1] == "failed: g3") || !out[0].Since.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("summary groups = %+v since %v", out[0].Groups, out[0].Since)
	}
	// The summary counts against the new hour.
	if th.sent != 1 || th.held != 0 {
		t.Fatalf("after the summary: sent %d, held %d", th.sent, th.held)
	}
}

func TestThrottleFlush(t *testing.T) {
	th := NewThrottle(ThrottleOptions{Window: 10 * time.Minute, MaxPerHour: 1})
	addAt(th, groupEvent("a"), t0)
	addAt(th, groupEvent("a"), t0.Add(time.Second))
	addAt(th, groupEvent("a"), t0.Add(2*time.Second))
	addAt(th, groupEvent("b"), t0.Add(3*time.Second)) // held by the cap
	// At Flush, the digest of a is held by the cap too, and so is the
	// summary: the cap is spent.
	if out := th.Flush(t0.Add(4*time.Second), false); len(out) != 0 {
		t.Fatalf("Flush at the cap = %+v", out)
	}
	// At Close the summary says it all: nothing counted is left unsaid.
	out := th.Flush(t0.Add(5*time.Second), true)
	if len(out) != 1 || out[0].Kind != NoticeSummary || out[0].Count != 3 {
		t.Fatalf("flush = %+v", out)
	}
	if out := th.Flush(t0.Add(6*time.Second), true); len(out) != 0 {
		t.Fatalf("second flush = %+v", out)
	}
	// After a flush, repeats are still counted into the group's window.
	if out, _ := addAt(th, groupEvent("a"), t0.Add(7*time.Second)); len(out) != 0 {
		t.Fatalf("repeat after flush = %+v", out)
	}
}

func TestThrottleNoCap(t *testing.T) {
	th := NewThrottle(ThrottleOptions{Window: time.Minute, MaxPerHour: -1})
	n := 0
	for i := 0; i < 100; i++ {
		out, _ := addAt(th, groupEvent(fmt.Sprint(i)), t0)
		n += len(out)
	}
	if n != 100 {
		t.Fatalf("no cap: %d notices for 100 groups", n)
	}
}

func TestThrottleGroupBound(t *testing.T) {
	th := NewThrottle(ThrottleOptions{Window: time.Minute, MaxPerHour: -1})
	th.maxGroups = 3
	n := 0
	for i := 0; i < 5; i++ {
		out, _ := addAt(th, groupEvent(fmt.Sprint(i)), t0)
		n += len(out)
	}
	if n != 3 || len(th.groups) != 3 || th.held != 2 {
		t.Fatalf("bounded groups: %d notices, %d groups, %d held", n, len(th.groups), th.held)
	}
	out := th.Flush(t0, false) // no cap: Flush sends the summary
	if len(out) != 1 || out[0].Kind != NoticeSummary || out[0].Count != 2 {
		t.Fatalf("flush = %+v", out)
	}
}

func TestThrottleSummaryListBound(t *testing.T) {
	th := NewThrottle(ThrottleOptions{Window: time.Minute, MaxPerHour: 1})
	for i := 0; i < 300; i++ {
		addAt(th, groupEvent(fmt.Sprint(i)), t0)
	}
	out := th.Flush(t0, true)
	s := out[len(out)-1]
	if s.Count != 299 || len(s.Groups) != maxSummaryGroups || s.OtherCount != 299-maxSummaryGroups || s.OtherGroups < 1 {
		t.Fatalf("summary: count %d, %d groups listed, %d others counting %d", s.Count, len(s.Groups), s.OtherGroups, s.OtherCount)
	}
}

// A program that flushes after every error (a CLI, a test) must not get a
// summary mail at each Flush once the hourly cap is spent: 1000 errors
// over an hour give at most MaxPerHour notices, and one summary at Close.
func TestThrottleFlushRespectsCap(t *testing.T) {
	const capPerHour = 5
	th := NewThrottle(ThrottleOptions{Window: 10 * time.Minute, MaxPerHour: capPerHour})
	var inHour, counted int
	for i := 0; i < 1000; i++ {
		now := t0.Add(time.Duration(i) * 3 * time.Second) // the first hour
		out, _ := addAt(th, groupEvent(fmt.Sprint("g", i%7)), now)
		out = append(out, th.Due(now)...)
		out = append(out, th.Flush(now, false)...)
		inHour += len(out)
		for _, n := range out {
			counted += n.Count
		}
	}
	if inHour > capPerHour {
		t.Fatalf("%d notices within the hour, cap %d", inHour, capPerHour)
	}
	out := th.Flush(t0.Add(3000*time.Second), true)
	if len(out) != 1 || out[0].Kind != NoticeSummary {
		t.Fatalf("Close = %+v, want the summary", out)
	}
	if counted += out[0].Count; counted != 1000 {
		t.Fatalf("notices count %d errors, want 1000", counted)
	}
}
