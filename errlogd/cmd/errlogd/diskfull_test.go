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

// TestDiskFullHealthAndStderr: errlogd on SQLite on a full disk (a small
// tmpfs, -min-free-mb 0 so that SQLite itself meets the full disk).
// docs/store.md: "Health(ctx) … is nil when the store can take writes";
// healthz is the container's HEALTHCHECK. While every event is answered
// 503 (disk full), healthz must not answer 200 "ok". And a full disk is
// one failure: stderr must not get a line per refused event (it got two:
// ingest's OnError and the writer's, thousands a minute under load).
func TestDiskFullHealthAndStderr(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	db := dir + "/e.db"
	p := start(t, nil, "-addr", "127.0.0.1:0", "-db", db, "-min-free-mb", "0")
	key := firstKey(t, p)
	client := &http.Client{Timeout: 10 * time.Second}
	pad := strings.Repeat("x", 8000)
	var mu sync.Mutex
	refused := 0
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 1500; i++ {
				// Sizes vary, as real events' do: near a full disk a
				// small one may fit where a large one does not.
				body := fmt.Sprintf(`{"message":"m%d","extra":{"p":"%s-%d-%d"}}`, i%10, pad[:100+(i*997+w*331)%(len(pad)-100)], w, i)
				code, msg, err := sendEventMsg(client, p.base, key, body)
				require.NoError(t, err)
				if code != 200 {
					require.Equal(t, http.StatusServiceUnavailable, code, "a full disk is retryable, not %d %s", code, msg)
					mu.Lock()
					refused++
					mu.Unlock()
				}
			}
		}(w)
	}
	wg.Wait()
	require.Greater(t, refused, 100, "the disk filled up")

	// The disk is full: one more event is refused...
	code, err := sendEvent(client, p.base, key, `{"message":"after"}`)
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	// ...and health says so.
	resp, err := client.Get(p.base + "/healthz")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.NotEqual(t, http.StatusOK, resp.StatusCode, "healthz while every event is refused for a full disk: %d %s", resp.StatusCode, b)

	lines := strings.Count(p.errText(), "disk is full")
	t.Logf("%d events refused; %d stderr lines say the disk is full", refused, lines)
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

// TestDiskFullNeverRejects: on a full disk every event must be answered
// with a status the SDK retries (503), never 400: the writer's per-event
// retry (commitEach) takes "one event of the batch committed" to mean that
// the others are bad, and answers them 400 ("event refused by the
// database: … database or disk is full") — SDKs drop a 400 for good.
// Near a full disk a small event fits where a larger one does not.
func TestDiskFullNeverRejects(t *testing.T) {
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
	var rejected []string
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 600; i++ {
				body := fmt.Sprintf(`{"message":"m%d","extra":{"p":"%s-%d-%d"}}`, i%10, pad[:10+(i*997+w*331)%(len(pad)-10)], w, i)
				code, msg, err := sendEventMsg(client, p.base, key, body)
				require.NoError(t, err)
				mu.Lock()
				codes[code]++
				if code == http.StatusBadRequest && len(rejected) < 3 {
					rejected = append(rejected, msg)
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	t.Logf("answers: %v", codes)
	require.Greater(t, codes[http.StatusServiceUnavailable], 100, "the disk filled up")
	assert.Zero(t, codes[http.StatusBadRequest], "events answered 400 for a full disk (SDKs drop them): %q", rejected)
}
