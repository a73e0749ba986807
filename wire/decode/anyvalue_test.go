package decode

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jsonAny is the oracle of decodeAny: encoding/json's decoding into an
// any, numbers as json.Number.
func jsonAny(t testing.TB, v []byte) any {
	d := json.NewDecoder(bytes.NewReader(v))
	d.UseNumber()
	var x any
	require.NoError(t, d.Decode(&x), "%q", v)
	return x
}

// TestDecodeAnyAgreesWithEncodingJSON: decodeAny reads every document
// of the scanner's corpus, and each of its members' values, as
// encoding/json does; and unquote reads strings with every kind of
// escape, invalid UTF-8 and surrogate, paired or not, as it does.
func TestDecodeAnyAgreesWithEncodingJSON(t *testing.T) {
	for _, doc := range scanCorpus(t) {
		b := []byte(doc)
		if scanObject(b, func(_, v []byte) { assert.Equal(t, jsonAny(t, v), decodeAny(v), "%.200q", v) }) != nil {
			continue // too deep for scanObject
		}
		assert.Equal(t, jsonAny(t, bytes.TrimSpace(b)), decodeAny(bytes.TrimSpace(b)), "%.200q", doc)
	}
	pieces := []string{`a`, `é`, `😀`, `\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`, `\u0041`, `\u00e9`, `\u2028`, `\uFFFF`,
		`\uabcd`, `\uABCF`, `\u0a0A`, `\ud83d\ude00`, `\uD83D\uDE00`, `\ud83d`, `\ude00`, `\ud83d\u0041`, `\ud83d\ud83d\ude00`, `\udbff\udfff`, `\ud800\udc00`,
		"\xff", "\xc3", "\xe2\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x7f", " ", `{`, `[`}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 20000; i++ {
		var sb bytes.Buffer
		sb.WriteByte('"')
		for n := r.Intn(6); n > 0; n-- {
			sb.WriteString(pieces[r.Intn(len(pieces))])
		}
		sb.WriteByte('"')
		v := sb.Bytes()
		var want string
		require.NoError(t, json.Unmarshal(v, &want), "%q", v)
		require.Equal(t, want, unquote(v[1:len(v)-1]), "%q", v)
		obj := []byte(`{` + string(v) + `:1,` + string(v) + `:[` + string(v) + `,{"k":` + string(v) + `}]}`)
		require.Equal(t, jsonAny(t, obj), decodeAny(obj), "%q", obj)
	}
}

// FuzzDecodeAny: on any JSON object scanObject accepts, decodeAny reads
// what encoding/json reads (go test -fuzz FuzzDecodeAny ./wire/decode).
func FuzzDecodeAny(f *testing.F) {
	f.Add(`{"a":[1,-2.5e3,"x\u00e9\ud83d\ude00\ud800",{"b":null,"b":true}],"c":"\t\"\\\/"}`)
	f.Add("{\"a\":\"\xff\xfe\",\"\xc3\":{ } , \"d\" : [ ] }")
	f.Fuzz(func(t *testing.T, raw string) {
		b := []byte(raw)
		if scanObject(b, func(_, _ []byte) {}) != nil {
			return
		}
		b = bytes.TrimSpace(b)
		if want := jsonAny(t, b); !assert.Equal(t, want, decodeAny(b), "%q", raw) {
			t.FailNow()
		}
	})
}
