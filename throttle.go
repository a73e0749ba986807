package errlog

import (
	"context"
	"sort"
	"time"

	"github.com/errlog/errlog/event"
)

// Throttling of error mail and notifications, so that a storm of errors
// gives an on-call engineer a few mails instead of thousands: the first
// occurrence of a group goes out at once, the repeats within its window are
// counted into one digest when the window ends, and a global cap bounds the
// notices of an hour, the excess counted into one summary.

// DefaultMailWindow is the default digest window: repeats of a group within
// it after a notice are counted into one digest sent when it ends.
const DefaultMailWindow = 10 * time.Minute

// DefaultMaxMailsPerHour is the default cap on the notices (mails, and
// notifications to each Notifier) of any one hour, digests and summaries
// included.
const DefaultMaxMailsPerHour = 20

// maxThrottleGroups bounds the groups tracked at once. Errors whose
// message carries an id each make a group of their own; past this many,
// new groups are counted into the summary instead of growing memory.
const maxThrottleGroups = 10000

// maxSummaryGroups bounds the groups a summary lists by name.
const maxSummaryGroups = 20

// NoticeKind says why a Notice was sent.
type NoticeKind string

// The kinds of notice.
const (
	// NoticeFirst is the first occurrence of a group, sent at once.
	NoticeFirst NoticeKind = "first"
	// NoticeDigest counts the repeats of a group over a window.
	NoticeDigest NoticeKind = "digest"
	// NoticeSummary counts the errors the hourly cap held back.
	NoticeSummary NoticeKind = "summary"
)

// A Notice is one error mail or notification after throttling. Notifiers
// find the Notice of each call in its context (NoticeFromContext), or are
// given it (NoticeNotifier).
type Notice struct {
	// Kind says why the notice was sent: a first occurrence, a digest of
	// repeats, or a summary of what the hourly cap held back.
	Kind NoticeKind `json:"kind"`
	// GroupKey is the group's event.GroupKey ("" for a summary).
	GroupKey string `json:"group,omitempty"`
	// Event is the occurrence the notice is about: the first one, or the
	// latest one counted into a digest. nil for a summary.
	Event *event.Event `json:"event,omitempty"`
	// Count is the number of occurrences the notice stands for: 1 for a
	// first occurrence, the repeats for a digest, the errors held back
	// for a summary.
	Count int `json:"count"`
	// Since and Last bound the occurrences counted: a digest counts those
	// after Since (when the group was last notified) up to Last. For a
	// first occurrence both are its time.
	Since time.Time `json:"since"`
	Last  time.Time `json:"last"`
	// Total counts the group's occurrences since this process first saw
	// it, this notice's included (0 for a summary).
	Total int `json:"total,omitempty"`
	// Groups lists, for a summary, the groups held back, most frequent
	// first; OtherGroups (at least) and OtherCount count the groups left
	// out of the list and their errors.
	Groups      []NoticeGroup `json:"groups,omitempty"`
	OtherGroups int           `json:"other_groups,omitempty"`
	OtherCount  int           `json:"other_count,omitempty"`
	// Dropped counts the notices lost to a full delivery queue since the
	// previous notice of the same sink.
	Dropped int `json:"dropped,omitempty"`
}

// NoticeGroup is one group of a summary.
type NoticeGroup struct {
	// Key is the group's event.GroupKey.
	Key string `json:"group"`
	// Title is the title of the group's latest event.
	Title string `json:"title"`
	// Count is the group's occurrences held back.
	Count int `json:"count"`
	// Last is when the latest of them happened.
	Last time.Time `json:"last"`
}

type noticeKey struct{}

// NoticeFromContext returns the Notice a Notifier is called for: whether
// the event is a first occurrence or the latest of a digest, and how many
// occurrences it stands for.
func NoticeFromContext(ctx context.Context) (*Notice, bool) {
	n, ok := ctx.Value(noticeKey{}).(*Notice)
	return n, ok
}

func contextWithNotice(ctx context.Context, n *Notice) context.Context {
	return context.WithValue(ctx, noticeKey{}, n)
}

// throttle is the state machine of throttling, with no clock and no
// goroutine of its own: callers pass the time, and ask next() when to call
// due(). It is not safe for concurrent use.
type throttle struct {
	window     time.Duration
	maxPerHour int // < 0: no cap
	maxGroups  int

	groups  map[string]*throttleGroup
	nextDue time.Time      // earliest window end, zero if none
	totals  map[string]int // occurrences per group since first seen; bounded

	periodStart time.Time // start of the current cap period
	sent        int       // notices admitted in the current period

	held       int // occurrences held back by the cap or by maxGroups
	heldSince  time.Time
	heldLast   time.Time
	heldGroups map[string]*NoticeGroup // bounded by maxSummaryGroups*8
	heldOther  int                     // occurrences of groups past that bound
}

// throttleGroup is one group with a window open: notified at start, and
// counting its repeats until end.
type throttleGroup struct {
	start, end time.Time
	count      int // repeats since start
	last       time.Time
	ev         *event.Event // the latest repeat
}

// newThrottle takes the resolved settings (newMailConfig's): window > 0,
// maxPerHour < 0 for no cap.
func newThrottle(window time.Duration, maxPerHour int) *throttle {
	return &throttle{
		window:     window,
		maxPerHour: maxPerHour,
		maxGroups:  maxThrottleGroups,
		groups:     make(map[string]*throttleGroup),
		totals:     make(map[string]int),
		heldGroups: make(map[string]*NoticeGroup),
	}
}

// add counts ev, whose group is key, which happened at now, and returns
// the notices to send (at most a summary and a first occurrence).
// firstSeen reports that this process had not seen the group before (as
// far as its bounded memory goes), which is when tickets are raised.
func (t *throttle) add(ev *event.Event, key string, now time.Time) (out []Notice, firstSeen bool) {
	out = t.roll(now, out)
	if len(t.totals) >= 4*t.maxGroups {
		clear(t.totals) // forget, rather than grow: a repeat ticket at worst
	}
	total := t.totals[key] + 1
	t.totals[key] = total
	firstSeen = total == 1
	g := t.groups[key]
	if g != nil && (now.Before(g.end) || g.count > 0) {
		// In the window, or past it with a digest that due() has not sent
		// yet: either way it is counted into the digest.
		g.count++
		g.last = now
		g.ev = ev
		return out, firstSeen
	}
	if g == nil && len(t.groups) >= t.maxGroups {
		t.hold(key, ev, 1, now)
		return out, firstSeen
	}
	g = &throttleGroup{start: now, end: now.Add(t.window)}
	t.groups[key] = g
	if t.nextDue.IsZero() || g.end.Before(t.nextDue) {
		t.nextDue = g.end
	}
	n := Notice{Kind: NoticeFirst, GroupKey: key, Event: ev, Count: 1, Since: now, Last: now, Total: total}
	if t.admit(n, now) {
		out = append(out, n)
	}
	return out, firstSeen
}

// due returns the notices whose time has come at now: digests of windows
// that ended, and the summary of a cap period that ended.
func (t *throttle) due(now time.Time) []Notice {
	out := t.roll(now, nil)
	if t.nextDue.IsZero() || now.Before(t.nextDue) {
		return out
	}
	t.nextDue = time.Time{}
	for _, key := range t.sortedKeys() {
		g := t.groups[key]
		if now.Before(g.end) {
			t.noteDue(g.end)
			continue
		}
		if g.count == 0 {
			delete(t.groups, key) // a quiet window closes the group
			continue
		}
		out = t.digest(key, g, now, out)
	}
	return out
}

// flush returns every pending digest, as far as the cap admits them, and
// the pending summary, for Flush and Close. At Close (final) the summary
// goes out whatever the cap: nothing counted is left unsaid. At Flush it
// goes out only if the cap admits it, or a program that flushes after
// each error would get a mail for each; else it waits for the end of the
// hour, or for Close.
func (t *throttle) flush(now time.Time, final bool) []Notice {
	out := t.roll(now, nil)
	for _, key := range t.sortedKeys() {
		if g := t.groups[key]; g.count > 0 {
			out = t.digest(key, g, now, out)
		}
	}
	if t.held > 0 && (final || t.maxPerHour < 0 || t.sent < t.maxPerHour) {
		out = append(out, t.summary(now))
		t.sent++
	}
	return out
}

// digest sends g's count (if the cap admits it) and opens a new window, so
// that a storm that goes on gives one digest per window.
func (t *throttle) digest(key string, g *throttleGroup, now time.Time, out []Notice) []Notice {
	n := Notice{Kind: NoticeDigest, GroupKey: key, Event: g.ev, Count: g.count, Since: g.start, Last: g.last, Total: t.totals[key]}
	if t.admit(n, now) {
		out = append(out, n)
	}
	g.start, g.end, g.count, g.ev = now, now.Add(t.window), 0, nil
	t.noteDue(g.end)
	return out
}

func (t *throttle) noteDue(at time.Time) {
	if t.nextDue.IsZero() || at.Before(t.nextDue) {
		t.nextDue = at
	}
}

// next returns when due should next be called; zero if nothing is
// pending.
func (t *throttle) next() time.Time {
	next := t.nextDue
	if t.held > 0 {
		end := t.periodStart.Add(time.Hour)
		if next.IsZero() || end.Before(next) {
			next = end
		}
	}
	return next
}

// admit counts n against the hourly cap and reports whether it may be
// sent; if not, its occurrences are held for the summary.
func (t *throttle) admit(n Notice, now time.Time) bool {
	if t.periodStart.IsZero() {
		t.periodStart = now
	}
	if t.maxPerHour < 0 || t.sent < t.maxPerHour {
		t.sent++
		return true
	}
	t.hold(n.GroupKey, n.Event, n.Count, now)
	return false
}

func (t *throttle) hold(key string, ev *event.Event, count int, now time.Time) {
	if t.held == 0 {
		t.heldSince = now
	}
	t.held += count
	t.heldLast = now
	if g := t.heldGroups[key]; g != nil {
		g.Count += count
		g.Last = now
		return
	}
	if len(t.heldGroups) >= maxSummaryGroups*8 {
		t.heldOther += count
		return
	}
	title := ""
	if ev != nil {
		title = ev.Title()
	}
	t.heldGroups[key] = &NoticeGroup{Key: key, Title: title, Count: count, Last: now}
}

// roll starts a new cap period when the current one is an hour old,
// sending the summary of what the old one held back.
func (t *throttle) roll(now time.Time, out []Notice) []Notice {
	if t.periodStart.IsZero() || now.Sub(t.periodStart) < time.Hour {
		return out
	}
	t.periodStart, t.sent = now, 0
	if t.held > 0 {
		out = append(out, t.summary(now))
		t.sent++
	}
	return out
}

// summary returns the summary notice of what was held back and resets it.
func (t *throttle) summary(now time.Time) Notice {
	n := Notice{Kind: NoticeSummary, Count: t.held, Since: t.heldSince, Last: t.heldLast}
	for _, g := range t.heldGroups {
		n.Groups = append(n.Groups, *g)
	}
	sort.Slice(n.Groups, func(i, j int) bool {
		a, b := n.Groups[i], n.Groups[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Key < b.Key
	})
	if n.OtherCount = t.heldOther; n.OtherCount > 0 {
		n.OtherGroups = 1 // at least; they were not told apart
	}
	if len(n.Groups) > maxSummaryGroups {
		for _, g := range n.Groups[maxSummaryGroups:] {
			n.OtherGroups++
			n.OtherCount += g.Count
		}
		n.Groups = n.Groups[:maxSummaryGroups]
	}
	t.held, t.heldOther = 0, 0
	t.heldSince, t.heldLast = time.Time{}, time.Time{}
	clear(t.heldGroups)
	return n
}

// sortedKeys returns the groups' keys in window order, so that digests go
// out in the order their groups first appeared.
func (t *throttle) sortedKeys() []string {
	keys := make([]string, 0, len(t.groups))
	for k := range t.groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := t.groups[keys[i]], t.groups[keys[j]]
		if !a.start.Equal(b.start) {
			return a.start.Before(b.start)
		}
		return keys[i] < keys[j]
	})
	return keys
}
