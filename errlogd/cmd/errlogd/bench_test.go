package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBenchYardstick: errlogd bench loads the gunzip-only server (a child
// process) and then errlogd with the same events, and prints errlogd's
// figures with the ratios to the yardstick's, the load average and the
// events per commit.
func TestBenchYardstick(t *testing.T) {
	p := start(t, nil, "-addr", "127.0.0.1:0", "-db", filepath.Join(t.TempDir(), "e.db"))
	var dsn string
	for deadline := time.Now().Add(5 * time.Second); dsn == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		dsn = dsnLine.FindString(p.outText())
	}
	require.NotEmpty(t, dsn)
	out, err := exec.Command(errlogdBin, "bench", "-dsn", dsn, "-size", "5000", "-duration", "1s", "-c", "4",
		"-pid", strconv.Itoa(p.cmd.Process.Pid)).Output()
	require.NoError(t, err, "%s", out)
	var res BenchResult
	require.NoError(t, json.Unmarshal(out, &res), "%s", out)
	require.NotNil(t, res.Yardstick, "%s", out)
	y := res.Yardstick
	assert.Positive(t, y.OK)
	assert.Zero(t, y.Failed+y.Refused)
	assert.Positive(t, y.CPUSecondsPer10k, "the yardstick's CPU is measured")
	assert.Zero(t, y.StoreEvents, "the yardstick stores nothing")
	assert.Positive(t, res.OK)
	assert.Equal(t, res.OK, res.StoreEvents, "every 200 is a stored event")
	assert.Zero(t, y.EventsPerCommit, "the yardstick has no store")
	// Each connection waits for its event's commit: a batch holds 1 to 4.
	assert.GreaterOrEqual(t, res.EventsPerCommit, 1.0, "%s", out)
	assert.LessOrEqual(t, res.EventsPerCommit, 4.0, "%s", out)
	assert.InDelta(t, res.EventsPerSec/y.EventsPerSec, res.RateRatio, 0.01)
	assert.InDelta(t, res.CPUSecondsPer10k/y.CPUSecondsPer10k, res.CPURatio, 0.05)
	assert.Less(t, res.RateRatio, 1.0, "errlogd does more than the yardstick")
	assert.Len(t, strings.Fields(res.LoadAvg), 2, "load average before and after")
	p.stop(t)
}

// TestYardstickHandler: the yardstick reads and gunzips every body, and
// refuses a corrupt one as errlogd would.
func TestYardstickHandler(t *testing.T) {
	srv := httptest.NewServer(yardstick())
	defer srv.Close()
	var body bytes.Buffer
	zw := gzip.NewWriter(&body)
	zw.Write([]byte("{}\n{\"type\":\"event\"}\n{\"message\":\"x\"}\n"))
	zw.Close()
	post := func(b []byte) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/1/envelope/", bytes.NewReader(b))
		req.Header.Set("Content-Encoding", "gzip")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := 0; i < 3; i++ { // pooled readers are reset
		assert.Equal(t, 200, post(body.Bytes()))
	}
	cut := body.Bytes()[:body.Len()-6]
	assert.Equal(t, 400, post(cut), "a truncated gzip stream")
	assert.Equal(t, 400, post([]byte("not gzip")))
	assert.Equal(t, 200, post(body.Bytes()))
}

// TestBenchSameEvents: every run of a workload (the yardstick's, then
// errlogd's) picks the same sequence of events.
func TestBenchSameEvents(t *testing.T) {
	w, err := newWorkload(benchConfig{dsn: "http://k@127.0.0.1:1/1", size: "5000", groups: 20, seed: 7})
	require.NoError(t, err)
	a, b := w.picker(), w.picker()
	for i := 0; i < 1000; i++ {
		require.Same(t, a(), b(), "pick %d", i)
	}
}
