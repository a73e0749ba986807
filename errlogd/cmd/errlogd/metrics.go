package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/errlog/errlog/errlogd/ingest"
	"github.com/errlog/errlog/errlogd/internal/access"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/postgres"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/errlog/errlog/errlogd/store/sqlstore"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics is what errlogd exports in Prometheus's text format at
// PREFIX/metrics (behind the admin password, as the API) or on
// -metrics-addr. Counters kept elsewhere (ingest's, the writer's) are read
// when scraped, so that ingest pays nothing for them.
type metrics struct {
	reg       *prometheus.Registry
	commits   prometheus.Histogram
	bytesIn   atomic.Int64
	retention atomic.Int64

	ingest *ingest.Handler
	st     store.Store
	limit  *access.Limiter // the password guesses, shared with the API and the dashboard
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), limit: &access.Limiter{}}
	m.commits = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "errlogd_commit_seconds",
		Help:    "How long the store's writer took to commit one batch of events (retries included).",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
	})
	m.reg.MustRegister(m.commits, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), m)
	return m
}

// commit is the writer's WriterOptions.OnCommit.
func (m *metrics) commit(events int, took time.Duration, err error) {
	m.commits.Observe(took.Seconds())
}

var (
	descAccepted  = prometheus.NewDesc("errlogd_events_accepted_total", "Events ingest accepted and stored (duplicates included).", nil, nil)
	descRefused   = prometheus.NewDesc("errlogd_events_refused_total", "Requests or events ingest refused, by reason.", []string{"reason"}, nil)
	descSkipped   = prometheus.NewDesc("errlogd_items_skipped_total", "Envelope items of types errlogd does not store (sessions, transactions…).", nil, nil)
	descScrubbed  = prometheus.NewDesc("errlogd_events_scrubbed_total", "Events stored with values under secret keys replaced by [Filtered].", nil, nil)
	descBytes     = prometheus.NewDesc("errlogd_ingest_bytes_total", "Bytes of ingest request bodies, as sent (compressed).", nil, nil)
	descQueue     = prometheus.NewDesc("errlogd_queue_depth", "Events waiting for the store's writer; near -queue, ingest answers 429.", nil, nil)
	descDropped   = prometheus.NewDesc("errlogd_events_dropped_total", "Events of errlogd's own errors dropped for a full queue.", nil, nil)
	descFailed    = prometheus.NewDesc("errlogd_commit_failed_events_total", "Events lost in failed commits.", nil, nil)
	descOutbox    = prometheus.NewDesc("errlogd_alert_outbox", "Alert notifications not sent, by state: pending (due or waiting for a digest), retrying (the last send failed), failed (gave up).", []string{"state"}, nil)
	descRetention = prometheus.NewDesc("errlogd_retention_deleted_events_total", "Events deleted by retention (-retention-days, -max-events-per-group).", nil, nil)
)

// Describe and Collect make metrics a prometheus.Collector of the
// counters read at scrape time.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAccepted, descRefused, descSkipped, descScrubbed, descBytes, descQueue, descDropped, descFailed, descOutbox, descRetention} {
		ch <- d
	}
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	if m.ingest != nil {
		s := m.ingest.Stats()
		counter(descAccepted, s.Events)
		counter(descSkipped, s.Skipped)
		counter(descScrubbed, s.Scrubbed)
		for _, r := range []struct {
			reason string
			n      int64
		}{
			{"malformed", s.Malformed}, {"unauthorized", s.Unauthorized}, {"too_large", s.TooLarge},
			{"rate_limited", s.RateLimited}, {"queue_full", s.Busy}, {"disk_full", s.DiskFull}, {"failed", s.Failed},
		} {
			counter(descRefused, r.n, r.reason)
		}
	}
	counter(descBytes, m.bytesIn.Load())
	counter(descRetention, m.retention.Load())
	if w, ok := m.st.(interface{ Queued() int }); ok {
		ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(w.Queued()))
	}
	if w, ok := m.st.(interface{ Dropped() int64 }); ok {
		counter(descDropped, w.Dropped())
	}
	if w, ok := m.st.(interface{ Failed() int64 }); ok {
		counter(descFailed, w.Failed())
	}
	if db := sqlDB(m.st); db != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n := map[string]int64{"pending": 0, "retrying": 0, "failed": 0}
		rows, err := db.Pool().QueryContext(ctx, `SELECT CASE WHEN state = 'pending' AND last_error <> '' THEN 'retrying' ELSE state END, count(*)
FROM alert_outbox WHERE state <> 'sent' GROUP BY 1`)
		if err == nil {
			for rows.Next() {
				var s string
				var c int64
				if rows.Scan(&s, &c) == nil {
					n[s] = c
				}
			}
			rows.Close()
			for s, c := range n {
				ch <- prometheus.MustNewConstMetric(descOutbox, prometheus.GaugeValue, float64(c), s)
			}
		}
	}
}

func sqlDB(st store.Store) *sqlstore.DB {
	switch s := st.(type) {
	case *sqlite.Store:
		return s.DB
	case *postgres.Store:
		return s.DB
	}
	return nil
}

// countBytes counts the request bodies h reads.
func (m *metrics) countBytes(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A body with a length counts whole, whether or not ingest reads
		// it all (a refused request's body still crossed the network);
		// one without is counted as it is read.
		switch {
		case r.ContentLength > 0:
			m.bytesIn.Add(r.ContentLength)
		case r.Body != nil && r.Body != http.NoBody:
			r.Body = &countingBody{ReadCloser: r.Body, n: &m.bytesIn}
		}
		h.ServeHTTP(w, r)
	})
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// handler serves the metrics; with protect, as the JSON API is served: a
// loopback request without a proxy's headers when there is no admin
// password, else HTTP Basic with the admin password.
func (m *metrics) handler(password string, protect bool) http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	if !protect {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if password == "" {
			if !access.Local(r) {
				http.Error(w, "errlogd: metrics: set ERRLOGD_ADMIN_PASSWORD, or use -metrics-addr", http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
			return
		}
		unauthorized := func() {
			w.Header().Set("WWW-Authenticate", `Basic realm="errlogd"`)
			http.Error(w, "errlogd: metrics: the admin password is required (user admin)", http.StatusUnauthorized)
		}
		user, pass, ok := r.BasicAuth()
		if !ok {
			// No password is no guess: a probe without one must not use up
			// the admin's (the limit is shared with the API and dashboard).
			unauthorized()
			return
		}
		now, addr := time.Now(), access.ClientAddr(r)
		if ok, wait := m.limit.Allow(addr, now); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(max(wait, time.Second)/time.Second)))
			http.Error(w, "errlogd: too many wrong passwords", http.StatusTooManyRequests)
			return
		}
		if !access.CheckPassword(user, pass, password) {
			unauthorized()
			return
		}
		m.limit.Succeeded(addr, now)
		h.ServeHTTP(w, r)
	})
}

// serveMetrics serves the metrics, without a password, at
// http://addr/metrics when addr is set (-metrics-addr: an address that
// only the scraper reaches). The returned func stops it.
func serveMetrics(addr string, m *metrics, stderr io.Writer) (func(), error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("errlogd: -metrics-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.handler("", false))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	fmt.Fprintf(stderr, "errlogd: metrics on http://%s/metrics\n", ln.Addr())
	return func() { srv.Close() }, nil
}
