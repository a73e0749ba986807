package errlog

import (
	"strings"
	"testing"
)

// TestValueWalkersBoundItems: both walkers keep maxItems elements of a
// slice, an array or a map and summarise the rest; the text walker used to
// print all of them.
func TestValueWalkersBoundItems(t *testing.T) {
	n := maxItems + 500
	s := make([]int, n)
	var a [maxItems + 500]int
	m := make(map[int]int, n)
	for i := 0; i < n; i++ {
		m[i] = i
	}
	for _, v := range []any{s, a} {
		txt := safeText(v)
		if got := strings.Count(txt, " ") + 1; got != maxItems+2 { // maxItems elements, "…[500", "more]"
			t.Errorf("%T: %d fields in text", v, got)
		}
		if !strings.HasSuffix(txt, " …[500 more]]") {
			t.Errorf("%T: text ends %q", v, txt[len(txt)-30:])
		}
		js, ok := jsonValue(v).([]any)
		if !ok || len(js) != maxItems+1 || js[maxItems] != "…[500 more]" {
			t.Errorf("%T: JSON has %d elements, last %v", v, len(js), js[len(js)-1])
		}
	}
	txt := safeText(m)
	if got := strings.Count(txt, ":"); got != maxItems {
		t.Errorf("map: %d entries in text, want %d", got, maxItems)
	}
	if !strings.HasSuffix(txt, " …[500 more]]") {
		t.Errorf("map: text ends %q", txt[len(txt)-30:])
	}
	if js, ok := jsonValue(m).(map[string]any); !ok || len(js) != maxItems+1 || js["…"] != "500 more" {
		t.Errorf("map: JSON has %d keys", len(js))
	}
	// Under the bound nothing is summarised.
	if got := safeText([]int{1, 2, 3}); got != "[1 2 3]" {
		t.Errorf("small slice: %q", got)
	}
}
