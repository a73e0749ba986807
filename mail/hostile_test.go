package mail

import (
	"bytes"
	"mime"
	"strings"
	"testing"

	"github.com/errlog/errlog/event"
)

// Hostile subjects: CR/LF, non-ASCII, very long, a long file name.
func TestSubjectHeaders(t *testing.T) {
	for _, msg := range []string{
		"boom\r\nBcc: evil@example.com\r\n\r\nbody",
		strings.Repeat("日本語のエラー", 40),
		strings.Repeat("x", 3000),
		strings.Repeat("ü", 200) + "\nX-Evil: 1",
		"=?UTF-8?q?=0D=0ABcc:_evil@example.com?=",
	} {
		c := testComposer(t)
		c.SubjectPrefix = "[prod \u00e9\u00e9] "
		ev := testEvent(msg)
		ev.Exception[0].Value = msg
		ev.Exception[0].Stacktrace.Frames[1].Filename = strings.Repeat("ドキュメント", 30) + ".go"
		for _, kind := range []NoticeKind{NoticeFirst, NoticeDigest} {
			m, err := c.Compose(&Notice{Kind: kind, GroupKey: "0123456789abcdef0123456789abcdef", Event: ev, Count: 3, Total: 4}, Extra{})
			if err != nil {
				t.Fatal(err)
			}
			head, _, _ := bytes.Cut(m.Data, []byte("\r\n\r\n"))
			for _, l := range strings.Split(string(head), "\r\n") {
				if len(l) > 998 {
					t.Errorf("header line of %d bytes: %.80q", len(l), l)
				}
				if strings.HasPrefix(strings.ToLower(l), "bcc:") || strings.HasPrefix(l, "X-Evil") {
					t.Errorf("injected header %q", l)
				}
			}
			if bytes.ContainsAny(head, "\x00") || bytes.Contains(head, []byte("\r\n\r\n")) {
				t.Errorf("bad header block")
			}
			pm, _ := parts(t, m.Data)
			var dec mime.WordDecoder
			subj, err := dec.DecodeHeader(pm.Header.Get("Subject"))
			if err != nil {
				t.Fatalf("subject %q: %v", pm.Header.Get("Subject"), err)
			}
			if strings.ContainsAny(subj, "\r\n") {
				t.Errorf("decoded subject has a line break: %q", subj)
			}
			if n := len([]rune(subj)); n > 250 {
				t.Errorf("subject of %d runes: %q", n, subj)
			}
			t.Logf("%s: %q", kind, subj)
		}
	}
}

var _ = event.LevelError

func TestHTMLHostile(t *testing.T) {
	x := `"><script>alert(1)</script><img src=x onerror=alert(2)>' onmouseover='alert(3)`
	c := testComposer(t)
	c.Line = func(*event.Event) string { return x }
	ev := testEvent(x)
	ev.Level = event.Level(x)
	ev.Exception[0].Type = x
	ev.Exception[0].Value = x
	f := &ev.Exception[0].Stacktrace.Frames[1]
	f.Function, f.Module, f.AbsPath, f.ContextLine = x, x, x, x
	ev.Request = &event.Request{URL: "javascript:alert(1)//" + x, Method: x, QueryString: x,
		Headers: map[string]string{x: x}, Cookies: map[string]string{x: x}, Data: x, Env: map[string]string{x: x}}
	ev.User = &event.User{ID: x, Email: x, Data: map[string]any{x: x}}
	ev.Breadcrumbs = []event.Breadcrumb{{Level: event.Level(x), Category: x, Message: x, Data: map[string]any{x: x}}}
	ev.Extra = map[string]any{x: x}
	ev.Tags = map[string]string{x: x}
	ev.Contexts = map[string]map[string]any{x: {x: x}}
	ev.Environment, ev.Release, ev.ServerName, ev.Logger, ev.Transaction = x, x, x, x, x
	check := func(html string) {
		t.Helper()
		low := strings.ToLower(html)
		for _, bad := range []string{"<script", "<img", "href=\"javascript", "href=javascript"} {
			if strings.Contains(low, bad) {
				i := strings.Index(low, bad)
				t.Errorf("HTML has %q: …%s…", bad, html[max(0, i-80):min(len(html), i+80)])
			}
		}
	}
	for _, kind := range []NoticeKind{NoticeFirst, NoticeDigest} {
		m, err := c.Compose(&Notice{Kind: kind, GroupKey: "0123456789abcdef0123456789abcdef", Event: ev, Count: 2, Total: 3}, Extra{Headline: x, Link: "javascript:alert(1)"})
		if err != nil {
			t.Fatal(err)
		}
		_, p := parts(t, m.Data)
		if p["text/html"] == "" {
			t.Fatal("no HTML part")
		}
		check(p["text/html"])
	}
	m, err := c.Compose(&Notice{Kind: NoticeSummary, Count: 5, Groups: []NoticeGroup{{Key: x, Title: x, Count: 5}}}, Extra{})
	if err != nil {
		t.Fatal(err)
	}
	_, p := parts(t, m.Data)
	check(p["text/html"])
	m, err = c.Digest([]DigestItem{{GroupKey: x, Title: x, Level: x, Reason: x, Count: 1, Link: "javascript:alert(1)"}}, Extra{Headline: x, Link: "javascript:alert(2)"})
	if err != nil {
		t.Fatal(err)
	}
	_, p = parts(t, m.Data)
	check(p["text/html"])
}

// With no hourly cap (MaxPerHour < 0), a summary is still sent for the
// groups past the throttle's bound: its headline must not claim a cap of
// "-1 mails an hour".
func TestSummaryWithoutCap(t *testing.T) {
	o := ThrottleOptions{MaxPerHour: -1}
	th := NewThrottle(o)
	th.maxGroups = 2
	now := testComposer(t).Now()
	var notes []Notice
	for i := 0; i < 5; i++ {
		ev := testEvent("job " + string(rune('a'+i)) + " failed")
		ns, _ := th.Add(ev, "key"+string(rune('a'+i)), now)
		notes = append(notes, ns...)
	}
	notes = append(notes, th.Flush(now, true)...)
	c := testComposer(t)
	c.Throttle = o
	for i := range notes {
		if notes[i].Kind != NoticeSummary {
			continue
		}
		m, err := c.Compose(&notes[i], Extra{})
		if err != nil {
			t.Fatal(err)
		}
		_, p := parts(t, m.Data)
		if strings.Contains(p["text/plain"], "-1 mails") {
			t.Errorf("summary text: %s", strings.SplitN(p["text/plain"], "\n", 2)[0])
		}
		return
	}
	t.Fatal("no summary")
}
