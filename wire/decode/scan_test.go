package decode

import (
	"encoding/json"
	"math/bits"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestScanObjectAgreesWithEncodingJSON: scanObject accepts exactly the
// objects encoding/json accepts, on valid and broken inputs, and reports
// every top-level member.
func TestScanObjectAgreesWithEncodingJSON(t *testing.T) {
	inputs := []string{
		`{}`, ` { } `, `{"a":1}`, `{"a":-0.5e+10,"b":[1,2,{"c":null}],"d":"x\"y\\u00e9\n","e":true,"f":false}`,
		`{"a":"\u12"}`, `{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":1e}`, `{"a":tru}`, `{"a":nul}`, `{"a":[1,]}`,
		`{"a":[1 2]}`, `{"a":{"b"}}`, `{"a":{"b":1,}}`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":1}x`, `{"a":1`,
		`[1]`, `"s"`, ``, `{"a":"line` + "\n" + `break"}`, `{"a":"\x"}`, `{"a":[[[[]]]]}`, `{"a":"é"}`,
		`{"a":1.5E-3}`, `{"a":-12}`, `{"a":"\/"}`, `{"a":"unterminated}`, `{"a":{"b":[true,false,null,"s",{}]},"c":[]}`,
	}
	for _, in := range inputs {
		var v map[string]any
		want := json.Unmarshal([]byte(in), &v) == nil
		var keys []string
		got := scanObject([]byte(in), func(k, _ []byte) { keys = append(keys, string(k)) }) == nil
		assert.Equal(t, want, got, "%q", in)
		if want && got {
			assert.Len(t, keys, len(v), in)
		}
	}
}

func BenchmarkScanObject(b *testing.B) {
	path := os.Getenv("ERRLOGD_BENCH_EVENT")
	if path == "" {
		b.Skip("ERRLOGD_BENCH_EVENT not set")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	for i := 0; i < b.N; i++ {
		if err := scanObject(raw, func(k, v []byte) {}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSpecialMask: the eight-byte mask's lowest mark is the first byte
// the byte table calls special (none: no mark), for every byte value at
// every position among eight kinds of other bytes, for two special bytes
// in every pair of positions, and for a million random words.
func TestSpecialMask(t *testing.T) {
	first := func(v uint64) int {
		for i := 0; i < 8; i++ {
			if special[byte(v>>(8*i))] {
				return i
			}
		}
		return 8
	}
	check := func(v uint64) {
		t.Helper()
		m := specialMask(v)
		if got := bits.TrailingZeros64(m) / 8; got != first(v) {
			t.Fatalf("%#016x: mask %#016x, first special byte %d, want %d", v, m, got, first(v))
		}
	}
	word := func(fill byte, at map[int]byte) uint64 {
		var v uint64
		for i := 0; i < 8; i++ {
			b, ok := at[i]
			if !ok {
				b = fill
			}
			v |= uint64(b) << (8 * i)
		}
		return v
	}
	for _, fill := range []byte{'a', 0x7f, 0x80, 0xff, ' ', '#', '[', ']'} {
		check(word(fill, nil))
		for pos := 0; pos < 8; pos++ {
			for c := 0; c < 256; c++ {
				check(word(fill, map[int]byte{pos: byte(c)}))
			}
			for pos2 := pos + 1; pos2 < 8; pos2++ {
				for _, pair := range [][2]byte{{'"', '\\'}, {0, '"'}, {0x1f, 0}, {'\\', 0x01}, {0x80, '"'}, {0x20, 0x1f}} {
					check(word(fill, map[int]byte{pos: pair[0], pos2: pair[1]}))
				}
			}
		}
	}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 1_000_000; i++ {
		check(r.Uint64())
	}
}

// scanCorpus is valid JSON of every shape the scanner walks: the
// recorded sentry-go events, an event as errlogd bench makes them, and
// nesting at the depth limit.
func scanCorpus(t testing.TB) []string {
	corpus := []string{
		`{}`, ` {	"a" : [ 1 , -0.5e+10 , { "c" : null } ] ,"b":{ },"c":[ ] } ` + "\r\n",
		`{"a":"x\"y\\u00e9\n\/\b\f\r\t","b":"é—😀","c":"` + strings.Repeat("long plain text ", 9) + `","d":["", "1234567", "12345678", "123456789"]}`,
		`{"n":[0,-0,1,12,-12,1.5,0.25e3,1E-3,-9e+99,123456789012345678901234567890],"t":[true,false,null],"e":[[],{},[[]],{"a":{}}]}`,
		`{"a":` + strings.Repeat("[", 999) + strings.Repeat("]", 999) + `}`,
		`{"a":` + strings.Repeat("[", 999) + `1` + strings.Repeat("]", 999) + `}`,
		`{"a":` + strings.Repeat(`{"b":`, 999) + `1` + strings.Repeat("}", 999) + `}`,
		`{"a":` + strings.Repeat(`[{"b":`, 499) + `[1]` + strings.Repeat("}]", 499) + `}`,
		`{"a":` + strings.Repeat(`[{"b":`, 500) + `1` + strings.Repeat("}]", 500) + `}`,
		`{"a":` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + `}`,
		`{"a":` + strings.Repeat("[", 1000) + `1` + strings.Repeat("]", 1000) + `}`,
	}
	files, _ := filepath.Glob("testdata/*.envelope")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		env, err := Envelope(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range env.Items {
			corpus = append(corpus, string(it.Payload))
		}
	}
	if len(files) == 0 {
		t.Fatal("no testdata envelopes")
	}
	return append(corpus, benchShapedEvent(8))
}

// benchShapedEvent is an event shaped as errlogd bench's generator
// makes them (an exception with frames and source lines, modules,
// breadcrumbs), with n breadcrumbs.
func benchShapedEvent(n int) string {
	frame := func(i int) map[string]any {
		return map[string]any{"function": "(*Svc).Create" + strconv.Itoa(i), "module": "github.com/acme/shop/internal/orders",
			"abs_path": "/app/internal/orders/create.go", "lineno": 20 + i, "in_app": i%2 == 0,
			"pre_context": []string{"\tctx, span := tracer.Start(ctx, \"Create\")", "\tdefer span.End()"}, "context_line": "\trow, err := s.db.Exec(ctx, q, req.ID)"}
	}
	var frames, crumbs []map[string]any
	for i := 0; i < 6; i++ {
		frames = append(frames, frame(i))
	}
	for i := 0; i < n; i++ {
		crumbs = append(crumbs, map[string]any{"category": "http", "level": "info", "timestamp": "2026-01-01T00:00:00.037Z",
			"data": map[string]any{"url": "https://api.example.net/v2/cart/" + strconv.Itoa(i*7919), "status_code": 200 + i, "ok": i%3 == 0}})
	}
	ev := map[string]any{
		"event_id": "b6f57afa3cca4f5a9c05ca38af9781fe", "timestamp": "2026-11-21T23:59:47.091027Z", "level": "error", "platform": "go",
		"exception": []map[string]any{{"type": "*pq.Error", "value": "Create: order <cart> & \"stock\" (id 42)", "stacktrace": map[string]any{"frames": frames},
			"mechanism": map[string]any{"type": "generic", "handled": true}}},
		"modules":     map[string]string{"github.com/a/b": "v1.2.3", "github.com/c/d": "v0.0.0-20240101000000-abcdef012345"},
		"contexts":    map[string]any{"runtime": map[string]any{"name": "go", "go_maxprocs": 2, "load": 0.75}, "trace": map[string]any{"trace_id": "0123456789abcdef0123456789abcdef"}},
		"tags":        map[string]string{"region": "eu"},
		"user":        map[string]any{"id": "42", "ip_address": "192.0.2.1"},
		"extra":       map[string]any{"attempt": 3, "note": "café\u2028\u0001"},
		"breadcrumbs": map[string]any{"values": crumbs},
	}
	b, _ := json.Marshal(ev)
	return string(b)
}

// TestScanObjectAgreesWithRecursiveScanner: on valid JSON and on every
// truncation and one-byte change, deletion and insertion of it,
// scanObject reports the same members and the same error, word for word
// (the offset of the first bad byte), as the recursive scanner it
// replaced (scanref_test.go).
func TestScanObjectAgreesWithRecursiveScanner(t *testing.T) {
	type member struct{ k, v string }
	run := func(scan func([]byte, func(k, v []byte)) error, in []byte) ([]member, string) {
		var ms []member
		err := scan(in, func(k, v []byte) { ms = append(ms, member{string(k), string(v)}) })
		if err != nil {
			return ms, err.Error()
		}
		return ms, ""
	}
	check := func(in []byte) {
		t.Helper()
		wantMs, wantErr := run(refScanObject, in)
		gotMs, gotErr := run(scanObject, in)
		if gotErr != wantErr || !slices.Equal(gotMs, wantMs) {
			t.Fatalf("%q:\ngot  %q %q\nwant %q %q", in, gotErr, gotMs, wantErr, wantMs)
		}
	}
	bytes := []byte("\"\\{}[],: \t\n0-+.eEtfnu1a;\x00\x1f\x7f\xff")
	for _, doc := range scanCorpus(t) {
		in := []byte(doc)
		_, err := run(refScanObject, in)
		if err != "" && err != "JSON nested too deep" {
			t.Fatalf("corpus %.80q is invalid: %s", doc, err)
		}
		check(in)
		// Every edit of a short document; of a long one, those near
		// where the scanner changes state (its first and last bytes
		// and those at random).
		r := rand.New(rand.NewSource(int64(len(in))))
		positions := make([]int, 0, len(in)+1)
		for at := 0; at <= len(in); at++ {
			if len(in) < 400 || at < 100 || at > len(in)-100 || r.Intn(40) == 0 {
				positions = append(positions, at)
			}
		}
		for _, at := range positions {
			check(in[:at])
			if at == len(in) {
				continue
			}
			for _, c := range bytes {
				if c != in[at] {
					check(splice(in, at, 1, c))
				}
			}
			check(splice(in, at, 1))
			check(splice(in, at, 0, bytes[r.Intn(len(bytes))]))
		}
	}
}

// splice is a copy of b with del bytes at at replaced by ins.
func splice(b []byte, at, del int, ins ...byte) []byte {
	out := append([]byte{}, b[:at]...)
	out = append(out, ins...)
	return append(out, b[at+del:]...)
}
