// Package clock is errlog's one clock: the time of day and the timers
// every sink waits on (throttle windows, SMTP idle connections, delivery
// backoff and holds, rate limits, Retry-After). Real is the system clock;
// Fake is moved by hand, so that tests of hour-long windows take no time.
package clock

import (
	"sort"
	"sync"
	"time"
)

// A Clock tells the time and makes timers that fire by it.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that sends the time on C() after d.
	NewTimer(d time.Duration) Timer
	// AfterFunc calls f in its own goroutine after d.
	AfterFunc(d time.Duration, f func()) Timer
}

// A Timer is a *time.Timer of a Clock.
type Timer interface {
	// C is nil for a timer made by AfterFunc.
	C() <-chan time.Time
	Stop() bool
	Reset(d time.Duration) bool
}

// Real is the system clock.
func Real() Clock { return realClock{now: time.Now} }

// WithNow is the system's timers with now as the time of day: what
// Options.Now alone gives. Durations are computed from now and waited in
// real time. A nil now is time.Now.
func WithNow(now func() time.Time) Clock {
	if now == nil {
		now = time.Now
	}
	return realClock{now: now}
}

// NewTimerAt returns a timer of c that fires at the time at. On a Fake,
// at is the deadline itself: a timer made from a duration computed a
// moment before would land later if the clock moved in between, past a
// test's last Advance, and never fire.
func NewTimerAt(c Clock, at time.Time) Timer {
	if f, ok := c.(*Fake); ok {
		return f.newTimerAt(at)
	}
	return c.NewTimer(Until(c, at))
}

// Since is c.Now().Sub(t).
func Since(c Clock, t time.Time) time.Duration { return c.Now().Sub(t) }

// Until is t.Sub(c.Now()).
func Until(c Clock, t time.Time) time.Duration { return t.Sub(c.Now()) }

type realClock struct{ now func() time.Time }

func (c realClock) Now() time.Time { return c.now() }

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

func (realClock) AfterFunc(d time.Duration, f func()) Timer {
	return realTimer{time.AfterFunc(d, f)}
}

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time        { return t.t.C }
func (t realTimer) Stop() bool                 { return t.t.Stop() }
func (t realTimer) Reset(d time.Duration) bool { return t.t.Reset(d) }

// Fake is a clock that moves only when Advance or Set moves it. Its timers
// fire, in order of their deadlines, as it passes them. It is safe for
// concurrent use.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer
	changed chan struct{} // closed and replaced when a timer is armed
}

// NewFake returns a Fake clock showing t.
func NewFake(t time.Time) *Fake { return &Fake{now: t, changed: make(chan struct{})} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer returns a timer that fires when the clock reaches Now()+d.
func (f *Fake) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{f: f, c: make(chan time.Time, 1)}
	t.Reset(d)
	return t
}

// newTimerAt returns a timer that fires when the clock reaches at (at
// once if it has).
func (f *Fake) newTimerAt(at time.Time) Timer {
	t := &fakeTimer{f: f, c: make(chan time.Time, 1)}
	t.resetAt(at, 0)
	return t
}

// AfterFunc returns a timer that calls fn, in its own goroutine, when the
// clock reaches Now()+d.
func (f *Fake) AfterFunc(d time.Duration, fn func()) Timer {
	t := &fakeTimer{f: f, fn: fn}
	t.Reset(d)
	return t
}

// Advance moves the clock by d, firing every timer it passes.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	to := f.now.Add(d)
	f.mu.Unlock()
	f.Set(to)
}

// Set moves the clock to t (never back), firing every timer it passes,
// earliest first, each at its own deadline.
func (f *Fake) Set(t time.Time) {
	for {
		f.mu.Lock()
		sort.SliceStable(f.timers, func(i, j int) bool { return f.timers[i].when.Before(f.timers[j].when) })
		if len(f.timers) == 0 || f.timers[0].when.After(t) {
			if t.After(f.now) {
				f.now = t
			}
			f.mu.Unlock()
			return
		}
		ft := f.timers[0]
		f.timers = f.timers[1:]
		ft.armed = false
		if ft.when.After(f.now) {
			f.now = ft.when
		}
		now := f.now
		f.mu.Unlock()
		if ft.fn != nil {
			go ft.fn()
		} else {
			select {
			case ft.c <- now:
			default:
			}
		}
	}
}

// Timers is the number of timers armed: a test waits for the code under
// test to arm one before it advances the clock.
func (f *Fake) Timers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

// Deadlines are the times the armed timers fire at, earliest first: a
// test checks the wait the code under test chose, without racing it.
func (f *Fake) Deadlines() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]time.Time, len(f.timers))
	for i, t := range f.timers {
		out[i] = t.when
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// WaitTimers returns when at least n timers are armed, or false after
// the real duration limit.
func (f *Fake) WaitTimers(n int, limit time.Duration) bool {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		f.mu.Lock()
		armed, changed := len(f.timers), f.changed
		f.mu.Unlock()
		if armed >= n {
			return true
		}
		select {
		case <-changed:
		case <-deadline.C:
			return false
		}
	}
}

type fakeTimer struct {
	f     *Fake
	c     chan time.Time
	fn    func()
	when  time.Time
	armed bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	return t.unarmLocked()
}

func (t *fakeTimer) unarmLocked() bool {
	if !t.armed {
		return false
	}
	t.armed = false
	for i, x := range t.f.timers {
		if x == t {
			t.f.timers = append(t.f.timers[:i], t.f.timers[i+1:]...)
			break
		}
	}
	return true
}

func (t *fakeTimer) Reset(d time.Duration) bool { return t.resetAt(time.Time{}, d) }

// resetAt arms t for at, or (at zero) for d from now. The deadline is
// taken under the clock's lock, so that no Advance falls between reading
// the time and arming.
func (t *fakeTimer) resetAt(at time.Time, d time.Duration) bool {
	f := t.f
	f.mu.Lock()
	was := t.unarmLocked()
	if at.IsZero() {
		at = f.now.Add(d)
	}
	t.when = at
	d = at.Sub(f.now)
	if d <= 0 {
		// Due at once, as a real timer is: fire without waiting for
		// the clock to move.
		now := f.now
		f.mu.Unlock()
		if t.fn != nil {
			go t.fn()
		} else {
			select {
			case t.c <- now:
			default:
			}
		}
		return was
	}
	t.armed = true
	f.timers = append(f.timers, t)
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
	return was
}
