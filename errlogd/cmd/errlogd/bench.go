package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/wire"
)

// benchConfig is errlogd bench's flags.
type benchConfig struct {
	dsn         string
	size        string
	duration    time.Duration
	rate        float64
	concurrency int
	groups      int
	pid         int
	seed        int64
	yardstick   bool
}

// runBench is the load generator: it posts gzip-compressed envelopes
// shaped like sentry-go's (exception chain, stack traces with source
// context, request, modules, breadcrumbs, extras, contexts), with values
// that vary, over 200 groups whose frequencies follow a long tail, and
// reports events/s answered 200 (which errlogd sends only after the event
// is committed: stored, grouped, queryable), latency percentiles and, with
// -pid, the server's CPU time and peak RSS.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c benchConfig
	fs := flag.NewFlagSet("errlogd bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.dsn, "dsn", "", "DSN of the errlogd (or any Sentry-compatible server) to load")
	fs.StringVar(&c.size, "size", "50000", `event JSON size in bytes, or "mix" (log-normal, median 25 KB, tail to 1 MiB)`)
	fs.DurationVar(&c.duration, "duration", 5*time.Second, "how long to send")
	fs.Float64Var(&c.rate, "rate", 0, "events per second (open loop); 0: as fast as -c connections go")
	fs.IntVar(&c.concurrency, "c", 8, "concurrent connections (closed loop), or the most in flight (open loop)")
	fs.IntVar(&c.groups, "groups", 200, "distinct groups")
	fs.IntVar(&c.pid, "pid", 0, "errlogd's process id, to report its CPU time and peak RSS (Linux)")
	fs.Int64Var(&c.seed, "seed", 1, "random seed")
	fs.BoolVar(&c.yardstick, "yardstick", true, "load a gunzip-only server (a child process) the same way first, and report the ratios to it")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if c.dsn == "" {
		fmt.Fprintln(stderr, "errlogd bench: -dsn is required")
		return 2
	}
	w, err := newWorkload(c)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	var ys *BenchResult
	load0 := loadAvg()
	if c.yardstick {
		dsn, pid, stop, err := startYardstick(ctx)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		yc := c
		yc.dsn, yc.pid = dsn, pid
		ys, err = w.run(ctx, yc)
		stop()
		if err != nil {
			fmt.Fprintln(stderr, "errlogd bench: the yardstick:", err)
			return 1
		}
	}
	res, err := w.run(ctx, c)
	if res != nil && ys != nil {
		res.Yardstick = ys
		if ys.EventsPerSec > 0 {
			res.RateRatio = round(res.EventsPerSec / ys.EventsPerSec)
		}
		if ys.CPUSecondsPer10k > 0 {
			res.CPURatio = round(res.CPUSecondsPer10k / ys.CPUSecondsPer10k)
		}
	}
	if res != nil {
		res.LoadAvg = strings.TrimSpace(load0 + " " + loadAvg())
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	fmt.Fprintln(stdout, string(b))
	return 0
}

// BenchResult is what errlogd bench prints: the server's figures, and
// with -yardstick the gunzip-only server's and the ratios to them.
type BenchResult struct {
	Size          string  `json:"size"`
	AvgEventBytes int     `json:"avg_event_bytes"`
	AvgBodyBytes  int     `json:"avg_gzip_body_bytes"`
	Sent          int64   `json:"sent"`
	OK            int64   `json:"ok"`
	Refused       int64   `json:"refused"`
	Failed        int64   `json:"failed"`
	Seconds       float64 `json:"seconds"`
	EventsPerSec  float64 `json:"events_per_sec"`
	P50ms         float64 `json:"p50_ms"`
	P95ms         float64 `json:"p95_ms"`
	P99ms         float64 `json:"p99_ms"`
	Late          int64   `json:"late,omitempty"`
	// Server figures, with -pid.
	GeneratorCPUPer10k  float64 `json:"generator_cpu_seconds_per_10k_events"`
	ServerCPUSeconds    float64 `json:"server_cpu_seconds,omitempty"`
	CPUSecondsPer10k    float64 `json:"server_cpu_seconds_per_10k_events,omitempty"`
	ServerPeakRSSMB     float64 `json:"server_peak_rss_mb,omitempty"`
	ServerRSSMB         float64 `json:"server_rss_mb,omitempty"`
	StoreEvents         int64   `json:"store_events,omitempty"`
	StoreGroups         int64   `json:"store_groups,omitempty"`
	StoredBytesPerEvent float64 `json:"stored_payload_bytes_per_event,omitempty"`
	DiskBytesPerEvent   float64 `json:"disk_bytes_per_event,omitempty"`
	// EventsPerCommit is how many events the store's transactions held
	// on average during the run (errlogd's metrics): a commit's cost is
	// shared by its batch, and a batch holds at most the requests in
	// flight.
	EventsPerCommit float64 `json:"events_per_commit,omitempty"`
	// RateRatio is EventsPerSec over the yardstick's; CPURatio, the CPU
	// per event over the yardstick's (with -pid). LoadAvg is the 1-minute
	// load average before the first run and after the last.
	RateRatio float64      `json:"rate_ratio_to_yardstick,omitempty"`
	CPURatio  float64      `json:"cpu_per_event_ratio_to_yardstick,omitempty"`
	LoadAvg   string       `json:"load_average,omitempty"`
	Yardstick *BenchResult `json:"yardstick,omitempty"`
}

// workload is the events errlogd bench sends: templates, picked by a
// long-tailed distribution.
type workload struct {
	templates []template
	total     int                     // their JSON bytes
	picker    func() func() *template // a new picking sequence, the same each time
}

func newWorkload(c benchConfig) (*workload, error) {
	if _, err := wire.ParseDSN(c.dsn); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewSource(c.seed))
	gen := newGenerator(rng, c.groups)
	var sizes func() int
	switch c.size {
	case "mix":
		sizes = func() int {
			s := math.Exp(math.Log(25000) + 1.2*rng.NormFloat64())
			return int(min(max(s, 1500), 1000*1024))
		}
	default:
		n, err := strconv.Atoi(c.size)
		if err != nil || n < 1000 {
			return nil, fmt.Errorf("errlogd bench: -size %q: a byte count ≥ 1000, or mix", c.size)
		}
		sizes = func() int { return n }
	}
	// Templates: 3 per group (5 for the mix), each with its own values.
	per := 3
	if c.size == "mix" {
		per = 5
	}
	var templates []template
	total := 0
	for g := 0; g < c.groups; g++ {
		for i := 0; i < per; i++ {
			t := gen.event(g, sizes())
			templates = append(templates, t)
			total += len(t.json)
		}
	}
	// Each run picks the same sequence of templates: the yardstick and
	// errlogd are sent the same events.
	picker := func() func() *template {
		rng := rand.New(rand.NewSource(c.seed + 1))
		zipf := rand.NewZipf(rng, 1.1, 1, uint64(c.groups-1))
		var mu sync.Mutex
		return func() *template {
			mu.Lock()
			g := int(zipf.Uint64())
			i := rng.Intn(per)
			mu.Unlock()
			return &templates[g*per+i]
		}
	}
	return &workload{templates: templates, total: total, picker: picker}, nil
}

// run loads the server of c.dsn with w for c.duration.
func (w *workload) run(ctx context.Context, c benchConfig) (*BenchResult, error) {
	d, err := wire.ParseDSN(c.dsn)
	if err != nil {
		return nil, err
	}
	pick := w.picker()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 0, DisableCompression: true}, Timeout: 60 * time.Second}
	url := d.EnvelopeURL()
	auth := d.AuthHeader("errlogd-bench/1")
	var sent, ok, refused, failed, late, bodyBytes atomic.Int64
	var latMu sync.Mutex
	var lats []time.Duration

	send := func(buf *bytes.Buffer) {
		t := pick()
		id := event.NewID()
		now := time.Now().UTC().Format("2006-01-02T15:04:05.000000Z")
		buf.Reset()
		t.body(buf, id, now)
		bodyBytes.Add(int64(buf.Len()))
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(buf.Bytes()))
		req.Header.Set("Content-Type", wire.ContentType)
		req.Header.Set("Content-Encoding", "gzip")
		req.Header.Set("X-Sentry-Auth", auth)
		start := time.Now()
		resp, err := client.Do(req)
		sent.Add(1)
		if err != nil {
			failed.Add(1)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		el := time.Since(start)
		switch {
		case resp.StatusCode == 200:
			ok.Add(1)
			latMu.Lock()
			lats = append(lats, el)
			latMu.Unlock()
		case resp.StatusCode == 429 || resp.StatusCode == 413:
			refused.Add(1)
		default:
			failed.Add(1)
		}
	}

	base := strings.TrimSuffix(url, fmt.Sprintf("/api/%s/envelope/", d.ProjectID))
	m0, mOK0 := readMetrics(ctx, client, base)
	cpu0, _ := procCPU(c.pid)
	self0, _ := procCPU(os.Getpid())
	runCtx, cancel := context.WithTimeout(ctx, c.duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	if c.rate <= 0 {
		for w := 0; w < c.concurrency; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var buf bytes.Buffer
				for runCtx.Err() == nil {
					send(&buf)
				}
			}()
		}
	} else {
		slots := make(chan struct{}, c.concurrency)
		interval := time.Duration(float64(time.Second) / c.rate)
		next := time.Now()
		bufs := sync.Pool{New: func() any { return new(bytes.Buffer) }}
	loop:
		for {
			if d := time.Until(next); d > 0 {
				select {
				case <-runCtx.Done():
					break loop
				case <-time.After(d):
				}
			}
			if runCtx.Err() != nil {
				break
			}
			next = next.Add(interval)
			select {
			case slots <- struct{}{}:
			default:
				late.Add(1) // every slot busy: the server is behind the rate
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				b := bufs.Get().(*bytes.Buffer)
				send(b)
				bufs.Put(b)
				<-slots
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	cpu1, _ := procCPU(c.pid)
	self1, _ := procCPU(os.Getpid())

	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	q := func(p float64) float64 {
		if len(lats) == 0 {
			return 0
		}
		return float64(lats[int(p*float64(len(lats)-1))].Microseconds()) / 1000
	}
	res := &BenchResult{
		Size: c.size, AvgEventBytes: w.total / len(w.templates),
		Sent: sent.Load(), OK: ok.Load(), Refused: refused.Load(), Failed: failed.Load(), Late: late.Load(),
		Seconds: round(elapsed), EventsPerSec: round(float64(ok.Load()) / elapsed),
		P50ms: q(0.50), P95ms: q(0.95), P99ms: q(0.99),
	}
	if n := sent.Load(); n > 0 {
		res.AvgBodyBytes = int(bodyBytes.Load() / n)
	}
	if ok.Load() > 0 {
		res.GeneratorCPUPer10k = round((self1 - self0) / float64(ok.Load()) * 10000)
	}
	if c.pid > 0 {
		res.ServerCPUSeconds = round(cpu1 - cpu0)
		if ok.Load() > 0 {
			res.CPUSecondsPer10k = round((cpu1 - cpu0) / float64(ok.Load()) * 10000)
		}
		res.ServerPeakRSSMB, res.ServerRSSMB = procRSS(c.pid)
	}
	if m1, ok := readMetrics(ctx, client, base); ok && mOK0 {
		if commits := m1.commits - m0.commits; commits > 0 {
			res.EventsPerCommit = round((m1.accepted - m0.accepted) / commits)
		}
	}
	// The store's own figures, from the API.
	if resp, err := client.Do(adminRequest(ctx, base+"/api/stats")); err == nil {
		var s struct {
			Events, Groups, StoredBytes, DiskBytes int64
		}
		if resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(&struct {
			Events      *int64 `json:"events"`
			Groups      *int64 `json:"groups"`
			StoredBytes *int64 `json:"stored_bytes"`
			DiskBytes   *int64 `json:"disk_bytes"`
		}{&s.Events, &s.Groups, &s.StoredBytes, &s.DiskBytes}) == nil && s.Events > 0 {
			res.StoreEvents, res.StoreGroups = s.Events, s.Groups
			res.StoredBytesPerEvent = round(float64(s.StoredBytes) / float64(s.Events))
			res.DiskBytesPerEvent = round(float64(s.DiskBytes) / float64(s.Events))
		}
		resp.Body.Close()
	}
	if res.OK == 0 {
		return res, errors.New("errlogd bench: no event was accepted")
	}
	return res, nil
}

func round(f float64) float64 { return math.Round(f*100) / 100 }

// procCPU returns a process's user+system CPU seconds (Linux).
func procCPU(pid int) (float64, error) {
	if pid <= 0 {
		return 0, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100, nil // USER_HZ is 100 on Linux
}

// procRSS returns a process's peak and current RSS in MB (Linux).
func procRSS(pid int) (peak, now float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[0], 64)
		switch k {
		case "VmHWM":
			peak = round(kb / 1024)
		case "VmRSS":
			now = round(kb / 1024)
		}
	}
	return peak, now
}

// adminRequest is a GET of errlogd's API or metrics: open on loopback
// without a password; else set ERRLOGD_ADMIN_PASSWORD.
func adminRequest(ctx context.Context, url string) *http.Request {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if pw := os.Getenv("ERRLOGD_ADMIN_PASSWORD"); pw != "" {
		req.SetBasicAuth("admin", pw)
	}
	return req
}

// storeMetrics are the counters of errlogd's /metrics that errlogd bench
// reads before and after a run.
type storeMetrics struct{ commits, accepted float64 }

// readMetrics reads them from the server at base; false when it has no
// such metrics (the yardstick, another Sentry server) or refuses.
func readMetrics(ctx context.Context, client *http.Client, base string) (storeMetrics, bool) {
	var m storeMetrics
	resp, err := client.Do(adminRequest(ctx, base+"/metrics"))
	if err != nil {
		return m, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return m, false
	}
	found := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		var dst *float64
		switch name {
		case "errlogd_commit_seconds_count":
			dst = &m.commits
		case "errlogd_events_accepted_total":
			dst = &m.accepted
		}
		if !ok || dst == nil {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			*dst = v
			found++
		}
	}
	return m, found == 2 && sc.Err() == nil
}
