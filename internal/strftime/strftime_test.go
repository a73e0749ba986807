package strftime

import (
	"testing"
	"time"

	"github.com/errlog/errlog/internal/cpython"
)

func TestAppend(t *testing.T) {
	// Saturday 2024-01-06 07:08:09.010 UTC: day 6 of the year, ISO week 1.
	tm := time.Date(2024, 1, 6, 7, 8, 9, 10e6, time.UTC)
	tests := map[string]string{
		"%Y-%m-%d %H:%M:%S": "2024-01-06 07:08:09",
		"%y %b %B %a %A":    "24 Jan January Sat Saturday",
		"%p %I %j %z %Z":    "AM 07 006 +0000 UTC",
		"%e|%k|%l|%C|%u|%w": " 6| 7| 7|20|6|6",
		"%U %W %G %V %g":    "00 01 2024 01 24",
		"%c":                "Sat Jan  6 07:08:09 2024",
		"%x %X %D %T %F %R": "01/06/24 07:08:09 01/06/24 07:08:09 2024-01-06 07:08",
		"%r %P %h %s":       "07:08:09 AM am Jan 1704524889",
		"%n%t%%":            "\n\t%",
		"%Q %Ey %":          "%Q 24 %",
		"%f":                "010000",
		"":                  "",
	}
	for layout, want := range tests {
		l := Compile(layout)
		if got := string(l.Append(nil, tm)); got != want {
			t.Errorf("strftime %q = %q, want %q", layout, got, want)
		}
		if sub := l.Subsecond(); sub != (layout == "%f") {
			t.Errorf("Compile(%q).Subsecond() = %v", layout, sub)
		}
	}
}

// TestAppendPython compares every directive with CPython's time.strftime
// over dates that move the week numbers, the 12-hour clock and the ISO year.
func TestAppendPython(t *testing.T) {
	const layout = "%a %A %b %B %d %H %I %j %m %M %p %S %y %Y %z %Z %% %c|%x|%X|%D|%T|%F|%e|%R|%r|%s|%u|%w|%U|%W|%G|%V|%g|%C|%k|%l|%h|%P|%Q|%Ey|%Od"
	matchPython(t, layout, "localtime", []time.Time{
		time.Date(2024, 1, 6, 7, 8, 9, 0, time.UTC),
		time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC),     // Friday: ISO year 2020
		time.Date(2019, 12, 30, 12, 30, 0, 0, time.UTC), // Monday: ISO year 2020
		time.Date(2000, 2, 29, 23, 59, 59, 0, time.UTC),
		time.Date(1999, 12, 31, 13, 1, 2, 0, time.UTC),
		time.Date(2026, 11, 27, 16, 0, 0, 0, time.UTC),
	})
}

// matchPython checks layout against CPython's time.strftime of each of
// times, as Python's time.<convert> (localtime, gmtime) gives it.
func matchPython(t *testing.T, layout, convert string, times []time.Time) {
	t.Helper()
	var secs []int64
	for _, tm := range times {
		secs = append(secs, tm.Unix())
	}
	script := `
import json, sys, time
json.dump([time.strftime(sys.argv[1], time.` + convert + `(s)) for s in json.load(sys.stdin)], sys.stdout)
`
	var want []string
	cpython.Run(t, script, secs, &want, layout)
	if len(want) != len(times) {
		t.Fatalf("python3 answered %q", want)
	}
	l := Compile(layout)
	for i, tm := range times {
		if got := string(l.Append(nil, tm)); got != want[i] {
			t.Errorf("%v:\n  go %q\n  py %q", tm, got, want[i])
		}
	}
}

// glibc's flags and field widths, which Python's time.strftime (and so
// logging's datefmt) has on Linux: "%-d" and "%-I" are common in Python
// date formats, and were printed as they are.
func TestAppendFlagsPython(t *testing.T) {
	const layout = "%-d %_d %0e %-e %-H %_H %-I %-l %_l %-k %-j %_j %-m %-M %-S|%^a %^A %^b %^B %^p %#p %#a %#A %#b %^h %#h %^P|" +
		"%10A|%-10A|%_10A|%010A|%5d|%_5d|%-5d|%05e|%3Y|%6Y|%-Y|%_Y|%-y %-C %-s %-u %-w %-U %-V %-G %-g|%^-d %-^a %-D %-q %Ey %-Ey %E-y %-f %O-d %-"
	times := []time.Time{
		time.Date(2024, 1, 6, 7, 8, 9, 0, time.UTC),
		time.Date(2024, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2000, 10, 1, 0, 0, 0, 0, time.UTC),
	}
	matchPython(t, layout, "gmtime", times)
	l := Compile(layout)
	buf := make([]byte, 0, 512)
	if n := testing.AllocsPerRun(100, func() { buf = l.Append(buf[:0], times[0]) }); n != 0 {
		t.Errorf("Append with flags allocates %v times", n)
	}
}
