package errlog

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/internal/trackertest"
	"github.com/errlog/errlog/tracker"
)

// The kill -9 test of the write-ahead spool: a child process logs ERROR
// records as fast as it can (or pauses), the parent kills it with SIGKILL,
// then a second child opens the same spool with the tracker up and closes.
// Every record the first child's Handle accepted must reach the tracker,
// except those still in the handler's channel at the kill.

const killChildEnv = "ERRLOG_TEST_KILL_CHILD"

type killSpec struct {
	DSN, Dir  string
	QueueSize int
	Mode      string // "storm", "pause" (log Pause records, then sleep), "drain"
	Pause     int
	Sleep     time.Duration // between records
}

// TestKillChild is the child process of TestKillSpool.
func TestKillChild(t *testing.T) {
	raw := os.Getenv(killChildEnv)
	if raw == "" {
		t.Skip("run by TestKillSpool")
	}
	var s killSpec
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		t.Fatal(err)
	}
	h := NewHandler(Options{
		Console:         io.Discard,
		Tracker:         &tracker.Options{DSN: s.DSN, MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond},
		SpoolDir:        s.Dir,
		QueueSize:       s.QueueSize,
		OnDeliveryError: func(error) {},
	})
	ctx := context.Background()
	if s.Mode == "drain" {
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		err := h.Close(cctx)
		os.Stdout.WriteString("closed " + strconv.Quote(errString(err)) + "\n")
		os.Exit(0)
	}
	for i := 0; ; i++ {
		if s.Mode == "pause" && i == s.Pause {
			os.Stdout.WriteString("paused\n") // unbuffered: the parent sees each line before the kill
			time.Sleep(time.Hour)
		}
		before := h.c.dropped.Load()
		r := newKillRecord(i)
		h.Handle(ctx, r)
		if h.c.dropped.Load() == before {
			os.Stdout.WriteString("logged " + strconv.Itoa(i) + "\n")
		} else {
			os.Stdout.WriteString("dropped " + strconv.Itoa(i) + "\n")
		}
		if s.Sleep > 0 {
			time.Sleep(s.Sleep)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// runKillChild starts a child with spec and returns it with its stdout.
func runKillChild(t *testing.T, s killSpec) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	spec, _ := json.Marshal(s)
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), killChildEnv+"="+string(spec))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, bufio.NewScanner(out)
}

// killResult is what one kill -9 run measured.
type killResult struct {
	logged, dropped, received, lost, dups int
}

func killRun(t *testing.T, trackerUp bool, s killSpec, killAt int) killResult {
	f := trackertest.NewFake(t)
	f.SetValidate(0)
	if !trackerUp {
		f.SetFault(func(_ int, w http.ResponseWriter, _ *http.Request) bool {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		})
	}
	s.DSN, s.Dir = f.DSN(), t.TempDir()
	cmd, sc := runKillChild(t, s)
	var res killResult
	logged := map[int]bool{}
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "logged "); ok {
			i, _ := strconv.Atoi(v)
			logged[i] = true
		} else if strings.HasPrefix(line, "dropped ") {
			res.dropped++
		}
		if line == "paused" {
			time.Sleep(pauseBeforeKill)
			break
		}
		if killAt > 0 && len(logged) >= killAt {
			break
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	res.logged = len(logged)

	f.SetFault(func(int, http.ResponseWriter, *http.Request) bool { return false })
	d := s
	d.Mode = "drain"
	cmd2, sc2 := runKillChild(t, d)
	for sc2.Scan() {
		t.Logf("drain: %s", sc2.Text())
	}
	cmd2.Wait()

	seen := map[int]int{}
	for _, ev := range f.Acked() {
		msg := ev.Logentry.Formatted
		if msg == "" {
			msg = ev.Logentry.Message
		}
		if v, ok := strings.CutPrefix(msg, "kill "); ok {
			i, _ := strconv.Atoi(v)
			seen[i]++
		}
	}
	for i := range logged {
		if seen[i] == 0 {
			res.lost++
		}
	}
	for _, n := range seen {
		res.received++
		if n > 1 {
			res.dups += n - 1
		}
	}
	return res
}

// pauseBeforeKill is how long the logging pauses before the kill in the
// "paused" cases: 100 ms, in which errlog's delivery goroutine builds and
// writes ahead the up to 256 events still in its channel. The race
// detector makes building an event some 20 times slower, so under it the
// pause is 2 s.
var pauseBeforeKill = 100 * time.Millisecond

func newKillRecord(i int) slog.Record {
	var pcs [1]uintptr
	runtime.Callers(2, pcs[:])
	r := slog.NewRecord(time.Now(), slog.LevelError, "kill "+strconv.Itoa(i), pcs[0])
	r.AddAttrs(slog.Int("i", i), slog.String("user", "ann"))
	return r
}

func TestKillSpool(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	const queue = 256
	cases := []struct {
		name   string
		up     bool
		spec   killSpec
		killAt int
		max    int
	}{
		// At most the records in the channel and the one being built.
		{"tracker up, storm", true, killSpec{QueueSize: queue, Mode: "storm"}, 800, queue + 1},
		{"tracker down, storm", false, killSpec{QueueSize: queue, Mode: "storm"}, 800, queue + 1},
		{"tracker up, paused 100ms", true, killSpec{QueueSize: queue, Mode: "pause", Pause: 800, Sleep: 200 * time.Microsecond}, 0, 0},
		{"tracker down, paused 100ms", false, killSpec{QueueSize: queue, Mode: "pause", Pause: 800, Sleep: 200 * time.Microsecond}, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := killRun(t, c.up, c.spec, c.killAt)
			t.Logf("logged %d (channel drops %d), received %d, lost %d, duplicates %d", r.logged, r.dropped, r.received, r.lost, r.dups)
			if r.lost > c.max {
				t.Errorf("lost %d of %d records accepted by Handle, want at most %d", r.lost, r.logged, c.max)
			}
		})
	}
}
