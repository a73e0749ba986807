package mail

import (
	"sort"
	"time"

	"github.com/errlog/errlog/event"
)

// Throttling of error mail and notifications, so that a storm of errors
// gives an on-call engineer a few mails instead of thousands: the first
// occurrence of a group goes out at once, the repeats within its window are
// counted into one digest when the window ends, and a global cap bounds the
// notices of an hour, the excess counted into one summary.

// DefaultWindow is the default digest window: repeats of a group within
// it after a notice are counted into one digest sent when it ends.
const DefaultWindow = 10 * time.Minute

// DefaultMaxPerHour is the default cap on the notices (mails, and
// notifications to each notifier) of any one hour, digests and summaries
// included.
const DefaultMaxPerHour = 20

// ThrottleOptions pace notices: the digest window, the hourly cap, and
// the backoff between the attempts of one that failed. The zero value is
// all defaults. errlog's mail, notifiers and ticketers share them
// (errlog.Options.Throttle), whether mail is on or not.
type ThrottleOptions struct {
	// Window is the digest window: after a group (errors with one
	// fingerprint) is notified, its repeats are counted for Window and
	// then sent as one digest, and so on while they go on. Default
	// DefaultWindow.
	Window time.Duration `json:"window" yaml:"window"`
	// MaxPerHour caps the notices of any hour, digests included; the
	// errors held back are counted into one "N more errors" summary at
	// the end of the hour, or at Close (Flush sends it only if the cap
	// allows one more). Default DefaultMaxPerHour; negative: no cap.
	MaxPerHour int `json:"max_per_hour" yaml:"max_per_hour"`
	// MinBackoff and MaxBackoff bound the wait before retrying a notice
	// whose delivery failed for now, which doubles with each failure.
	// Defaults 1s and 5m.
	MinBackoff time.Duration `json:"min_backoff" yaml:"min_backoff"`
	MaxBackoff time.Duration `json:"max_backoff" yaml:"max_backoff"`
}

// WithDefaults returns o with its window and cap resolved: Window > 0,
// MaxPerHour > 0 or -1 for no cap. The backoffs stay as given (zero: the
// delivery queue's defaults).
func (o ThrottleOptions) WithDefaults() ThrottleOptions {
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	switch {
	case o.MaxPerHour == 0:
		o.MaxPerHour = DefaultMaxPerHour
	case o.MaxPerHour < 0:
		o.MaxPerHour = -1
	}
	return o
}

// maxThrottleGroups bounds the groups tracked at once. Errors whose
// message carries an id each make a group of their own; past this many,
// new groups are counted into the summary instead of growing memory.
const maxThrottleGroups = 10000

// maxSummaryGroups bounds the groups a summary lists by name.
const maxSummaryGroups = 20

// Throttle is the state machine of throttling, with no clock and no
// goroutine of its own: callers pass the time, and ask Next when to call
// Due. It is not safe for concurrent use.
type Throttle struct {
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

// NewThrottle returns a Throttle with nothing counted yet.
func NewThrottle(o ThrottleOptions) *Throttle {
	o = o.WithDefaults()
	return &Throttle{
		window:     o.Window,
		maxPerHour: o.MaxPerHour,
		maxGroups:  maxThrottleGroups,
		groups:     make(map[string]*throttleGroup),
		totals:     make(map[string]int),
		heldGroups: make(map[string]*NoticeGroup),
	}
}

// Add counts ev, whose group is key, which happened at now, and returns
// the notices to send (at most a summary and a first occurrence).
// firstSeen reports that this process had not seen the group before (as
// far as its bounded memory goes), which is when tickets are raised.
func (t *Throttle) Add(ev *event.Event, key string, now time.Time) (out []Notice, firstSeen bool) {
	out = t.roll(now, out)
	if len(t.totals) >= 4*t.maxGroups {
		clear(t.totals) // forget, rather than grow: a repeat ticket at worst
	}
	total := t.totals[key] + 1
	t.totals[key] = total
	firstSeen = total == 1
	g := t.groups[key]
	if g != nil && (now.Before(g.end) || g.count > 0) {
		// In the window, or past it with a digest that Due has not sent
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

// Due returns the notices whose time has come at now: digests of windows
// that ended, and the summary of a cap period that ended.
func (t *Throttle) Due(now time.Time) []Notice {
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

// Flush returns every pending digest, as far as the cap admits them, and
// the pending summary, for Flush and Close. At Close (final) the summary
// goes out whatever the cap: nothing counted is left unsaid. At Flush it
// goes out only if the cap admits it, or a program that flushes after
// each error would get a mail for each; else it waits for the end of the
// hour, or for Close.
func (t *Throttle) Flush(now time.Time, final bool) []Notice {
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
func (t *Throttle) digest(key string, g *throttleGroup, now time.Time, out []Notice) []Notice {
	n := Notice{Kind: NoticeDigest, GroupKey: key, Event: g.ev, Count: g.count, Since: g.start, Last: g.last, Total: t.totals[key]}
	if t.admit(n, now) {
		out = append(out, n)
	}
	g.start, g.end, g.count, g.ev = now, now.Add(t.window), 0, nil
	t.noteDue(g.end)
	return out
}

func (t *Throttle) noteDue(at time.Time) {
	if t.nextDue.IsZero() || at.Before(t.nextDue) {
		t.nextDue = at
	}
}

// Next returns when due should next be called; zero if nothing is
// pending.
func (t *Throttle) Next() time.Time {
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
func (t *Throttle) admit(n Notice, now time.Time) bool {
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

func (t *Throttle) hold(key string, ev *event.Event, count int, now time.Time) {
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
func (t *Throttle) roll(now time.Time, out []Notice) []Notice {
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
func (t *Throttle) summary(now time.Time) Notice {
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
func (t *Throttle) sortedKeys() []string {
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
