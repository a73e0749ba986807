package ingest

import (
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
