//go:build linux

package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDiskFull: errlogd on SQLite on a disk that fills up (a tmpfs of 4
// MB, -min-free-mb 0 so that SQLite itself meets the full disk), with
// events of varied sizes from 16 clients. Every event is answered 200 or
// 503, never 400: the writer's retry of a failed batch event by event
// (commitEach) took "one event of the batch committed" (a small one fits
// where a larger one does not) to mean that the others were bad, and
// answered them 400, which SDKs drop for good. Once the disk is full,
// healthz (the container's HEALTHCHECK) says so, and stderr says the
// failure a few times, not once or twice per refused event.
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	p := start(t, nil, "-addr", "127.0.0.1:0", "-db", dir+"/e.db", "-min-free-mb", "0")
	key := firstKey(t, p)
	client := &http.Client{Timeout: 10 * time.Second}
	pad := strings.Repeat("x", 8000)
	var mu sync.Mutex
	codes := map[int]int{}
	var odd []string // answers neither 200 nor 503
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 600; i++ {
				body := fmt.Sprintf(`{"message":"m%d","extra":{"p":"%s-%d-%d"}}`, i%10, pad[:10+(i*997+w*331)%(len(pad)-10)], w, i)
				code, msg, err := sendEventMsg(client, p.base, key, body)
				mu.Lock()
				if err != nil {
					code, msg = -1, err.Error()
				}
				codes[code]++
				if code != http.StatusOK && code != http.StatusServiceUnavailable && len(odd) < 3 {
					odd = append(odd, fmt.Sprintf("%d %s", code, msg))
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	t.Logf("answers: %v", codes)
	require.Greater(t, codes[http.StatusServiceUnavailable], 100, "the disk filled up")
	assert.Empty(t, odd, "a full disk is retryable (503); SDKs drop a 400 for good")

	// The disk is full: one more event is refused, and health says so.
	code, err := sendEvent(client, p.base, key, `{"message":"after"}`)
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	resp, err := client.Get(p.base + "/healthz")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.NotEqual(t, http.StatusOK, resp.StatusCode, "healthz while every event is refused for a full disk: %d %s", resp.StatusCode, b)

	lines := strings.Count(p.errText(), "disk is full")
	t.Logf("%d events refused; %d stderr lines say the disk is full", codes[http.StatusServiceUnavailable], lines)
	assert.Less(t, lines, 20, "one full disk, said a few times, not once or twice per refused event")
	p.stop(t)
}

func sendEventMsg(client *http.Client, base, key, body string) (int, string, error) {
	req, _ := http.NewRequest("POST", base+"/api/1/store/", strings.NewReader(body))
	req.Header.Set("X-Sentry-Auth", "Sentry sentry_version=7, sentry_key="+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b), nil
}
