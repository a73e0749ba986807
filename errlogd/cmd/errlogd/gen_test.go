package main

import (
	"bytes"
	"math/rand"
	"os"
	"testing"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/wire/decode"
	"github.com/klauspost/compress/gzip"
)

func TestGeneratorShapes(t *testing.T) {
	g := newGenerator(rand.New(rand.NewSource(1)), 200)
	keys := map[string]bool{}
	for grp := 0; grp < 200; grp++ {
		tpl := g.event(grp, 50000)
		if path := os.Getenv("ERRLOGD_BENCH_EVENT"); grp == 0 && path != "" {
			// A sample for ingest's BenchmarkParsePrepare.
			if err := os.WriteFile(path, bytes.TrimSpace(bytes.SplitN(tpl.render(event.NewID(), "2026-01-02T03:04:05.000000Z"), []byte("\n"), 3)[2]), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if n := len(tpl.json); n < 45000 || n > 55000 {
			t.Fatalf("group %d: %d bytes, want about 50,000", grp, n)
		}
		body := tpl.render(event.NewID(), "2026-01-02T03:04:05.000000Z")
		var buf bytes.Buffer
		tpl.body(&buf, event.NewID(), "2026-01-02T03:04:05.000000Z")
		zr, err := gzip.NewReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		var plain bytes.Buffer
		if _, err := plain.ReadFrom(zr); err != nil {
			t.Fatal(err)
		}
		if plain.Len() != len(body) {
			t.Fatalf("multi-member gzip body decompresses to %d bytes, want %d", plain.Len(), len(body))
		}
		lines := bytes.SplitN(body, []byte("\n"), 3)
		ev, err := decode.Event(lines[2][:len(lines[2])-1])
		if err != nil {
			t.Fatalf("group %d: %v", grp, err)
		}
		in, err := store.Prepare(&store.Project{ID: 1}, ev, nil, ev.Timestamp)
		if err != nil {
			t.Fatal(err)
		}
		keys[in.GroupKey] = true
	}
	if len(keys) != 200 {
		t.Fatalf("%d distinct groups, want 200", len(keys))
	}
}
