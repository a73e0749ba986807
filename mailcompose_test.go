package errlog

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"
)

// TestComposeMail: a server's mail of a stored event is error mail: the
// subject, the group's thread, text and HTML parts, and the link.
func TestComposeMail(t *testing.T) {
	ev := mailEvent("charge failed")
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	id, msg, err := ComposeMail(ev, "abc123", 1, ComposeOptions{From: "errlogd <e@example.com>", To: []string{"ops@example.com"},
		Now: now, Headline: "New error.", Link: "https://errors.example.com/groups/7"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Header.Get("Message-ID"); got != id {
		t.Errorf("Message-ID %q, returned %q", got, id)
	}
	for h, want := range map[string]string{
		"In-Reply-To": "<group-abc123@errlog>", "References": "<group-abc123@errlog>",
		"X-Errlog-Group": "abc123", "To": "ops@example.com",
	} {
		if got := m.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	if s := m.Header.Get("Subject"); !strings.HasPrefix(s, "[errlog] ERROR: charge failed") {
		t.Errorf("subject %q", s)
	}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	r := multipart.NewReader(m.Body, params["boundary"])
	var types []string
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		types = append(types, p.Header.Get("Content-Type"))
		if !strings.Contains(string(b), "New error. Details: https://errors.example.com/groups/7") {
			t.Errorf("%s part lacks the headline and link:\n%s", p.Header.Get("Content-Type"), b)
		}
	}
	if len(types) != 2 {
		t.Errorf("parts %v, want text and HTML", types)
	}

	_, msg, err = ComposeDigest([]DigestItem{{Title: "a failed", Reason: "new", Level: "error", Count: 1, Last: now},
		{Title: "b failed", Reason: "regression", Level: "error", Count: 3, Last: now}}, ComposeOptions{From: "e@example.com", To: []string{"ops@example.com"}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	m, _ = mail.ReadMessage(bytes.NewReader(msg))
	if s := m.Header.Get("Subject"); s != "[errlog] ERROR: 2 errors to look at" {
		t.Errorf("digest subject %q", s)
	}
	if _, _, err := ComposeMail(ev, "", 1, ComposeOptions{}); err == nil {
		t.Error("no From and To: want an error")
	}
}
