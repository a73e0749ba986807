package clock

import (
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2024, 5, 1, 14, 0, 0, 0, time.UTC)

func TestFakeTimersFireInOrderAtTheirDeadlines(t *testing.T) {
	f := NewFake(t0)
	a, b := f.NewTimer(2*time.Second), f.NewTimer(time.Second)
	if f.Timers() != 2 {
		t.Fatalf("%d timers armed, want 2", f.Timers())
	}
	if d := f.Deadlines(); len(d) != 2 || !d[0].Equal(t0.Add(time.Second)) || !d[1].Equal(t0.Add(2*time.Second)) {
		t.Errorf("Deadlines %v", d)
	}
	f.Advance(999 * time.Millisecond)
	select {
	case <-b.C():
		t.Fatal("timer fired before its deadline")
	default:
	}
	f.Advance(5 * time.Second)
	if got := <-b.C(); !got.Equal(t0.Add(time.Second)) {
		t.Errorf("b fired at %v, want its deadline", got)
	}
	if got := <-a.C(); !got.Equal(t0.Add(2 * time.Second)) {
		t.Errorf("a fired at %v, want its deadline", got)
	}
	if !f.Now().Equal(t0.Add(5999 * time.Millisecond)) {
		t.Errorf("Now %v after advancing 5.999s", f.Now())
	}
}

func TestFakeStopResetAfterFunc(t *testing.T) {
	f := NewFake(t0)
	var calls atomic.Int32
	done := make(chan struct{}, 4)
	tm := f.AfterFunc(time.Minute, func() { calls.Add(1); done <- struct{}{} })
	if !tm.Stop() {
		t.Error("Stop of an armed timer returned false")
	}
	f.Advance(time.Hour)
	if tm.Stop() || calls.Load() != 0 {
		t.Fatal("a stopped timer fired")
	}
	tm.Reset(time.Second)
	go func() { f.WaitTimers(1, time.Second); f.Advance(time.Second) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("AfterFunc did not run")
	}
	tm.Reset(0) // due at once, as a real timer
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("AfterFunc(0) did not run")
	}
}

func TestWithNowKeepsRealTimers(t *testing.T) {
	c := WithNow(func() time.Time { return t0 })
	if !c.Now().Equal(t0) {
		t.Errorf("Now %v", c.Now())
	}
	tm := c.NewTimer(time.Millisecond)
	select {
	case <-tm.C():
	case <-time.After(5 * time.Second):
		t.Fatal("a real timer did not fire")
	}
	if Real().Now().IsZero() {
		t.Error("Real().Now() is zero")
	}
}

// TestNewTimerAt: a timer for a deadline fires when the clock reaches it,
// however the clock moved since the deadline was computed: at once if it
// has passed, not a moment later.
func TestNewTimerAt(t *testing.T) {
	f := NewFake(t0)
	deadline := t0.Add(time.Second)
	f.Advance(999 * time.Millisecond) // the clock moves before the timer is armed
	tm := NewTimerAt(f, deadline)
	if d := f.Deadlines(); len(d) != 1 || !d[0].Equal(deadline) {
		t.Fatalf("deadlines %v, want %v", d, deadline)
	}
	f.Advance(time.Millisecond)
	select {
	case got := <-tm.C():
		if !got.Equal(deadline) {
			t.Errorf("fired at %v, want %v", got, deadline)
		}
	default:
		t.Fatal("did not fire at its deadline")
	}

	f.Advance(time.Second)
	past := NewTimerAt(f, deadline) // already passed: at once
	select {
	case <-past.C():
	default:
		t.Fatal("a timer for a past deadline did not fire at once")
	}
	if n := f.Timers(); n != 0 {
		t.Errorf("%d timers armed, want 0", n)
	}

	rt := NewTimerAt(Real(), time.Now().Add(10*time.Millisecond))
	select {
	case <-rt.C():
	case <-time.After(5 * time.Second):
		t.Fatal("a real timer for a deadline did not fire")
	}
}
