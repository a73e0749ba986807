package errlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Every drop, in whichever queue, shows in Handler.Stats and Dropped, and
// Dropped is the sum of what the reports said was lost.
func TestStatsCountEveryDrop(t *testing.T) {
	var mu sync.Mutex
	var reports []string
	h := NewHandler(Options{
		Console: io.Discard,
		Tracker: &TrackerOptions{DSN: silentHTTP(t), Timeout: 100 * time.Millisecond, QueueSize: 2,
			MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond},
		QueueSize: 1000,
		OnDeliveryError: func(err error) {
			mu.Lock()
			reports = append(reports, err.Error())
			mu.Unlock()
		},
	})
	logger := slog.New(h)
	for i := 0; i < 50; i++ {
		logger.Error("boom", "i", i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	h.Flush(ctx)
	st := h.Stats()
	if len(st.Sinks) != 1 || st.Sinks[0].Name != "tracker" {
		t.Fatalf("sinks %+v", st.Sinks)
	}
	tr := st.Sinks[0]
	if tr.Dropped == 0 || tr.Retried == 0 || tr.Enqueued+tr.Dropped < 50 {
		t.Errorf("tracker %v: want drops (QueueSize 2) and retries", tr)
	}
	if st.Events.Enqueued != 50 || st.Dropped != st.Events.Dropped+tr.Dropped || h.Dropped() != st.Dropped {
		t.Errorf("stats %+v, Dropped() %d", st, h.Dropped())
	}

	cctx, ccancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer ccancel()
	h.Close(cctx)
	if d := h.Dropped(); d != 50 {
		t.Errorf("Dropped() = %d after Close with the tracker silent, want all 50", d)
	}
	var reported uint64
	re := regexp.MustCompile(`(\d+) (?:items dropped|undelivered items lost|events dropped)`)
	mu.Lock()
	for _, r := range reports {
		for _, m := range re.FindAllStringSubmatch(r, -1) {
			n, _ := strconv.ParseUint(m[1], 10, 64)
			reported += n
		}
	}
	mu.Unlock()
	if reported != h.Dropped() {
		t.Errorf("reports say %d lost, Dropped() %d:\n%q", reported, h.Dropped(), reports)
	}
}

// A report that arrives while OnDeliveryError runs (from another
// goroutine, or from inside the hook) is folded into the next call, not
// lost.
func TestOnDeliveryErrorFoldsReportsMadeMeanwhile(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var got []error
	calls := 0
	var guarded func(error)
	guarded = guardedOnError(func(err error) {
		mu.Lock()
		calls++
		first := calls == 1
		got = append(got, err)
		mu.Unlock()
		if first {
			guarded(errors.New("from inside the hook")) // re-entry: folded, no recursion
			<-release
		}
	})
	sent := []error{errors.New("first")}
	done := make(chan struct{})
	go func() { guarded(sent[0]); close(done) }()
	time.Sleep(20 * time.Millisecond)
	var wg sync.WaitGroup
	var smu sync.Mutex
	for i := 0; i < 10; i++ {
		err := fmt.Errorf("report %d", i)
		smu.Lock()
		sent = append(sent, err)
		smu.Unlock()
		wg.Add(1)
		go func() { defer wg.Done(); guarded(err) }()
	}
	wg.Wait() // none of them waited for the hook
	close(release)
	<-done
	mu.Lock()
	defer mu.Unlock()
	if calls != 2 {
		t.Errorf("%d calls, want 2: the report, then one with everything folded", calls)
	}
	for _, err := range sent {
		found := false
		for _, g := range got {
			found = found || errors.Is(g, err)
		}
		if !found {
			t.Errorf("%v never reached the hook", err)
		}
	}
}
