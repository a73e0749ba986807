package errlog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/clock"
	"github.com/errlog/errlog/internal/delivery"
	"github.com/errlog/errlog/mail"
	"github.com/errlog/errlog/wire"
)

// Notifiers and ticketers, as flask-error-monitor's notification and
// ticketing mixins: each gets its own delivery queue and worker, so that a
// slow one holds up neither mail nor the others, and the application never
// waits on any of them.

// A Notice is one error mail or notification after throttling (package
// mail documents its fields). Notifiers find the Notice of each call in
// its context (NoticeFromContext), or are given it (NoticeNotifier).
type Notice = mail.Notice

// NoticeKind says why a Notice was sent.
type NoticeKind = mail.NoticeKind

// The kinds of notice.
const (
	// NoticeFirst is the first occurrence of a group, sent at once.
	NoticeFirst = mail.NoticeFirst
	// NoticeDigest counts the repeats of a group over a window.
	NoticeDigest = mail.NoticeDigest
	// NoticeSummary counts the errors the hourly cap held back.
	NoticeSummary = mail.NoticeSummary
)

// NoticeGroup is one group of a summary.
type NoticeGroup = mail.NoticeGroup

type noticeKey struct{}

// NoticeFromContext returns the Notice a Notifier is called for: whether
// the event is a first occurrence or the latest of a digest, and how many
// occurrences it stands for.
func NoticeFromContext(ctx context.Context) (*Notice, bool) {
	n, ok := ctx.Value(noticeKey{}).(*Notice)
	return n, ok
}

func contextWithNotice(ctx context.Context, n *Notice) context.Context {
	return context.WithValue(ctx, noticeKey{}, n)
}

// notifyAttempts is how many times a notice is tried before it is given
// up.
const notifyAttempts = 5

// notifyQueue runs one Notifier or Ticketer behind a delivery.Queue. The
// notices themselves stay in memory (notifiers are not spooled), keyed by
// the item's ID, so that a custom Notifier sees the very event the
// application logged.
type notifyQueue struct {
	notifier Notifier
	ticketer Ticketer
	env      sinkEnv
	q        *delivery.Queue

	mu      sync.Mutex
	notices map[string]*Notice
	seq     atomic.Uint64
	dropped atomic.Int64
}

func newNotifyQueue(n Notifier, t Ticketer, th ThrottleOptions, env sinkEnv) (*notifyQueue, error) {
	nq := &notifyQueue{notifier: n, ticketer: t, env: env, notices: map[string]*Notice{}}
	name := "notify"
	if t != nil {
		name = "ticket"
	}
	var err error
	nq.q, err = delivery.New(delivery.Options{
		Name:       name,
		Send:       nq.send,
		QueueSize:  env.QueueSize,
		MinBackoff: th.MinBackoff,
		MaxBackoff: th.MaxBackoff,
		OnError:    env.OnError,
		Clock:      env.Clock,
	})
	if err != nil {
		return nil, err
	}
	return nq, nil
}

func (nq *notifyQueue) enqueue(n *Notice) {
	c := *n
	c.Dropped = int(nq.dropped.Swap(0))
	id := strconv.FormatUint(nq.seq.Add(1), 10)
	nq.mu.Lock()
	nq.notices[id] = &c
	nq.mu.Unlock()
	if !nq.q.Enqueue(delivery.Item{ID: id}) {
		nq.mu.Lock()
		delete(nq.notices, id)
		nq.mu.Unlock()
		nq.dropped.Add(int64(c.Dropped) + 1)
	}
}

// clockKey carries the Handler's clock to errlog's own notifiers (Webhook
// reads a Retry-After date by it).
type clockKey struct{}

// clockOf is the clock ctx carries, or the system's.
func clockOf(ctx context.Context) clock.Clock {
	if c, ok := ctx.Value(clockKey{}).(clock.Clock); ok && c != nil {
		return c
	}
	return clock.Real()
}

func (nq *notifyQueue) send(ctx context.Context, it delivery.Item) (err error) {
	nq.mu.Lock()
	n := nq.notices[it.ID]
	nq.mu.Unlock()
	if n == nil {
		return nil
	}
	defer func() {
		if err != nil && !delivery.IsPermanent(err) && it.Attempt+1 >= notifyAttempts {
			err = delivery.Permanent(fmt.Errorf("giving up after %d attempts: %w", it.Attempt+1, err))
		}
		if err == nil || delivery.IsPermanent(err) {
			nq.mu.Lock()
			delete(nq.notices, it.ID)
			nq.mu.Unlock()
		}
	}()
	ev := n.Event
	if ev == nil {
		ev = summaryEvent(n, nq.env)
	}
	ctx = contextWithNotice(ctx, n)
	ctx = context.WithValue(ctx, clockKey{}, nq.env.Clock)
	if nq.ticketer != nil {
		return nq.ticketer.RaiseTicket(ctx, ev)
	}
	if nn, ok := nq.notifier.(NoticeNotifier); ok {
		return nn.NotifyNotice(ctx, n)
	}
	return nq.notifier.Notify(ctx, ev)
}

// summaryEvent is the event a Notifier receives for a summary: a warning
// that says how many errors the hourly cap held back.
func summaryEvent(n *Notice, env sinkEnv) *event.Event {
	return &event.Event{
		EventID:     event.NewID(),
		Timestamp:   n.Last.UTC(),
		Level:       event.LevelWarning,
		Logger:      "errlog",
		Platform:    "go",
		Logentry:    &event.Logentry{Formatted: fmt.Sprintf("%d more errors not notified since %s", n.Count, n.Since.UTC().Format(time.RFC3339))},
		Fingerprint: []string{"errlog-summary"},
		Environment: env.Environment,
		Release:     env.Release,
		ServerName:  env.ServerName,
	}
}

// WebhookNotifier posts every notice as a JSON object to a URL: a chat
// webhook (the "text" field is what Slack, Mattermost and Rocket.Chat
// incoming webhooks show), a pager, or an endpoint of your own. It is
// throttled like mail: the first error of each group at once, then
// digests.
//
// The object has "text" (one line for a chat), "kind" ("first", "digest"
// or "summary"), "count", "total", "since", "last", "group", "title",
// "level", "culprit", "event_id", "environment", "release", "server_name"
// and the whole masked "event" in the Sentry event schema.
//
// A 2xx answer is success; 408 and 5xx are retried with backoff, 429
// after its Retry-After (a minute without one), up to five tries; any
// other answer is given up at once and reported.
type WebhookNotifier struct {
	// URL receives the POSTs. Required.
	URL string
	// Header is added to every request (an Authorization token).
	Header http.Header
	// Client sends the requests. Default: a client with a 10s timeout.
	Client *http.Client
	// SubjectPrefix starts the "text" line. Default DefaultSubjectPrefix.
	SubjectPrefix string
}

var _ Notifier = (*WebhookNotifier)(nil)

// NewWebhookNotifier returns a WebhookNotifier that posts to url.
func NewWebhookNotifier(url string) *WebhookNotifier {
	return &WebhookNotifier{URL: url}
}

var defaultWebhookClient = &http.Client{Timeout: 10 * time.Second}

// webhookPayload is what WebhookNotifier posts.
type webhookPayload struct {
	Text        string       `json:"text"`
	Kind        NoticeKind   `json:"kind"`
	Count       int          `json:"count"`
	Total       int          `json:"total,omitempty"`
	Since       time.Time    `json:"since"`
	Last        time.Time    `json:"last"`
	Group       string       `json:"group,omitempty"`
	Title       string       `json:"title"`
	Level       event.Level  `json:"level,omitempty"`
	Culprit     string       `json:"culprit,omitempty"`
	EventID     string       `json:"event_id"`
	Environment string       `json:"environment,omitempty"`
	Release     string       `json:"release,omitempty"`
	ServerName  string       `json:"server_name,omitempty"`
	Dropped     int          `json:"dropped,omitempty"`
	Event       *event.Event `json:"event"`
}

// Notify posts ev, with the Notice in ctx if there is one (there is when
// errlog calls it).
func (w *WebhookNotifier) Notify(ctx context.Context, ev *event.Event) error {
	n, ok := NoticeFromContext(ctx)
	if !ok {
		n = &Notice{Kind: NoticeFirst, Event: ev, Count: 1, Since: ev.Timestamp, Last: ev.Timestamp, Total: 1}
	}
	prefix := w.SubjectPrefix
	if prefix == "" {
		prefix = DefaultSubjectPrefix
	}
	p := webhookPayload{
		Kind: n.Kind, Count: n.Count, Total: n.Total, Since: n.Since, Last: n.Last, Group: n.GroupKey,
		Title: ev.Title(), Level: ev.Level, Culprit: ev.Culprit(), EventID: ev.EventID,
		Environment: ev.Environment, Release: ev.Release, ServerName: ev.ServerName,
		Dropped: n.Dropped, Event: ev,
	}
	level := "ERROR"
	if ev.Level != "" {
		level = strings.ToUpper(string(ev.Level))
	}
	title := chatText(p.Title)
	switch n.Kind {
	case NoticeDigest:
		unit := "times"
		if n.Count == 1 {
			unit = "time"
		}
		p.Text = fmt.Sprintf("%s%s: %s … and %d more %s since %s, last at %s", prefix, level, title, n.Count, unit,
			n.Since.UTC().Format("15:04 MST"), n.Last.UTC().Format("15:04 MST"))
	case NoticeSummary:
		p.Text = prefix + "WARNING: " + chatText(ev.Message())
	default:
		p.Text = prefix + level + ": " + title
		if loc := mail.Location(ev); loc != "" {
			p.Text += " (" + chatText(loc) + ")"
		}
	}
	body, err := json.Marshal(p)
	if err != nil {
		return delivery.Permanent(fmt.Errorf("errlog: webhook: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return delivery.Permanent(fmt.Errorf("errlog: webhook: URL: %w", unwrapURLError(err)))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "errlog/"+Version)
	for k, vs := range w.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	client := w.Client
	if client == nil {
		client = defaultWebhookClient
	}
	c := *client
	c.CheckRedirect = webhookRedirect(client.CheckRedirect)
	client = &c
	where := wire.RedactURL(w.URL)
	resp, err := client.Do(req)
	if err != nil {
		// The error text of net/http repeats the URL, whose path is often
		// the webhook's secret; say only where it went.
		return fmt.Errorf("errlog: webhook: POST %s: %w", where, unwrapURLError(err))
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusTooManyRequests:
		return delivery.RetryAfter(wire.ParseRetryAfter(resp.Header.Get("Retry-After"), clockOf(ctx).Now()),
			fmt.Errorf("errlog: webhook: POST %s: %s", where, resp.Status))
	case code == http.StatusRequestTimeout || code >= 500:
		return fmt.Errorf("errlog: webhook: POST %s: %s", where, resp.Status)
	default:
		return delivery.Permanent(fmt.Errorf("errlog: webhook: POST %s: %s", where, resp.Status))
	}
}

// unwrapURLError drops the *url.Error around a net/http error: its text
// repeats the whole URL, and a webhook's or a request bin's URL is its
// secret.
func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// chatText escapes what Slack, Mattermost and Rocket.Chat read as
// commands in a message's text: "<!channel>", "<@U123>" and
// "<url|label>" (a link under false text). They show the entities as the
// characters.
var chatText = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace

// webhookRedirect wraps a client's redirect policy (next; nil: Go's
// default) so that a webhook's POST is followed only on the host it was
// sent to, never from https to http, and never turned into a GET: Go
// re-sends a 307's or 308's body with every header but Authorization (a
// custom API key, the Referer with the webhook's secret path) to any
// host, and a 301, 302 or 303 becomes a GET without the body, whose 200
// counted as delivered.
func webhookRedirect(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		from := via[0].URL
		if req.URL.Host != from.Host || (from.Scheme == "https" && req.URL.Scheme != "https") {
			return fmt.Errorf("redirected to %s; not following a redirect to another host", wire.RedactURL(req.URL.String()))
		}
		if req.Method != via[0].Method {
			return fmt.Errorf("redirected to %s, which would re-send the POST as a %s without its body; not following", wire.RedactURL(req.URL.String()), req.Method)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
}
