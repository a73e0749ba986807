package ingest

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/errlog/errlog"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/wire/decode"
)

// BenchmarkParsePrepare: the per-event CPU of ingest on an event JSON
// file named by ERRLOGD_BENCH_EVENT (errlogd bench writes none; make one
// with the generator), parse and Prepare (grouping, zstd).
func BenchmarkParsePrepare(b *testing.B) {
	path := os.Getenv("ERRLOGD_BENCH_EVENT")
	if path == "" {
		b.Skip("ERRLOGD_BENCH_EVENT not set")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	p := &store.Project{ID: 1}
	b.SetBytes(int64(len(raw)))
	b.Run("parse", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := decode.Summary(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	keys := decode.NewKeyFilter(errlog.DefaultMaskKeys())
	b.Run("parse-keys", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, found, err := decode.SummaryKeys(raw, keys, nil); err != nil || found.Any() {
				b.Fatal(err, found)
			}
		}
	})
	// The scrubber's path, for the event and for the same event with an
	// access_token in its request's query (flagged: its request is
	// decoded, scrubbed and spliced back, and the event compressed).
	flagged := withQuery(b, raw, "page=3&access_token=abc123")
	sc := NewScrubber(nil)
	for _, c := range []struct {
		name    string
		raw     []byte
		flagged bool
	}{{"scrub", raw, false}, {"scrub-flagged", flagged, true}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				ev, found, err := sc.summary(c.raw)
				if err != nil || found.Any() != c.flagged {
					b.Fatal(err, found)
				}
				out, _, err := sc.scrub(c.raw, found)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := store.Prepare(p, ev, out, time.Now()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("compress", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			store.Compress(raw)
		}
	})
	ev, _ := decode.Summary(raw)
	b.Run("prepare", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := store.Prepare(p, ev, raw, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// withQuery is the event JSON raw with its request's query string q.
func withQuery(b *testing.B, raw []byte, q string) []byte {
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		b.Fatal(err)
	}
	req, _ := ev["request"].(map[string]any)
	if req == nil {
		req = map[string]any{}
		ev["request"] = req
	}
	req["query_string"] = q
	out, err := json.Marshal(ev)
	if err != nil {
		b.Fatal(err)
	}
	return out
}
