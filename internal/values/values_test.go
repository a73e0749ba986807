package values

import (
	"net/url"
	"strings"
	"testing"
)

// TestValueWalkersBoundItems: both walkers keep MaxItems elements of a
// slice, an array or a map and summarise the rest; the text walker used to
// print all of them.
func TestValueWalkersBoundItems(t *testing.T) {
	n := MaxItems + 500
	s := make([]int, n)
	var a [MaxItems + 500]int
	m := make(map[int]int, n)
	for i := 0; i < n; i++ {
		m[i] = i
	}
	for _, v := range []any{s, a} {
		txt := Text(v)
		if got := strings.Count(txt, " ") + 1; got != MaxItems+2 { // MaxItems elements, "…[500", "more]"
			t.Errorf("%T: %d fields in text", v, got)
		}
		if !strings.HasSuffix(txt, " …[500 more]]") {
			t.Errorf("%T: text ends %q", v, txt[len(txt)-30:])
		}
		js, ok := JSON(v).([]any)
		if !ok || len(js) != MaxItems+1 || js[MaxItems] != "…[500 more]" {
			t.Errorf("%T: JSON has %d elements, last %v", v, len(js), js[len(js)-1])
		}
	}
	txt := Text(m)
	if got := strings.Count(txt, ":"); got != MaxItems {
		t.Errorf("map: %d entries in text, want %d", got, MaxItems)
	}
	if !strings.HasSuffix(txt, " …[500 more]]") {
		t.Errorf("map: text ends %q", txt[len(txt)-30:])
	}
	if js, ok := JSON(m).(map[string]any); !ok || len(js) != MaxItems+1 || js["…"] != "500 more" {
		t.Errorf("map: JSON has %d keys", len(js))
	}
	// Under the bound nothing is summarised.
	if got := Text([]int{1, 2, 3}); got != "[1 2 3]" {
		t.Errorf("small slice: %q", got)
	}
}

// A *url.URL and a url.URL are their URL, password masked, as text, as a
// JSON tree and inside a struct: a url.URL was walked as a struct of its
// parts.
func TestURLValues(t *testing.T) {
	u, err := url.Parse("https://carol:pw@example.com/p?page=2")
	if err != nil {
		t.Fatal(err)
	}
	want := "https://carol:" + Mask + "@example.com/p?page=2"
	type holder struct {
		P *url.URL
		V url.URL
	}
	for _, v := range []any{u, *u} {
		if got := Text(v); got != want {
			t.Errorf("Text(%T) = %q", v, got)
		}
		if got := JSON(v); got != want {
			t.Errorf("JSON(%T) = %#v", v, got)
		}
	}
	if got, ok := JSON(holder{P: u, V: *u}).(map[string]any); !ok || got["P"] != want || got["V"] != want {
		t.Errorf("JSON(struct) = %#v", JSON(holder{P: u, V: *u}))
	}
	if got := JSON((*url.URL)(nil)); got != nil {
		t.Errorf("JSON(nil *url.URL) = %#v", got)
	}
}
