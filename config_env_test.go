package errlog

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/internal/trackertest"
	"github.com/errlog/errlog/logfile"
	"github.com/errlog/errlog/tracker"
	"github.com/stretchr/testify/assert"
)

type errSink struct {
	mu   sync.Mutex
	errs []string
}

func (s *errSink) add(err error) { s.mu.Lock(); s.errs = append(s.errs, err.Error()); s.mu.Unlock() }
func (s *errSink) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.errs...)
}

// A tracker.Options.SampleRate outside (0, 1] is a setting gone wrong, as
// Options.SampleRate's is: it must be reported and cost that setting
// (every event kept, as Options.SampleRate does), never the whole tracker
// and with it every event of the program.
func TestConfigTrackerBadSampleRateKeepsTracker(t *testing.T) {
	for _, rate := range []float64{1.5, 10, -0.5} {
		f := trackertest.NewFake(t)
		var errs errSink
		h := NewHandler(Options{Console: io.Discard, OnDeliveryError: errs.add,
			Tracker: &tracker.Options{DSN: f.DSN(), SampleRate: rate}})
		logger := slog.New(h)
		logger.Error("payment failed")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = h.Flush(ctx)
		cancel()
		h.Close(context.Background())
		assert.NotEmpty(t, errs.all(), "SampleRate %v reported", rate)
		assert.Len(t, f.Acked(), 1, "SampleRate %v: the event reached the tracker; reports: %q", rate, errs.all())
	}
}

// NaN is no rate either: Options.SampleRate reports it; the tracker's
// takes it silently.
func TestConfigTrackerNaNSampleRateReported(t *testing.T) {
	f := trackertest.NewFake(t)
	var errs errSink
	h := NewHandler(Options{Console: io.Discard, OnDeliveryError: errs.add,
		Tracker: &tracker.Options{DSN: f.DSN(), SampleRate: math.NaN()}})
	slog.New(h).Error("payment failed")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = h.Flush(ctx)
	cancel()
	h.Close(context.Background())
	assert.Len(t, f.Acked(), 1)
	assert.NotEmpty(t, errs.all(), "a NaN SampleRate is reported, as Options.SampleRate's is")
}

// ERRLOG_FILE_MAX_AGE_DAYS=999999 ("keep them, practically forever") is a
// whole number that is not negative, so FromEnv takes it; then its days,
// as a time.Duration, overflow to a negative age and the log file is not
// opened at all ("errlog: file: negative Options.MaxAge -1620501h…",
// naming no variable): every record meant for the file is lost.
func TestConfigHugeMaxAgeDaysKeepsTheFile(t *testing.T) {
	envReported.Range(func(k, _ any) bool { envReported.Delete(k); return true })
	path := filepath.Join(t.TempDir(), "app.log")
	var stderr bytes.Buffer
	o := fromEnv(envOf(map[string]string{"ERRLOG_FILE": path, "ERRLOG_FILE_MAX_AGE_DAYS": "999999"}), &stderr)
	var errs errSink
	o.Console, o.OnDeliveryError = io.Discard, errs.add
	h := NewHandler(o)
	slog.New(h).Warn("disk almost full")
	h.Close(context.Background())
	assert.Empty(t, errs.all())
	data, err := os.ReadFile(path)
	assert.NoError(t, err, "stderr: %q", stderr.String())
	assert.Contains(t, string(data), "disk almost full")
}

// ERRLOG_FILE_MAX_AGE_DAYS=213504 (585 years) overflows to an age of 1.5
// seconds: each rotation deletes every earlier backup.
func TestConfigHugeMaxAgeDaysKeepsBackups(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.Local)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	h, err := logfile.New(logfile.Options{Path: filepath.Join(dir, "app.log"), Level: slog.LevelInfo,
		MaxAgeDays: 213504, Interval: time.Hour, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	l := slog.New(h)
	for i := 0; i < 4; i++ {
		l.Info("line", "i", i)
		time.Sleep(100 * time.Millisecond) // the cleanup goroutine runs after each rotation
		mu.Lock()
		now = now.Add(time.Hour + time.Minute)
		mu.Unlock()
	}
	l.Info("last")
	time.Sleep(300 * time.Millisecond)
	h.Close()
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	t.Log(names)
	assert.Len(t, names, 5, "app.log and four backups, none older than 585 years: %v", names)
}

type configReviewSink struct {
	mu  sync.Mutex
	evs []*event.Event
}

func (s *configReviewSink) Deliver(ev *event.Event) {
	s.mu.Lock()
	s.evs = append(s.evs, ev)
	s.mu.Unlock()
}
func (s *configReviewSink) Flush(context.Context) error { return nil }
func (s *configReviewSink) Close(context.Context) error { return nil }

// ERRLOG_SMTP_ADDR=user:password@host:587 is refused by FromEnv because
// it holds a password ("the value is not repeated"), yet ERRLOG_* is on
// the environment allow-list and the value goes out verbatim in every
// event's environment context, to the tracker and every sink. A secret
// shaped as a Stripe key in an ERRLOG_* variable goes out too: the
// environment gets no shape scrubbing.
func TestConfigSMTPAddrPasswordNotInEvents(t *testing.T) {
	// Built from parts: the test's own source lines go out with the event.
	pw, stripe := "hunter"+"2pw", "sk_"+"live_abcdefghijklmnopqrstuvwx"
	t.Setenv("ERRLOG_SMTP_ADDR", "bot:"+pw+"@mail.example.com:587")
	t.Setenv("ERRLOG_STRIPE", stripe)
	envReported.Range(func(k, _ any) bool { envReported.Delete(k); return true })
	var stderr bytes.Buffer
	o := fromEnv(os.LookupEnv, &stderr)
	assert.NotContains(t, stderr.String(), pw)
	s := &configReviewSink{}
	o.Console, o.Sinks, o.OnDeliveryError, o.SpoolDir, o.CrashReports = io.Discard, []EventSink{s}, func(error) {}, "", false
	h := NewHandler(o)
	slog.New(h).Error("payment failed")
	_ = h.Flush(context.Background())
	h.Close(context.Background())
	s.mu.Lock()
	defer s.mu.Unlock()
	if !assert.Len(t, s.evs, 1) {
		return
	}
	b, _ := json.Marshal(s.evs[0])
	assert.NotContains(t, string(b), pw, "the SMTP password left the process: %s", s.evs[0].Contexts["environment"])
	assert.NotContains(t, string(b), stripe, "a Stripe key left the process")
}

// ParseLevel trims a name (" warn ") but not a number or slog's form:
// " 30 " and " WARN+2 " are refused, "30\n" (a value read from a file)
// too.
func TestConfigParseLevelTrimsEveryForm(t *testing.T) {
	for s, want := range map[string]slog.Level{" warn ": slog.LevelWarn, " 30 ": slog.LevelWarn, "30\n": slog.LevelWarn, " WARN+2 ": slog.LevelWarn + 2} {
		l, err := ParseLevel(s)
		if assert.NoError(t, err, "%q", s) {
			assert.Equal(t, want, l, "%q", s)
		}
	}
}

// A malformed ERRLOG_FORMAT is reported; a good ERRLOG_DATE_FORMAT beside
// it is dropped without a word (it is kept when the template is refused
// for having no field).
func TestConfigBadFormatKeepsDateFormat(t *testing.T) {
	envReported.Range(func(k, _ any) bool { envReported.Delete(k); return true })
	var stderr bytes.Buffer
	o := fromEnv(envOf(map[string]string{"ERRLOG_FORMAT": "%(message", "ERRLOG_DATE_FORMAT": "%H:%M:%S"}), &stderr)
	assert.Contains(t, stderr.String(), "ERRLOG_FORMAT")
	if o.DateFormat != "%H:%M:%S" {
		assert.Contains(t, stderr.String(), "ERRLOG_DATE_FORMAT", "ERRLOG_DATE_FORMAT dropped silently")
	}
}

// "Doe, Jane" <j@example.com> is one RFC 5322 address; ERRLOG_MAIL_TO is
// split at every comma, so she is left out as two bad addresses.
func TestConfigMailToQuotedComma(t *testing.T) {
	envReported.Range(func(k, _ any) bool { envReported.Delete(k); return true })
	var stderr bytes.Buffer
	o := fromEnv(envOf(map[string]string{"ERRLOG_SMTP_ADDR": "mail.example.com:587",
		"ERRLOG_MAIL_TO": `ops@example.com, "Doe, Jane" <jane@example.com>`}), &stderr)
	if assert.NotNil(t, o.Mail) {
		assert.Len(t, o.Mail.To, 2, "stderr: %s", stderr.String())
	}
}

// Mail settings without ERRLOG_SMTP_ADDR or ERRLOG_MAIL_DIR (a typo in
// ERRLOG_SMTP_ADDR's name, or it forgotten) leave mail off without a word,
// though ERRLOG_SMTP_USER without ERRLOG_SMTP_PASSWORD is said.
func TestConfigMailSettingsWithoutServerSaid(t *testing.T) {
	envReported.Range(func(k, _ any) bool { envReported.Delete(k); return true })
	var stderr bytes.Buffer
	o := fromEnv(envOf(map[string]string{"ERRLOG_SMTP_HOST": "mail.example.com:587",
		"ERRLOG_MAIL_FROM": "app@example.com", "ERRLOG_MAIL_TO": "ops@example.com"}), &stderr)
	assert.Nil(t, o.Mail)
	assert.Contains(t, stderr.String(), "ERRLOG_SMTP_ADDR", "ERRLOG_MAIL_TO is set but mail is off: say so")
}

// Two programs that share a spool directory (ERRLOG_SPOOL_DIR=/var/spool/errlog
// for every service of a host, or FromEnv's default for two programs with
// the same executable name, /srv/shop/server and /srv/blog/server) send
// each other's events: the spool keeps no trace of the DSN, and the next
// tracker on the directory delivers what the other left to its own DSN, its
// own project and key (seen with two binaries: blog's tracker got shop's
// event, "executable":"/tmp/cfg/a/server").
func TestConfigSharedSpoolKeepsEventsWithTheirDSN(t *testing.T) {
	spool := t.TempDir()
	shop := NewHandler(Options{Console: io.Discard, OnDeliveryError: func(error) {}, SpoolDir: spool,
		Tracker: &tracker.Options{DSN: "http://shopkey@127.0.0.1:1/1"}}) // its tracker is down
	slog.New(shop).Error("shop: payment failed")
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	_ = shop.Close(ctx) // left in the spool, for shop's next start
	cancel()

	blogTracker := trackertest.NewFake(t)
	blog := NewHandler(Options{Console: io.Discard, OnDeliveryError: func(error) {}, SpoolDir: spool,
		Tracker: &tracker.Options{DSN: blogTracker.DSN()}})
	slog.New(blog).Error("blog: comment failed")
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	_ = blog.Close(ctx)
	cancel()
	for _, ev := range blogTracker.Acked() {
		assert.NotContains(t, ev.Logentry.Formatted+ev.Logentry.Message, "shop", "shop's event went to blog's DSN")
	}
}
