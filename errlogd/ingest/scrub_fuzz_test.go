package ingest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/errlog/errlog/wire/decode"
)

// FuzzScrub: whatever the event, scrubbing it where the summary found
// something neither panics nor fails on JSON the summary accepted, and
// what it writes is JSON that decodes to an event again.
func FuzzScrub(f *testing.F) {
	for _, s := range []string{
		`{"message":"m","extra":{"password":"x"}}`,
		`{"request":{"query_string":"a=1&access_token=x","headers":[["Authorization","Bearer x"]]}}`,
		`{"exception":{"values":[{"type":"E","value":"v","stacktrace":{"frames":[{"vars":{"pwd":"x","value":"postgres://u:p@h"}}]}}]}}`,
		`{"exception":[{"stacktrace":"frames"}],"threads":"x","stacktrace":[1],"logentry":"m","tags":[["token",{"a":[]}]]}`,
		`{"sentry.interfaces.Http":"x","_meta":{"password":1},"user":{"ssn":null,"session_id":[]}}`,
	} {
		f.Add([]byte(s))
	}
	paths, _ := filepath.Glob("testdata/*-event.json")
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	sc := NewScrubber(nil)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, found, err := sc.summary(b)
		if err != nil || !found.Any() {
			return
		}
		out, _, err := sc.scrub(b, found)
		if err != nil {
			t.Fatalf("scrub failed on JSON the summary took: %v\n%s", err, b)
		}
		if !json.Valid(out) {
			t.Fatalf("not JSON: %s\nfrom %s", out, b)
		}
		if _, err := decode.Summary(out); err != nil {
			t.Fatalf("the scrubbed event does not decode: %v\n%s", err, out)
		}
	})
}
