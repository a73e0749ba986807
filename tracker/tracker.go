// Package tracker is errlog's client for errlogd or any tracker that
// speaks the Sentry ingestion protocol (Sentry, GlitchTip, Bugsink): a
// Tracker sends events through a bounded queue with retries, rate limits
// and an optional disk spool, so that a dead tracker never blocks the
// application. errlog.Options.Tracker adds one to errlog's Handler, which
// gives it every event; New builds one on its own, and Test checks a DSN.
package tracker

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"net/http"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/clock"
	"github.com/errlog/errlog/internal/delivery"
	"github.com/errlog/errlog/internal/settings"
	"github.com/errlog/errlog/internal/trim"
	"github.com/errlog/errlog/internal/values"
	"github.com/errlog/errlog/internal/version"
	"github.com/errlog/errlog/wire"
)

// Options configure the tracker: errlogd or any service that speaks
// the Sentry ingestion protocol (Sentry, GlitchTip, Bugsink). Every field's
// zero value is its default; DSN or DebugURL must be set for anything to
// be sent.
type Options struct {
	// DSN is the tracker's Data Source Name,
	// scheme://key@host[:port][/path]/project (ERRLOG_DSN). Events are
	// posted to {path}/api/{project}/envelope/ as envelopes,
	// gzip-compressed from 32 KiB. Required unless DebugURL is set; ignored
	// in debug mode (errlog.Options.Debug).
	DSN string `json:"dsn" yaml:"dsn"`
	// DebugURL, when set, receives every event as plain uncompressed JSON
	// in a POST, request-bin style (ERRLOG_DEBUG_URL), in debug mode too.
	// Debug URL events are kept in memory only, never spooled. Error
	// messages show it as "https://*.example.net/…": a request bin's URL
	// is its token.
	DebugURL string `json:"debug_url" yaml:"debug_url"`

	// Environment, Release and ServerName, when set, replace errlog.Options'
	// values in the events this tracker sends. Default: errlog.Options' values.
	Environment string `json:"environment" yaml:"environment"`
	Release     string `json:"release" yaml:"release"`
	ServerName  string `json:"server_name" yaml:"server_name"`
	// SampleRate is the fraction of events sent, in (0, 1], as Sentry's
	// sample_rate. Default 1: every event.
	SampleRate float64 `json:"sample_rate" yaml:"sample_rate"`
	// BeforeSend, when set, sees each event before it is queued and
	// returns the event to send, or nil to drop it. The event is shared
	// with the other sinks: return a modified copy, never modify it.
	// It runs on errlog's delivery goroutine. Default: send as is.
	BeforeSend func(ev *event.Event) *event.Event `json:"-" yaml:"-"`

	// Timeout bounds each HTTP request. Default 30s.
	Timeout time.Duration `json:"timeout" yaml:"timeout"`
	// MinBackoff and MaxBackoff bound the wait between retries after a
	// network error, a timeout or a 5xx answer; it doubles with each
	// failure, with jitter. Defaults 1s and 5m. A 429 waits as long as
	// the tracker asks instead.
	MinBackoff time.Duration `json:"min_backoff" yaml:"min_backoff"`
	MaxBackoff time.Duration `json:"max_backoff" yaml:"max_backoff"`
	// SpoolDir keeps events on disk until the tracker acknowledges them,
	// across restarts. Default filepath.Join(errlog.Options.SpoolDir, "tracker"),
	// or no spool (memory only) when that is empty too. A directory
	// that cannot be used is reported, and the tracker goes on in memory.
	SpoolDir string `json:"spool_dir" yaml:"spool_dir"`
	// MaxSpoolBytes and MaxSpoolItems bound the spool; past them the
	// oldest events are evicted, counted and reported. Defaults 64 MiB
	// and 10000.
	MaxSpoolBytes int64 `json:"max_spool_bytes" yaml:"max_spool_bytes"`
	MaxSpoolItems int   `json:"max_spool_items" yaml:"max_spool_items"`
	// QueueSize bounds the events waiting in memory. Default
	// errlog.Options.QueueSize (1024). With a spool, events past it wait on
	// disk (up to MaxSpoolItems) instead of being dropped.
	QueueSize int `json:"queue_size" yaml:"queue_size"`

	// Transport makes the HTTP requests (a proxy, custom TLS roots, a
	// test double). Default: a clone of http.DefaultTransport, which
	// honours HTTPS_PROXY.
	Transport http.RoundTripper `json:"-" yaml:"-"`
	// OnError receives every delivery failure: the start of an outage,
	// events rejected by the tracker, events dropped or evicted. Default
	// errlog.Options.OnDeliveryError; for New, one line on stderr, at
	// most one a minute.
	OnError func(error) `json:"-" yaml:"-"`
}

// MaxEventBytes is the largest event JSON sent to a tracker: Sentry's
// limit for one event. A larger event is cut to fit, in steps, each cut
// said in its "errlog" extra.
const MaxEventBytes = 1 << 20

// DefaultTimeout is Options.Timeout's default.
const DefaultTimeout = delivery.DefaultSendTimeout

// Tracker sends events to a Sentry-protocol tracker through a bounded
// queue with its own goroutine, retries and an optional disk spool.
// errlog's Handler builds one from errlog.Options.Tracker; New builds one
// on its own, for programs that send prepared events or add it to
// errlog.Options.Sinks (it is an errlog.EventSink).
type Tracker struct {
	envelopes *trackerTarget // nil when the DSN is not used
	debug     *trackerTarget // nil without a DebugURL
	client    *http.Client
	onError   func(error)
	now       func() time.Time // clock.Now
	clock     clock.Clock
	sample    float64
	before    func(*event.Event) *event.Event
	lost      atomic.Uint64 // events that could not be encoded

	// Overrides replace an event's values; defaults fill empty ones.
	envOverride, releaseOverride, serverOverride string
	envDefault, releaseDefault, serverDefault    string
}

// New returns a Tracker that sends to o.DSN (and o.DebugURL), on its
// own: not attached to any Handler.
//
// A Tracker dropped without Close is closed when it is collected: what it
// queued is delivered within errlog.DefaultFlushTimeout (or left in the
// spool) and its goroutines end.
func New(o Options) (*Tracker, error) {
	t, err := newTracker(o, settings.Shared{}.Resolve())
	if err != nil {
		return nil, err
	}
	// The queues' goroutines point to the targets, never to t.
	runtime.SetFinalizer(t, func(t *Tracker) {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), settings.FlushTimeout)
			defer cancel()
			t.Close(ctx) //nolint:errcheck // reported through OnError
		}()
	})
	return t, nil
}

// NewSink is New for errlog's Handler (errlog.Options.Tracker): the
// settings it shares with the Handler's other sinks come resolved in s,
// whose type is internal, so that only errlog calls it. In debug mode it
// sends to the debug URL only, and is nil (with no error) without one.
func NewSink(o Options, s settings.Shared) (*Tracker, error) {
	if s.Debug && o.DebugURL == "" {
		return nil, nil
	}
	return newTracker(o, s.Resolve()) // resolved already: Resolve keeps every value set

}

// newTracker builds a Tracker from o and env, resolved: o's values win
// over env's, which are the Handler's (or, on its own, the defaults).
func newTracker(o Options, env settings.Shared) (*Tracker, error) {
	if o.DSN == "" && o.DebugURL == "" {
		return nil, errors.New("errlog: tracker: no DSN (set ERRLOG_DSN or tracker.Options.DSN); events are not sent to a tracker")
	}
	var debugHost string
	if o.DebugURL != "" {
		var err error
		if debugHost, err = checkDebugURL(o.DebugURL); err != nil {
			return nil, fmt.Errorf("errlog: tracker: %w", err)
		}
	}
	if !(o.SampleRate >= 0 && o.SampleRate <= 1) { // NaN too
		return nil, fmt.Errorf("errlog: tracker: SampleRate %v is not in (0, 1]", o.SampleRate)
	}
	t := &Tracker{
		onError:         o.OnError,
		clock:           env.Clock,
		now:             env.Clock.Now,
		sample:          o.SampleRate,
		before:          o.BeforeSend,
		envOverride:     o.Environment,
		releaseOverride: o.Release,
		serverOverride:  o.ServerName,
		envDefault:      env.Environment,
		releaseDefault:  env.Release,
		serverDefault:   env.ServerName,
	}
	if t.onError == nil {
		t.onError = env.OnError
	}
	if t.sample == 0 {
		t.sample = 1
	}
	t.client = newTrackerClient(o.Transport)

	var dsn *wire.DSN
	if o.DSN != "" && !env.Debug {
		var err error
		if dsn, err = wire.ParseDSN(o.DSN); err != nil {
			return nil, fmt.Errorf("errlog: tracker: %w", err)
		}
	}
	qo := delivery.Options{
		QueueSize:     o.QueueSize,
		MinBackoff:    o.MinBackoff,
		MaxBackoff:    o.MaxBackoff,
		SendTimeout:   o.Timeout,
		MaxSpoolBytes: o.MaxSpoolBytes,
		MaxSpoolItems: o.MaxSpoolItems,
		OnError:       t.onError,
		Clock:         t.clock,
		Parallel:      trackerParallel,
	}
	if qo.QueueSize == 0 {
		qo.QueueSize = env.QueueSize
	}
	if dsn != nil {
		t.envelopes = newEnvelopeTarget(dsn, t.client, t.onError, t.clock)
		qo := qo
		qo.Name = "tracker"
		t.envelopes.name = qo.Name
		qo.Send = t.envelopes.send
		qo.SpoolDir = o.SpoolDir
		if qo.SpoolDir == "" && env.SpoolDir != "" {
			qo.SpoolDir = filepath.Join(env.SpoolDir, "tracker")
		}
		// Owned by this DSN's project and key: another program given the
		// same directory must not send this one's backlog to its own
		// project; the same project at a new address (a tracker moved)
		// still gets it.
		qo.SpoolDir = delivery.OwnedDir(qo.SpoolDir, dsn.PublicKey+"/"+dsn.ProjectID)
		q, err := delivery.New(qo)
		if err != nil {
			return nil, err // already "errlog: tracker: …"
		}
		t.envelopes.queue = q
	}
	if o.DebugURL != "" {
		t.debug = newDebugTarget(o.DebugURL, debugHost, t.client, t.onError, t.clock)
		qo := qo
		qo.Name = "tracker: debug URL"
		t.debug.name = qo.Name
		qo.Send = t.debug.send
		q, err := delivery.New(qo)
		if err != nil {
			if t.envelopes != nil {
				t.envelopes.queue.Close(context.Background())
			}
			return nil, err
		}
		t.debug.queue = q
	}
	return t, nil
}

// Deliver queues ev for the tracker; it implements EventSink. It encodes
// and compresses the event, once, on the calling goroutine (errlog's
// delivery goroutine), and never waits on the network.
func (t *Tracker) Deliver(ev *event.Event) { t.Send(ev) }

// Send queues a prepared event, as Flask-Exceptional's publish() does,
// and returns its event id, or "" if it was not queued (sampled out,
// dropped by BeforeSend, not encodable, queue full or closed; all but
// the first two are reported to OnError). What ev lacks (event_id,
// timestamp, platform, sdk, environment, release, server_name) is filled
// in on a copy; ev itself is never modified. Safe from any goroutine.
func (t *Tracker) Send(ev *event.Event) string {
	if ev == nil || (t.sample < 1 && rand.Float64() >= t.sample) {
		return ""
	}
	if !t.HasRoom() {
		// Encoding and compressing an event the queues would drop is
		// work taken from delivery: count the drop, skip the work.
		for _, tt := range t.targets() {
			tt.queue.Refuse()
		}
		return ""
	}
	ev = t.prepare(ev)
	if t.before != nil {
		if ev = t.before(ev); ev == nil {
			return ""
		}
	}
	// The event carries its group key, computed before trimming, so that
	// errlogd groups it as the mail sink did; on a copy, as the event may
	// be the one every sink has.
	keyed := *ev
	keyed.SetGroupKey()
	ev = &keyed
	// Trimmed, as Sentry's SDKs do, rather than refused with a 413.
	payload, ev, err := trim.Fit(ev, MaxEventBytes, encodeEvent)
	if err != nil {
		t.lost.Add(1)
		t.onError(fmt.Errorf("errlog: tracker: event %s: %w", ev.EventID, err))
		return ""
	}
	queued := false
	if t.envelopes != nil {
		body, err := envelopeBody(ev, payload)
		if err != nil {
			t.lost.Add(1)
			t.onError(fmt.Errorf("errlog: tracker: event %s: %w", ev.EventID, err))
			return ""
		}
		queued = t.envelopes.queue.Enqueue(delivery.Item{ID: ev.EventID, Body: body})
	}
	if t.debug != nil {
		queued = t.debug.queue.Enqueue(delivery.Item{ID: ev.EventID, Body: payload}) || queued
	}
	if !queued {
		return ""
	}
	return ev.EventID
}

// prepare returns ev, or a copy of it with what it lacks filled in and
// the tracker's overrides applied.
func (t *Tracker) prepare(ev *event.Event) *event.Event {
	if ev.EventID != "" && !ev.Timestamp.IsZero() && ev.Platform != "" && ev.SDK != nil &&
		fits(ev.Environment, t.envOverride, t.envDefault) &&
		fits(ev.Release, t.releaseOverride, t.releaseDefault) &&
		fits(ev.ServerName, t.serverOverride, t.serverDefault) {
		return ev
	}
	c := *ev
	if c.EventID == "" {
		c.EventID = event.NewID()
	}
	if c.Timestamp.IsZero() {
		c.Timestamp = t.now()
	}
	if c.Platform == "" {
		c.Platform = "go"
	}
	if c.SDK == nil {
		c.SDK = &event.SDK{Name: "errlog.go", Version: version.Version}
	}
	c.Environment = choose(c.Environment, t.envOverride, t.envDefault)
	c.Release = choose(c.Release, t.releaseOverride, t.releaseDefault)
	c.ServerName = choose(c.ServerName, t.serverOverride, t.serverDefault)
	return &c
}

// fits reports whether v needs no change: no override says otherwise and
// it is not empty while a default is at hand.
func fits(v, override, def string) bool {
	return choose(v, override, def) == v
}

func choose(v, override, def string) string {
	switch {
	case override != "":
		return override
	case v == "":
		return def
	}
	return v
}

// encodeEvent returns ev's JSON. A prepared event whose values JSON
// cannot encode (a channel, a NaN in its extra) is sent with those values
// made JSON-safe the way the core makes attributes safe, rather than lost.
func encodeEvent(ev *event.Event) ([]byte, error) {
	b, err := ev.MarshalJSON()
	if err == nil {
		return b, nil
	}
	c := *ev
	c.Extra = jsonMap(ev.Extra)
	if ev.Contexts != nil {
		c.Contexts = make(map[string]map[string]any, len(ev.Contexts))
		for k, m := range ev.Contexts {
			c.Contexts[k] = jsonMap(m)
		}
	}
	if ev.User != nil {
		u := *ev.User
		u.Data = jsonMap(u.Data)
		c.User = &u
	}
	if ev.Request != nil {
		r := *ev.Request
		r.Data = values.JSON(r.Data)
		c.Request = &r
	}
	if ev.Logentry != nil && ev.Logentry.Params != nil {
		l := *ev.Logentry
		l.Params, _ = values.JSON(l.Params).([]any)
		c.Logentry = &l
	}
	return c.MarshalJSON()
}

func jsonMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out, _ := values.JSON(m).(map[string]any)
	return out
}

// Flush returns once every event sent so far is acknowledged by the
// tracker (or refused for good), retrying until ctx is done; then it
// returns an error that says how many events are still undelivered, and
// whether they wait in the spool or only in memory.
func (t *Tracker) Flush(ctx context.Context) error {
	return t.eachTarget(func(q *delivery.Queue) error { return q.Flush(ctx) })
}

// eachTarget runs f on the queue of every target at once: a dead request
// bin must not eat the time the DSN's events need.
func (t *Tracker) eachTarget(f func(q *delivery.Queue) error) error {
	tts := t.targets()
	errs := make([]error, len(tts))
	var wg sync.WaitGroup
	for i, tt := range tts {
		wg.Add(1)
		go func(i int, q *delivery.Queue) {
			defer wg.Done()
			errs[i] = f(q)
		}(i, tt.queue)
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Close keeps delivering until everything is sent or ctx is done (give it
// a deadline: with the tracker down it waits for ctx), then stops the
// tracker's goroutines and closes its idle connections. Events not
// delivered by then stay in the spool for the next process, or are
// reported lost without one; the error says how many of each. Closing
// twice is not an error.
func (t *Tracker) Close(ctx context.Context) error {
	runtime.SetFinalizer(t, nil)
	err := t.eachTarget(func(q *delivery.Queue) error { return q.Close(ctx) })
	t.client.CloseIdleConnections()
	return err
}

// QueueStats are one of the tracker's queues' counters, field for field
// errlog.SinkStats, which a Handler's Stats lists (errlog.SinkStats(q)
// converts): Name ("tracker", or "tracker: debug URL"); the events
// Enqueued, Recovered (left in the disk spool by an earlier process, found
// at start), Sent (acknowledged by the tracker), Retried, Spooled (written
// to the disk spool) and Dropped (refused by a full queue, given up after
// a permanent failure or repeated timeouts, evicted from a full spool,
// lost at Close, unreadable in the spool, or not encodable); and how many
// are Pending now, in memory or in the spool.
type QueueStats struct {
	Name                                                 string // "tracker", "tracker: debug URL"
	Enqueued, Recovered, Sent, Retried, Spooled, Dropped uint64 // events, as above
	Pending                                              int    // events waiting now
}

// Stats returns the counters of the tracker's queues (the DSN's, and the
// debug URL's if set).
func (t *Tracker) Stats() []QueueStats {
	var out []QueueStats
	for _, tt := range t.targets() {
		st := tt.queue.Stats()
		out = append(out, QueueStats{Name: tt.name, Enqueued: st.Enqueued, Recovered: st.Recovered, Sent: st.Sent, Retried: st.Retried,
			Spooled: st.Spooled, Dropped: st.Lost(), Pending: st.Pending})
	}
	if n := t.lost.Load(); n > 0 && len(out) > 0 {
		out[0].Dropped += n
	}
	return out
}

// HasRoom reports whether any of the tracker's queues would take an event
// now.
func (t *Tracker) HasRoom() bool {
	return t.envelopes != nil && t.envelopes.queue.HasRoom() || t.debug != nil && t.debug.queue.HasRoom()
}

func (t *Tracker) targets() []*trackerTarget {
	var out []*trackerTarget
	if t.envelopes != nil {
		out = append(out, t.envelopes)
	}
	if t.debug != nil {
		out = append(out, t.debug)
	}
	return out
}
