package decode

import (
	"encoding/json"
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
