package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCloseDeadlineWhileCommitting: Close's deadline ends while the
// writer is still committing a queue of large events (issue 20.4: the
// pools were closed under the writer, which then crashed on a nil pool).
// Close returns the deadline's error and abandons the rest of the queue
// safely: the writer finishes or aborts its batch, answers what is left
// with ErrClosed, and closes the database itself; nothing crashes, later
// calls answer ErrClosed, and what was committed is there on reopening.
func TestCloseDeadlineWhileCommitting(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "errlog.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(t, err)
	p, err := s.DefaultProject(ctx)
	require.NoError(t, err)
	// (Issue 20.4: Deliver 10,000 events with 4 KB extras, Close with a
	// 1 ms deadline crashed 5 runs of 6.) Here another connection holds
	// the write lock, so that the writer's first batch waits in its
	// transaction while the queue fills, as a slow disk would make it:
	// the race is lost every time.
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	require.NoError(t, err)
	defer other.Close()
	lock, err := other.Conn(ctx)
	require.NoError(t, err)
	_, err = lock.ExecContext(ctx, `BEGIN IMMEDIATE`)
	require.NoError(t, err)
	extra := map[string]any{"blob": strings.Repeat("x", 4096)}
	for i := 0; i < 1000; i++ {
		s.Deliver(&event.Event{Logentry: &event.Logentry{Message: "big event"}, Extra: extra, Timestamp: time.Now()})
	}
	// A Submit waiting behind the Deliveries gets an answer, whichever.
	in, err := store.Prepare(p, &event.Event{Logentry: &event.Logentry{Message: "submitted"}}, nil, time.Now())
	require.NoError(t, err)
	submitted := make(chan error, 1)
	go func() { submitted <- s.Submit(ctx, in) }()

	short, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	err = s.Close(short)
	require.ErrorIs(t, err, context.DeadlineExceeded, "the queue cannot be written in 1 ms")
	_, err = lock.ExecContext(ctx, `ROLLBACK`)
	require.NoError(t, err)
	lock.Close()

	select {
	case err := <-submitted:
		if err != nil {
			assert.True(t, errors.Is(err, store.ErrClosed) || errors.Is(err, store.ErrQueueFull), "%v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a Submit waiting at Close got no answer")
	}
	// Everything answers ErrClosed, nothing crashes.
	assert.ErrorIs(t, s.Submit(ctx, in), store.ErrClosed)
	s.Deliver(&event.Event{Logentry: &event.Logentry{Message: "late"}})
	assert.NoError(t, s.Flush(ctx))
	assert.NoError(t, s.Close(ctx), "a second Close waits for the abandoned writer")
	_, err = s.Projects(ctx)
	assert.Error(t, err, "the database is closed")
	assert.Eventually(t, func() bool {
		buf := make([]byte, 1<<20)
		return !strings.Contains(string(buf[:runtime.Stack(buf, true)]), "sqlstore.(*writer).run")
	}, 10*time.Second, 10*time.Millisecond, "the writer goroutine ends")

	// Reopened: the batches committed before the deadline are whole.
	s, err = sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(t, err)
	defer s.Close(ctx)
	st, err := s.Stats(ctx)
	require.NoError(t, err)
	assert.Less(t, st.Events, int64(1001), "the abandoned queue was not written")
	page, err := s.ListGroups(ctx, store.GroupQuery{})
	require.NoError(t, err)
	var n int64
	for _, g := range page.Groups {
		n += g.Count
	}
	assert.Equal(t, st.Events, n, "group counts match the events committed")
}

// TestLostFile: the database file deleted or replaced while the store is
// open (issue 20.3: errlogd kept acknowledging into a file nobody could
// read again). Submit fails with ErrLost, Health fails, OnError says it
// once; when the very file is back at its path, writes resume.
func TestLostFile(t *testing.T) {
	for _, how := range []string{"deleted", "replaced"} {
		t.Run(how, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			path := filepath.Join(dir, "errlog.db")
			var mu sync.Mutex
			var said []string
			s, err := sqlite.Open(ctx, path, sqlite.Options{Writer: store.WriterOptions{OnError: func(err error) {
				mu.Lock()
				said = append(said, err.Error())
				mu.Unlock()
			}}})
			require.NoError(t, err)
			defer s.Close(ctx)
			p, err := s.CreateProject(ctx, "p")
			require.NoError(t, err)
			submit := func() error {
				in, err := store.Prepare(p, &event.Event{Logentry: &event.Logentry{Message: "m"}}, nil, time.Now())
				require.NoError(t, err)
				return s.Submit(ctx, in)
			}
			require.NoError(t, submit())
			require.NoError(t, s.Health(ctx))

			// Keep the file under another name, to put it back later.
			kept := filepath.Join(dir, "kept.db")
			require.NoError(t, os.Link(path, kept))
			if how == "deleted" {
				require.NoError(t, os.Remove(path))
			} else {
				other := filepath.Join(dir, "other.db")
				o, err := sqlite.Open(ctx, other, sqlite.Options{})
				require.NoError(t, err)
				require.NoError(t, o.Close(ctx))
				require.NoError(t, os.Rename(other, path))
			}
			for i := 0; i < 3; i++ {
				assert.ErrorIs(t, submit(), store.ErrLost, "never acknowledged into a lost file")
			}
			if how == "deleted" {
				// Reads on new connections (the read pool opens more
				// under load) do not make an empty database at the path,
				// which a restart would take for a new store.
				for range 10 {
					var wg sync.WaitGroup
					for i := 0; i < 16; i++ {
						wg.Add(1)
						go func() {
							defer wg.Done()
							_, _ = s.Stats(ctx)
						}()
					}
					wg.Wait()
				}
				_, err := os.Stat(path)
				assert.ErrorIs(t, err, os.ErrNotExist, "no new file at the path")
			}
			_, err = s.CreateProject(ctx, "into the lost file")
			assert.ErrorIs(t, err, store.ErrLost, "nor a project")
			assert.ErrorIs(t, s.SetStatus(ctx, []int64{1}, store.StatusResolved), store.ErrLost)
			s.Deliver(&event.Event{Logentry: &event.Logentry{Message: "delivered"}})
			require.NoError(t, s.Flush(ctx))
			err = s.Health(ctx)
			assert.ErrorIs(t, err, store.ErrLost)
			assert.ErrorContains(t, err, path+" was "+how)
			mu.Lock()
			lost := 0
			for _, m := range said {
				if strings.Contains(m, "was "+how) {
					lost++
				}
			}
			mu.Unlock()
			assert.Equal(t, 1, lost, "said once: %q", said)

			require.NoError(t, os.Rename(kept, path))
			require.NoError(t, s.Health(ctx), "the file is back")
			require.NoError(t, submit())
			mu.Lock()
			assert.Contains(t, said[len(said)-1], "is back")
			mu.Unlock()
			st, err := s.Stats(ctx)
			require.NoError(t, err)
			assert.Equal(t, int64(2), st.Events, "the two acknowledged events, none of the refused")
		})
	}
}

// TestLostFileFoundWithoutEvents: the check also runs every
// sqlstore.CheckInterval, so that a lost file is said, and Health fails,
// with no event arriving.
func TestLostFileFoundWithoutEvents(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "errlog.db")
	said := make(chan string, 10)
	s, err := sqlite.Open(ctx, path, sqlite.Options{Writer: store.WriterOptions{OnError: func(err error) { said <- err.Error() }}})
	require.NoError(t, err)
	defer s.Close(ctx)
	require.NoError(t, os.Remove(path))
	select {
	case m := <-said:
		assert.Contains(t, m, "was deleted")
	case <-time.After(10 * time.Second):
		t.Fatal("the deleted file was not noticed")
	}
}
