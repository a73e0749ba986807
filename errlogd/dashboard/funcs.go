package dashboard

import (
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/errlog/errlog/errlogd/store"
)

var funcs = template.FuncMap{
	"rel":          relTime,
	"exact":        func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"iso":          func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"compact":      compact,
	"formatParams": store.FormatParams,
	"num":          thousands,
	"short":        func(s string, n int) string { return shorten(s, n) },
	"itoa":         func(i int64) string { return strconv.FormatInt(i, 10) },
	"add":          func(a, b int) int { return a + b },
	"sub":          func(a, b int) int { return a - b },
	"at":           func(now, t time.Time) whenArg { return whenArg{now, t} },
	"events":       func(n int64) string { return plural(n, "event") },
}

// relTime says how long before now t was: "just now", "5 min ago",
// "3 h ago", "12 d ago", else the date.
func relTime(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 0:
		return "in the future"
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " min ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + " h ago"
	case d < 90*24*time.Hour:
		return strconv.Itoa(int(d/(24*time.Hour))) + " d ago"
	}
	return t.UTC().Format("2 Jan 2006")
}

// compact writes a count in at most four characters: 987, 1.2k, 34k, 5.6M.
func compact(n int64) string {
	switch {
	case n < 1000:
		return strconv.FormatInt(n, 10)
	case n < 10000:
		return strconv.FormatFloat(float64(n)/1000, 'f', 1, 64) + "k"
	case n < 1000000:
		return strconv.FormatInt(n/1000, 10) + "k"
	case n < 10000000:
		return strconv.FormatFloat(float64(n)/1e6, 'f', 1, 64) + "M"
	}
	return strconv.FormatInt(n/1000000, 10) + "M"
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return "-" + thousands(-n)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// whenArg is the "when" template's argument: a time and the clock's now.
type whenArg struct{ Now, T time.Time }

// plural writes "1 event", "2,345 events".
func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return thousands(n) + " " + word + "s"
}
