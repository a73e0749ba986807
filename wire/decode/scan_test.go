package decode

import (
	"encoding/json"
	"math/bits"
	"math/rand"
	"os"
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
