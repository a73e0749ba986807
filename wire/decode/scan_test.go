package decode

import (
	"encoding/json"
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

// TestHasSpecial: the eight-byte test agrees with the byte table on every
// byte value at every position, and on a million random words.
func TestHasSpecial(t *testing.T) {
	anySpecial := func(v uint64) bool {
		for i := 0; i < 8; i++ {
			if special[byte(v>>(8*i))] {
				return true
			}
		}
		return false
	}
	for _, fill := range []byte{'a', 0x7f, 0x80, 0xff, ' ', '#', '[', ']'} {
		for pos := 0; pos < 8; pos++ {
			for c := 0; c < 256; c++ {
				var v uint64
				for i := 0; i < 8; i++ {
					b := fill
					if i == pos {
						b = byte(c)
					}
					v |= uint64(b) << (8 * i)
				}
				if hasSpecial(v) != anySpecial(v) {
					t.Fatalf("fill %#x, byte %#x at %d: hasSpecial %v", fill, c, pos, hasSpecial(v))
				}
			}
		}
	}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 1_000_000; i++ {
		v := r.Uint64()
		if hasSpecial(v) != anySpecial(v) {
			t.Fatalf("%#016x: hasSpecial %v", v, hasSpecial(v))
		}
	}
}
