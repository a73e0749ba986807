package mail_test

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/mail"
)

// Every error is accounted for exactly once: in a first notice (1), a
// digest (its Count) or a summary (its Count), once Flush(final) ran.
func TestThrottleConservation(t *testing.T) {
	for seed := int64(0); seed < 300; seed++ {
		r := rand.New(rand.NewSource(seed))
		o := mail.ThrottleOptions{Window: time.Duration(1+r.Intn(20)) * time.Minute, MaxPerHour: []int{-1, 1, 3, 20}[r.Intn(4)]}
		th := mail.NewThrottle(o)
		now := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
		total, counted := 0, 0
		count := func(ns []mail.Notice) {
			for _, n := range ns {
				counted += n.Count
				if n.Kind == mail.NoticeSummary {
					counted += 0
				}
			}
		}
		groups := 1 + r.Intn(30)
		for i := 0; i < 3000; i++ {
			now = now.Add(time.Duration(r.Int63n(int64(20 * time.Second))))
			if next := th.Next(); !next.IsZero() && !now.Before(next) && r.Intn(3) > 0 {
				count(th.Due(now))
			}
			if r.Intn(200) == 0 {
				count(th.Flush(now, false))
			}
			g := r.Intn(groups)
			ev := &event.Event{EventID: event.NewID(), Level: event.LevelError, Logentry: &event.Logentry{Message: fmt.Sprint("g", g)}}
			ns, _ := th.Add(ev, fmt.Sprint("g", g), now)
			total++
			count(ns)
		}
		count(th.Flush(now.Add(time.Second), true))
		if counted != total {
			t.Fatalf("seed %d (%+v): %d errors, %d counted in notices", seed, o, total, counted)
		}
	}
}
