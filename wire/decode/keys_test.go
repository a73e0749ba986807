package decode

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// jsonKeys returns the top-level keys of the object b as encoding/json
// reads them, and false if b is not an object.
func jsonKeys(b []byte) ([]string, bool) {
	d := json.NewDecoder(bytes.NewReader(b))
	t, err := d.Token()
	if err != nil || t != json.Delim('{') {
		return nil, false
	}
	var keys []string
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return nil, false
		}
		keys = append(keys, t.(string))
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return nil, false
		}
	}
	return keys, true
}

// FuzzKeys: the keys scanObject and scanner.members read (the oracle of
// scanref_test.go decodes its keys with the same keyText, so it cannot
// check them) are encoding/json's, escapes and all; a key of invalid
// UTF-8 without escapes is left as sent, where encoding/json writes
// U+FFFD.
func FuzzKeys(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"event\u005fid":"x","b\"":2}`, `{"\ud83d\ude00":1,"k\u00e9y":[1]}`, `{"abcdefghijklmnop":1,"x\\y":2}`, `{"\u0000":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		var got []string
		var vals [][]byte
		err := scanObject(b, func(k, v []byte) { got = append(got, string(k)); vals = append(vals, v) })
		want, ok := jsonKeys(b)
		if !ok {
			if err == nil {
				t.Fatalf("scanObject accepted non-object %q", b)
			}
			return
		}
		if err != nil {
			t.Fatalf("scanObject %q: %v", b, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %q vs %q", b, got, want)
		}
		for i := range got {
			if got[i] != want[i] && utf8.ValidString(got[i]) {
				t.Fatalf("%q: key %d %q vs %q", b, i, got[i], want[i])
			}
		}
		// members on the stack scanner
		s := scanner{b: b}
		s.ws()
		var got2 []string
		_ = s.members(func(k []byte) error { got2 = append(got2, string(k)); return s.value(1) })
		if len(got2) != len(got) {
			t.Fatalf("members %q: %q vs %q", b, got2, got)
		}
		for i := range got {
			if got2[i] != got[i] {
				t.Fatalf("members %q: %q vs %q", b, got2, got)
			}
		}
	})
}
