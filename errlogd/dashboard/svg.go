package dashboard

import (
	"strconv"
	"time"

	"github.com/errlog/errlog/errlogd/store"
)

// spark is a bar chart drawn as SVG by the templates: no script is
// needed to read it.
type spark struct {
	W, H  int
	Bars  []bar
	Ticks []tick
	Total int64
	Max   int64
}

type bar struct {
	X, Y, W, H int
	Title      string
}

type tick struct {
	X     int
	Label string
}

// chartEnd is where the hourly charts drawn at now end (exclusive): the
// end of the hour of now+store.MaxFuture, so that an event stamped ahead
// of the clock, as ingest accepts, is drawn in the last bar, not past it.
func chartEnd(now time.Time) time.Time {
	return now.Add(store.MaxFuture).Truncate(time.Hour).Add(time.Hour)
}

// hourSpark draws n hourly buckets ending at end (exclusive), each slot
// width/n pixels wide, the tallest bar h high.
func hourSpark(counts []store.Count, end time.Time, n, width, h int) spark {
	start := end.Add(-time.Duration(n) * time.Hour)
	vals := make([]int64, n)
	sp := spark{W: width, H: h}
	for _, c := range counts {
		i := int(c.Time.Sub(start) / time.Hour)
		if i >= 0 && i < n {
			vals[i] += c.Count
		}
	}
	for _, v := range vals {
		sp.Total += v
		sp.Max = max(sp.Max, v)
	}
	slot := width / n
	bw := max(slot-1, 1)
	for i, v := range vals {
		if v == 0 {
			continue
		}
		bh := int(int64(h-1) * v / max(sp.Max, 1))
		bh = max(bh, 2)
		at := start.Add(time.Duration(i) * time.Hour)
		sp.Bars = append(sp.Bars, bar{X: i * slot, Y: h - bh, W: bw, H: bh,
			Title: strconv.FormatInt(v, 10) + " at " + at.UTC().Format("Jan 2 15:04") + " UTC"})
	}
	for i := 0; i < n; i++ {
		if at := start.Add(time.Duration(i) * time.Hour); at.UTC().Hour() == 0 && n > 48 {
			sp.Ticks = append(sp.Ticks, tick{X: i * slot, Label: at.UTC().Format("Jan 2")})
		}
	}
	return sp
}
