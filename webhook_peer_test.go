package errlog

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWebhookNotifierRedirectGET: a receiver that answers the POST
// with a 301/302/303 (http to https, a trailing slash) makes Go re-send
// a bodyless GET; its 200 counted as delivered, and the notice is lost
// without a word.
func TestWebhookNotifierRedirectGET(t *testing.T) {
	var mu sync.Mutex
	var got []string
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" "+string(b[:min(len(b), 20)]))
		mu.Unlock()
		if r.URL.Path == "/hook" {
			http.Redirect(w, r, srv.URL+"/hook/", http.StatusMovedPermanently)
			return
		}
		w.Write([]byte("<html>a page</html>"))
	}))
	defer srv.Close()
	err := NewWebhookNotifier(srv.URL+"/hook").Notify(context.Background(), mailEvent("boom"))
	mu.Lock()
	t.Logf("receiver saw %q", got)
	mu.Unlock()
	assert.Error(t, err, "the notice never reached the receiver, yet Notify says delivered")
}

// TestWebhookNotifierRedirectOtherHost: a 307/308 to another host
// re-sends the masked event and every custom Header (an API key: only
// Authorization is dropped by net/http) to that host. errlogd's webhooks
// refuse it; the library's follow it.
func TestWebhookNotifierRedirectOtherHost(t *testing.T) {
	var mu sync.Mutex
	var stolen []http.Header
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		stolen = append(stolen, r.Header.Clone())
		mu.Unlock()
	}))
	defer other.Close()
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect)
	}))
	defer hook.Close()
	w := NewWebhookNotifier(hook.URL + "/hook")
	w.Header = http.Header{"X-Api-Key": {"k3y"}}
	_ = w.Notify(context.Background(), mailEvent("boom"))
	mu.Lock()
	defer mu.Unlock()
	if assert.Empty(t, stolen, "the event and the API key went to another host") {
		return
	}
	t.Logf("other host got X-Api-Key=%q", stolen[0].Get("X-Api-Key"))
}

// TestWebhookNotifierSlackText: the "text" line is what Slack and
// Mattermost show, and there "<!channel>", "<@U123>" and "<url|label>"
// are commands: an error message carrying user input pinged the whole
// channel, or showed a link under false text. errlogd's slack format
// escapes &, < and >; the library's webhook did not.
func TestWebhookNotifierSlackText(t *testing.T) {
	var mu sync.Mutex
	var text string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct{ Text string }
		json.NewDecoder(r.Body).Decode(&p)
		mu.Lock()
		text = p.Text
		mu.Unlock()
	}))
	defer srv.Close()
	ev := mailEvent("bad name <!channel> see <https://evil.example/login|your account>")
	ev.Exception = nil
	ev.Logentry = &event.Logentry{Formatted: "bad name <!channel> see <https://evil.example/login|your account>"}
	require.NoError(t, NewWebhookNotifier(srv.URL).Notify(context.Background(), ev))
	mu.Lock()
	defer mu.Unlock()
	t.Logf("text: %q", text)
	assert.NotContains(t, text, "<!channel>")
	assert.NotContains(t, text, "<https://evil.example/login|")
}

// TestFlushWhileHandlerCollected: the application's last use of a
// Handler is its Flush (h.Flush(ctx) at the end of a job, with no
// slog.SetDefault holding it). Flush keeps no hold on h, so the
// collector may finalize it during the call: the finalizer's Close makes
// Flush skip the events still on their way to the notifier, and Flush
// returns nil with nothing delivered.
func TestFlushWhileHandlerCollected(t *testing.T) {
	release := make(chan struct{})
	var first sync.Once
	n := &recordingNotifier{}
	h := NewHandler(Options{Console: io.Discard, Notifiers: []Notifier{n}, QueueSize: 2,
		BeforeSend: func(ev *event.Event) *event.Event {
			first.Do(func() { <-release }) // a slow event build: the queue fills
			return ev
		}})
	c := h.c
	log := slog.New(h)
	for i := 0; i < 4; i++ {
		log.Error(fmt.Sprintf("job %d failed", i))
	}
	log = nil
	go func() {
		for i := 0; i < 100 && isOpen(c); i++ {
			time.Sleep(10 * time.Millisecond)
			runtime.GC()
		}
		close(release)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := h.Flush(ctx) // the last use of h
	got := len(n.got())
	t.Logf("Flush: %v; the notifier had %d events when it returned", err, got)
	if err == nil {
		assert.NotZero(t, got, "Flush returned nil before the notifier got anything")
	}
}
