package errlog

import (
	"context"
	_ "embed"
	"log/slog"
	"strings"
	"sync"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/levels"
	"github.com/errlog/errlog/internal/values"
)

// Breadcrumbs: every Sentry SDK attaches to an event what was logged
// before it, and errlog, being the logger, has those records in hand. The
// records below ErrorLevel (at or above BreadcrumbLevel) are kept in a
// bounded ring: one per Scope (a request, with Middleware), shared by the
// scopes made from it, and one per Handler for code without a scope.
//
// The caller pays for a copy of the slog.Record into the ring under a
// short lock, and nothing else: the record was already sanitized and
// masked by Handle (values that could change after the call were copied
// then), so it is safe to keep as it is. Its attrs become the breadcrumb's
// data only when an event is built, on errlog's delivery goroutine.

// DefaultBreadcrumbs is how many records an event carries by default, as
// Sentry's SDKs keep.
const DefaultBreadcrumbs = 50

// maxCrumbValue bounds one string in a breadcrumb's data: the trail is
// context, and 50 of them must not make an event too large to accept.
const maxCrumbValue = 1 << 10

// crumb is one record kept in a ring, with the WithAttrs and WithGroup
// of the logger that logged it.
type crumb struct {
	r    slog.Record
	goas []groupOrAttrs
}

// crumbRing keeps the last records logged, as many as an event takes.
// Its buffer grows to that bound as records arrive, so that a scope that
// logs little costs little.
//
// An event's record is logged on the caller's goroutine and its event
// built later on the delivery goroutine; in between, a burst of records
// could push the event's own trail out of the ring. So the event pins its
// place (a slot of pins, no allocation), and the first record that would
// overwrite a crumb a pinned event needs copies the ring first, once for
// all the events pinned then. Only that record, during such a lag, pays
// for a copy.
type crumbRing struct {
	mu    sync.Mutex
	buf   []crumb
	next  int    // once buf is full: the oldest crumb, overwritten next
	total uint64 // crumbs ever added; crumb number n is the n-th added
	pins  [crumbPins]crumbPin
	npins int // pins in use
}

// crumbPins bounds the events waiting to be built that keep their trail
// safe; past them, an event built late may find fewer crumbs.
const crumbPins = 16

// crumbPin is one event waiting to be built: it takes the crumbs up to
// number seq. seq 0 marks a free slot.
type crumbPin struct {
	seq  uint64
	snap *crumbSnap // the ring as it was before the event's crumbs went
}

// crumbSnap is a copy of a ring's crumbs, oldest first; the first is
// crumb number first.
type crumbSnap struct {
	first  uint64
	crumbs []crumb
}

// add keeps r, for events that take limit breadcrumbs. A record with more
// attrs than slog keeps inline shares its overflow slice with the
// caller's copy: safe, because no copy of a Record ever changes the attrs
// it already has (Record.AddAttrs appends past this copy's length, which
// this copy never reads), so no Clone and no allocation is needed.
func (g *crumbRing) add(r *slog.Record, goas []groupOrAttrs, limit int) {
	g.mu.Lock()
	if len(g.buf) < limit && g.next == 0 {
		if len(g.buf) == cap(g.buf) {
			g.grow(limit)
		}
		g.buf = append(g.buf, crumb{r: *r, goas: goas})
	} else {
		if g.npins > 0 {
			g.protect(limit)
		}
		g.buf[g.next] = crumb{r: *r, goas: goas}
		if g.next++; g.next == len(g.buf) {
			g.next = 0
		}
	}
	g.total++
	g.mu.Unlock()
}

func (g *crumbRing) grow(limit int) {
	n := min(limit, max(8, 2*cap(g.buf)))
	buf := make([]crumb, len(g.buf), n)
	copy(buf, g.buf)
	g.buf = buf
}

// protect copies the ring for the pinned events before its oldest crumb is
// overwritten, if one of them takes it.
func (g *crumbRing) protect(limit int) {
	oldest := g.total - uint64(len(g.buf)) + 1
	needed := false
	for _, p := range g.pins {
		if p.seq != 0 && p.snap == nil && oldest <= p.seq && oldest+uint64(limit) > p.seq {
			needed = true
			break
		}
	}
	if !needed {
		return
	}
	snap := &crumbSnap{first: oldest, crumbs: g.ordered(0, len(g.buf))}
	for i := range g.pins {
		if g.pins[i].seq != 0 && g.pins[i].snap == nil {
			g.pins[i].snap = snap
		}
	}
}

// ordered copies the ring's crumbs from the i-th oldest to before the k-th.
func (g *crumbRing) ordered(i, k int) []crumb {
	out := make([]crumb, 0, k-i)
	for ; i < k; i++ {
		out = append(out, g.buf[(g.next+i)%len(g.buf)])
	}
	return out
}

// pin marks the place of an event being logged now: it will take the
// crumbs added so far. It returns their count and the slot pinned (0 for
// none: nothing to take, or every slot taken).
func (g *crumbRing) pin() (seq uint64, slot int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.total == 0 {
		return 0, 0
	}
	for i := range g.pins {
		if g.pins[i].seq == 0 {
			g.pins[i] = crumbPin{seq: g.total}
			g.npins++
			return g.total, i + 1
		}
	}
	return g.total, 0
}

// take returns, oldest first, at most limit of the first seq crumbs ever
// added, from the copy made for slot if there is one, else from those
// still in the ring; and frees slot.
func (g *crumbRing) take(seq uint64, slot, limit int) []crumb {
	g.mu.Lock()
	defer g.mu.Unlock()
	if slot > 0 {
		p := g.pins[slot-1]
		g.pins[slot-1] = crumbPin{}
		g.npins--
		if s := p.snap; s != nil {
			k := int(seq - s.first + 1) // crumbs of the copy up to seq
			k = min(max(k, 0), len(s.crumbs))
			return append([]crumb(nil), s.crumbs[max(0, k-limit):k]...)
		}
	}
	n := len(g.buf)
	newer := g.total - seq // logged after the event's record
	if newer >= uint64(n) {
		return nil
	}
	k := n - int(newer)
	return g.ordered(max(0, k-limit), k)
}

// initBreadcrumbs applies Options.Breadcrumbs and BreadcrumbLevel
// (defaulted by withDefaults) once the sinks are known: without an event
// sink there is no event to carry breadcrumbs, and nothing is kept.
func (c *core) initBreadcrumbs() {
	o := &c.opts
	c.crumbMax = o.Breadcrumbs
	if !c.hasSinks || c.crumbMax < 0 {
		c.crumbMax = 0
	}
	c.crumbLevel = o.BreadcrumbLevel
}

// addCrumb keeps r, logged with ctx through h, if it is a breadcrumb:
// below ErrorLevel, at or above BreadcrumbLevel.
func (c *core) addCrumb(ctx context.Context, h *Handler, r *slog.Record) {
	if c.crumbMax == 0 || r.Level < c.crumbLevel.Level() || r.Level >= c.errorLevel.Level() {
		return
	}
	c.crumbRingOf(scopeFromContext(ctx)).add(r, h.goas, c.crumbMax)
}

// crumbRingOf returns the ring of records logged with scope s: its own,
// or the Handler's for code without a scope.
func (c *core) crumbRingOf(s *Scope) *crumbRing {
	if s != nil {
		return s.crumbs
	}
	return &c.crumbs
}

// markCrumbs remembers, in the job of a record being logged with scope s,
// which breadcrumbs precede it, and pins them.
func (c *core) markCrumbs(j *job, s *Scope) {
	if c.crumbMax == 0 {
		return
	}
	j.crumbs = c.crumbRingOf(s)
	j.crumbSeq, j.crumbPin = j.crumbs.pin()
}

// takeCrumbs returns the breadcrumbs of j's event and unpins them. Every
// job that was marked goes through it, built or not, or its pin stays.
func (c *core) takeCrumbs(j *job) []crumb {
	if j.crumbs == nil {
		return nil
	}
	cs := j.crumbs.take(j.crumbSeq, j.crumbPin, c.crumbMax)
	j.crumbs = nil
	return cs
}

// addBreadcrumbs gives ev crumbs, masked and bounded, on the delivery
// goroutine.
func (c *core) addBreadcrumbs(ev *event.Event, crumbs []crumb) {
	if len(crumbs) == 0 {
		return
	}
	san := sanitizer{m: c.san.m, max: maxCrumbValue}
	if c.san.max > 0 && c.san.max < maxCrumbValue {
		san.max = c.san.max
	}
	ev.Breadcrumbs = make([]event.Breadcrumb, 0, len(crumbs))
	for i := range crumbs {
		ev.Breadcrumbs = append(ev.Breadcrumbs, crumbs[i].breadcrumb(&san))
	}
}

// breadcrumb makes the event form of k: its attrs (those of WithAttrs
// first, each under the groups open when it was added) as data, a
// "logger" attr as the category.
func (k *crumb) breadcrumb(san *sanitizer) event.Breadcrumb {
	b := event.Breadcrumb{
		Timestamp: k.r.Time,
		Type:      "default",
		Category:  "log",
		Level:     levels.Sentry(k.r.Level),
		// Masked as an event's message is (at ErrorLevel, when it is
		// handled): a breadcrumb is any level's record.
		Message: values.Truncate(san.m.scrubText(k.r.Message), san.max),
	}
	data := map[string]any{}
	var add func(prefix []string, a slog.Attr)
	add = func(prefix []string, a slog.Attr) {
		a.Value = a.Value.Resolve()
		if a.Equal(slog.Attr{}) {
			return
		}
		if a.Value.Kind() == slog.KindGroup && a.Key == "" {
			for _, g := range a.Value.Group() { // an inline group
				add(prefix, g)
			}
			return
		}
		if len(prefix) == 0 && a.Key == "logger" && a.Value.Kind() == slog.KindString {
			b.Category = a.Value.String()
			return
		}
		key := a.Key
		if len(prefix) > 0 {
			key = strings.Join(prefix, ".") + "." + a.Key
		}
		if san.m.hides(catNone, a.Key) {
			data[key] = san.m.with
			return
		}
		// attrJSON copies: the record's values are shared with the
		// other events this crumb joins, and cleanTree works in place.
		data[key] = san.cleanTree(subCategory(catNone, a.Key), attrJSON(a.Value))
	}
	var prefix []string
	for _, g := range k.goas {
		if g.group != "" {
			prefix = append(prefix, g.group)
			continue
		}
		for _, a := range g.attrs {
			add(prefix, a)
		}
	}
	k.r.Attrs(func(a slog.Attr) bool {
		add(prefix, a)
		return true
	})
	if len(data) > 0 {
		b.Data = data
	}
	return b
}
