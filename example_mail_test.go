package errlog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"

	"github.com/errlog/errlog"
)

// Error mail in development: each mail is an .eml file in Dir, which any
// mail client opens. A storm of 500 identical errors gives two mails: the
// first at once, and a digest of the other 499 at the end of the window
// (here, at Close).
func ExampleMailOptions() {
	dir, err := os.MkdirTemp("", "errlog-mail")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	h := errlog.NewHandler(errlog.Options{
		Console: io.Discard,
		Mail: &errlog.MailOptions{
			Dir: dir, // or Addr: "smtp.example.com:587", Username, Password
			To:  []string{"oncall@example.com"},
		},
	})
	logger := slog.New(h)
	for i := 0; i < 500; i++ {
		logger.Error("payment failed", "err", errors.New("card declined"), "order", i)
	}
	h.Close(context.Background()) // sends the pending digest

	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		m, _ := mail.ReadMessage(bytes.NewReader(b))
		subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		fmt.Printf("%s [%s of %s]\n", subject, m.Header.Get("X-Errlog-Kind"), m.Header.Get("X-Errlog-Count"))
	}
	// Output:
	// [errlog] ERROR: payment failed: card declined (example_mail_test.go:41) [first of 1]
	// Re: [errlog] ERROR: payment failed: card declined (example_mail_test.go:41) [digest of 499]
}

// A Slack-style webhook, throttled as mail is. Its JSON has a "text" line
// for chats, and the whole event.
func ExampleNewWebhookNotifier() {
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct {
			Kind  string `json:"kind"`
			Count int    `json:"count"`
			Title string `json:"title"`
		}
		json.NewDecoder(r.Body).Decode(&p)
		fmt.Printf("%s of %d: %s\n", p.Kind, p.Count, p.Title)
	}))
	defer hook.Close()

	h := errlog.NewHandler(errlog.Options{
		Console:   io.Discard,
		Notifiers: []errlog.Notifier{errlog.NewWebhookNotifier(hook.URL + "/services/T000/B000/XXXX")},
	})
	logger := slog.New(h)
	for i := 0; i < 3; i++ {
		logger.Error("disk almost full", "free_mb", 12)
	}
	h.Close(context.Background())
	// Output:
	// first of 1: disk almost full
	// digest of 2: disk almost full
}
