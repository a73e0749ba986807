package delivery

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fastTempDir is a temporary directory in memory where there is one: the
// 10,000-item tests measure the queue, not the disk, and on a disk mounted
// with online discard every unlink of a synced file costs about a
// millisecond.
func fastTempDir(t *testing.T) string {
	t.Helper()
	if runtime.GOOS == "linux" {
		if dir, err := os.MkdirTemp("/dev/shm", "errlog-delivery-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

// spoolFiles returns the names of legacy one-item files in dir, then the
// IDs of the write-ahead log's unacknowledged items, in order.
func spoolFiles(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, de := range des {
		if strings.HasSuffix(de.Name(), spoolExt) && de.Type().IsRegular() {
			if _, _, err := readSpoolFile(filepath.Join(dir, de.Name())); err != nil {
				names = append(names, de.Name()) // Spooled skips unreadable ones
			}
		}
	}
	ids, err := Spooled(dir)
	require.NoError(t, err)
	return append(names, ids...)
}

// closeShort closes q with a short deadline, for a peer that is down.
func closeShort(t *testing.T, q *Queue) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	return q.Close(ctx)
}

// checkBody makes the peer refuse (loudly) a body that did not survive the
// trip through the spool.
func checkBody(_ int, it Item) error {
	if want := "body of " + it.ID; string(it.Body) != want {
		return Permanent(fmt.Errorf("body of %q is %q", it.ID, it.Body))
	}
	return nil
}

func waitReceived(t *testing.T, p *peer, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.count) >= n
	}, 15*time.Second, time.Millisecond, "peer never received %d items", n)
}

func TestSpoolFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	name := spoolName(42, "<id@host>")
	assert.Equal(t, "00000000000000000042-_id@host_.spool", name)
	stamp, ok := parseSpoolName(name)
	assert.True(t, ok)
	assert.EqualValues(t, 42, stamp)
	assert.Len(t, spoolName(1, strings.Repeat("x", 500)), stampDigits+1+maxNameID+len(spoolExt))

	body := []byte("line 1\nline 2\n")
	size, err := writeSpoolFile(dir, name, "<id@host>", body)
	require.NoError(t, err)
	path := filepath.Join(dir, name)
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, info.Size(), size)

	id, got, err := readSpoolFile(path)
	require.NoError(t, err)
	assert.Equal(t, "<id@host>", id)
	assert.Equal(t, body, got)

	data, _ := os.ReadFile(path)
	data[len(data)-2] ^= 1
	require.NoError(t, os.WriteFile(path, data, 0o600))
	_, _, err = readSpoolFile(path)
	assert.ErrorIs(t, err, errCorrupt, "flipped bit")

	require.NoError(t, os.WriteFile(path, data[:len(data)/2], 0o600))
	_, _, err = readSpoolFile(path)
	assert.ErrorIs(t, err, errCorrupt, "truncated")
}

// A spool directory that cannot be used is reported once, and the queue
// goes on in memory: the disk is a fallback, never a gate in front of a
// peer that answers. (New used to fail, and errlog then left the whole
// tracker or mail out.)
func TestUnusableSpoolDirFallsBackToMemory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	for name, dir := range map[string]string{"a file": file, "under a file": filepath.Join(file, "spool")} {
		t.Run(name, func(t *testing.T) {
			p := newPeer(nil)
			q, log := newTestQueue(t, Options{Name: "tracker", Send: p.send, SpoolDir: dir})
			assert.Empty(t, q.dir)
			enqueueAll(t, q, ids("a", 3))
			flush(t, q)
			assert.Equal(t, ids("a", 3), p.received())
			require.Len(t, log.all(), 1)
			err := log.all()[0]
			assert.True(t, strings.HasPrefix(err.Error(), "errlog: tracker: spool: "), err.Error())
			assert.Contains(t, err.Error(), "keeping items in memory only")
		})
	}
}

// Flush and Close keep trying until their deadline, then say how many
// items they leave in the spool; the next queue delivers them.
func TestSpoolCloseLeavesUndeliveredForNextQueue(t *testing.T) {
	dir := t.TempDir()
	down := newPeer(alwaysDown)
	q1, log1 := newTestQueue(t, Options{Send: down.send, SpoolDir: dir})
	want := ids("s", 5)
	enqueueAll(t, q1, want)
	assert.Equal(t, want, spoolFiles(t, dir), "written ahead by Enqueue")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := q1.Flush(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "5 items not delivered yet (kept in the spool)")
	down.mu.Lock()
	calls := down.calls
	down.mu.Unlock()
	assert.Greater(t, calls, 3, "Flush kept retrying")
	err = closeShort(t, q1)
	require.ErrorIs(t, err, ErrClosed)
	assert.Contains(t, err.Error(), "errlog: test: close: 5 undelivered items left in the spool for the next start")
	assert.Len(t, spoolFiles(t, dir), 5)
	st := q1.Stats()
	assert.EqualValues(t, 5, st.Spooled)
	assert.Equal(t, 5, st.Pending, "left in the spool")
	assert.Zero(t, st.Sent+st.Dropped)
	assert.Empty(t, log1.all())

	up := newPeer(checkBody)
	q2, log2 := newTestQueue(t, Options{Send: up.send, SpoolDir: dir})
	flush(t, q2) // covers what was loaded from the spool
	assert.Equal(t, want, up.received(), "oldest first")
	assert.Empty(t, spoolFiles(t, dir))
	assert.Empty(t, log2.all())
	st2 := q2.Stats()
	assert.EqualValues(t, 5, st2.Sent)
	// What was sent is what this queue found in the spool, not what it
	// was given: Enqueued + Recovered = Sent + Dropped + Pending.
	assert.EqualValues(t, 0, st2.Enqueued)
	assert.EqualValues(t, 5, st2.Recovered)
	assert.EqualValues(t, 0, st.Recovered, "the first queue found nothing")
}

func TestSpoolIgnoresTmpAndGarbage(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}
	_, err := writeSpoolFile(dir, spoolName(1, "old"), "old", []byte("body of old"))
	require.NoError(t, err)
	write(spoolName(2, "garbage"), "not a spool file at all")
	_, err = writeSpoolFile(dir, spoolName(3, "torn"), "torn", []byte("body of torn"))
	require.NoError(t, err)
	require.NoError(t, os.Truncate(filepath.Join(dir, spoolName(3, "torn")), 20))
	write(spoolName(4, "crashed")+tmpExt, "errlog-spool 1 7 4")
	write(walPrefix+stampString(5)+walExt, "I 0 3 11 00000000\nnewbody of new")
	write("notes.txt", "not ours")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"+spoolExt), 0o700))

	p := newPeer(checkBody)
	q, log := newTestQueue(t, Options{Send: p.send, SpoolDir: dir})
	_, err = os.Stat(filepath.Join(dir, spoolName(4, "crashed")+tmpExt))
	assert.ErrorIs(t, err, os.ErrNotExist, "New deletes leftovers of interrupted writes")

	enqueueAll(t, q, []string{"new"})
	flush(t, q)
	assert.Equal(t, []string{"old", "new"}, p.received())
	assert.Empty(t, spoolFiles(t, dir), "unreadable files are deleted")
	assert.FileExists(t, filepath.Join(dir, "notes.txt"), "files that are not ours are left alone")
	assert.DirExists(t, filepath.Join(dir, "sub"+spoolExt))

	errs := log.all()
	require.Len(t, errs, 3, "two unreadable files, one damaged log segment")
	for _, err := range errs {
		assert.ErrorIs(t, err, errCorrupt)
	}
	assert.EqualValues(t, 2, q.Stats().Dropped)
}

func TestSpoolEvictionByCount(t *testing.T) {
	dir := t.TempDir()
	p := newPeer(alwaysDown)
	q, log := newTestQueue(t, Options{Send: p.send, SpoolDir: dir, MaxSpoolItems: 5})
	all := ids("n", 10)
	enqueueAll(t, q, all)
	require.Eventually(t, func() bool { return q.Stats().Evicted == 5 }, 5*time.Second, time.Millisecond)

	assert.Len(t, spoolFiles(t, dir), 5)
	st := q.Stats()
	assert.EqualValues(t, 5, st.Evicted)
	assert.Equal(t, 5, st.Pending)
	full := log.matching(ErrSpoolFull)
	require.NotEmpty(t, full)
	assert.Len(t, log.all(), len(full))

	p.setFail(checkBody)
	waitReceived(t, p, 5)
	flush(t, q)
	assert.Equal(t, all[5:], p.received(), "the newest survive")
}

func TestSpoolEvictionByBytes(t *testing.T) {
	w, _, _, err := openWAL(t.TempDir(), func() int64 { return 1 })
	require.NoError(t, err)
	ref, err := w.append("b00000", []byte("body of b00000"))
	require.NoError(t, err)
	w.close()
	size := int64(ref.n)

	dir := t.TempDir()
	p := newPeer(alwaysDown)
	q, log := newTestQueue(t, Options{Send: p.send, SpoolDir: dir, MaxSpoolBytes: 3*size + size/2})
	all := ids("b", 10)
	enqueueAll(t, q, all)
	require.Eventually(t, func() bool { return q.Stats().Evicted == 7 }, 5*time.Second, time.Millisecond)

	assert.Len(t, spoolFiles(t, dir), 3)
	assert.EqualValues(t, 7, q.Stats().Evicted)
	assert.NotEmpty(t, log.matching(ErrSpoolFull))

	p.setFail(checkBody)
	waitReceived(t, p, 3)
	flush(t, q)
	assert.Equal(t, all[7:], p.received())
}

// With QueueSize 2, items beyond the first two spooled ones are kept on
// disk only and read back when their turn comes.
func TestSpoolReadsBackBodiesBeyondQueueSize(t *testing.T) {
	dir := t.TempDir()
	p := newPeer(alwaysDown)
	q, log := newTestQueue(t, Options{Send: p.send, SpoolDir: dir, QueueSize: 2})
	all := ids("r", 8)
	for i, id := range all {
		enqueueAll(t, q, []string{id})
		require.Eventually(t, func() bool { return q.Stats().Spooled == uint64(i+1) }, 5*time.Second, time.Millisecond)
	}
	assert.Len(t, spoolFiles(t, dir), 8)
	p.setFail(checkBody)
	waitReceived(t, p, 8)
	assert.Equal(t, all, p.received())
	assert.Empty(t, log.all())
}

// The receiving side counts IDs: 10,000 items through a peer that is down
// for its first calls and flaky afterwards must each arrive exactly once.
func TestSpoolExactlyOnceThroughOutage(t *testing.T) {
	const n, producers = 10000, 4
	dir := fastTempDir(t)
	p := newPeer(func(call int, it Item) error {
		if call <= 300 || call%50 == 0 {
			return errDown
		}
		return checkBody(call, it)
	})
	q, log := newTestQueue(t, Options{Send: p.send, SpoolDir: dir, QueueSize: n, MaxBackoff: 2 * time.Millisecond})

	var wg sync.WaitGroup
	for g := 0; g < producers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for _, id := range ids(fmt.Sprintf("p%d-", g), n/producers) {
				if !q.Enqueue(Item{ID: id, Body: []byte("body of " + id)}) {
					t.Errorf("enqueue %s refused", id)
				}
			}
		}(g)
	}
	wg.Wait()
	waitReceived(t, p, n)
	flush(t, q)

	p.mu.Lock()
	assert.Len(t, p.count, n)
	for id, c := range p.count {
		if c != 1 {
			t.Errorf("%s received %d times", id, c)
		}
	}
	p.mu.Unlock()
	st := q.Stats()
	assert.EqualValues(t, n, st.Sent)
	assert.EqualValues(t, n, st.Spooled)
	assert.Zero(t, st.Dropped+st.Evicted+st.Failed+st.Duplicates)
	assert.Zero(t, st.Pending)
	assert.Empty(t, spoolFiles(t, dir))
	assert.Empty(t, log.all())
}

// A process closed mid-stream leaves the rest on disk; the next one
// delivers exactly that rest, in order.
func TestSpoolExactlyOnceAcrossRestart(t *testing.T) {
	const n = 3000
	dir := fastTempDir(t)
	var mu sync.Mutex
	var failing bool
	p := newPeer(func(call int, it Item) error {
		mu.Lock()
		defer mu.Unlock()
		if failing && call%7 == 0 {
			return errDown
		}
		return checkBody(call, it)
	})
	slow := func(ctx context.Context, it Item) error {
		time.Sleep(20 * time.Microsecond)
		return p.send(ctx, it)
	}
	all := ids("x", n)

	q1, log1 := newTestQueue(t, Options{Send: slow, SpoolDir: dir, QueueSize: n})
	enqueueAll(t, q1, all)
	waitReceived(t, p, 500)
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	err := q1.Close(ctx)
	require.ErrorIs(t, err, ErrClosed)
	assert.Contains(t, err.Error(), "left in the spool", "what is not delivered is on disk")
	st1 := q1.Stats()
	assert.Less(t, st1.Sent, uint64(n), "closed mid-stream")
	assert.Equal(t, n-int(st1.Sent), st1.Pending)
	assert.Len(t, spoolFiles(t, dir), st1.Pending)

	mu.Lock()
	failing = true
	mu.Unlock()
	q2, log2 := newTestQueue(t, Options{Send: p.send, SpoolDir: dir})
	waitReceived(t, p, n)

	got := p.received()
	assert.Equal(t, all, got, "each once, in order, across processes")
	require.Eventually(t, func() bool { return st1.Sent+q2.Stats().Sent == n }, 5*time.Second, time.Millisecond)
	assert.Empty(t, log1.all())
	assert.Empty(t, log2.all())
	flush(t, q2)
	assert.Empty(t, spoolFiles(t, dir))
}

// An acknowledged item whose spool file could not be deleted must not be
// sent again by the same process.
func TestSpoolSkipsAcknowledgedID(t *testing.T) {
	dir := t.TempDir()
	p := newPeer(nil)
	q, _ := newTestQueue(t, Options{Send: p.send, SpoolDir: dir})
	enqueueAll(t, q, []string{"a"})
	flush(t, q)
	enqueueAll(t, q, []string{"a", "b"})
	flush(t, q)
	assert.Equal(t, []string{"a", "b"}, p.received())
	assert.EqualValues(t, 1, q.Stats().Duplicates)
	assert.Empty(t, spoolFiles(t, dir), "the duplicate's file is removed too")
}

func TestSpoolKeepsEnqueueOrderWhenClockStepsBack(t *testing.T) {
	dir := t.TempDir()
	fixed := time.Unix(1000, 0)
	p := newPeer(alwaysDown)
	q, _ := newTestQueue(t, Options{Send: p.send, SpoolDir: dir, Now: func() time.Time { return fixed }})
	all := ids("t", 20)
	enqueueAll(t, q, all)
	assert.Equal(t, all, spoolFiles(t, dir))
	require.Error(t, closeShort(t, q))

	// A later process whose clock is behind appends after the first
	// one's items.
	q2, _ := newTestQueue(t, Options{Send: p.send, SpoolDir: dir, Now: func() time.Time { return fixed.Add(-time.Hour) }})
	more := ids("u", 3)
	enqueueAll(t, q2, more)
	assert.Equal(t, append(all, more...), spoolFiles(t, dir))
	var segs []string
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		if isSegmentName(de.Name()) {
			segs = append(segs, de.Name())
		}
	}
	assert.NotEmpty(t, segs)
	assert.True(t, sort.StringsAreSorted(segs))
}

func TestSpoolEvictsOnStartWhenOverLimits(t *testing.T) {
	dir := t.TempDir()
	down := newPeer(alwaysDown)
	q1, _ := newTestQueue(t, Options{Send: down.send, SpoolDir: dir})
	all := ids("o", 6)
	enqueueAll(t, q1, all)
	require.ErrorIs(t, closeShort(t, q1), ErrClosed)
	require.Len(t, spoolFiles(t, dir), 6)

	p := newPeer(checkBody)
	q2, log := newTestQueue(t, Options{Send: p.send, SpoolDir: dir, MaxSpoolItems: 2})
	flush(t, q2)
	assert.Equal(t, all[4:], p.received())
	assert.EqualValues(t, 4, q2.Stats().Evicted)
	assert.Len(t, log.matching(ErrSpoolFull), 1)
}

func TestSpoolRecreatesRemovedDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	p := newPeer(checkBody)
	q, log := newTestQueue(t, Options{Send: p.send, SpoolDir: dir})
	require.NoError(t, os.RemoveAll(dir))
	enqueueAll(t, q, []string{"a"})
	flush(t, q)
	assert.Equal(t, []string{"a"}, p.received())
	assert.EqualValues(t, 1, q.Stats().Spooled)
	assert.Empty(t, log.all())
}

// A spool directory removed while its log is open (a tmp cleaner): the
// items appended to the open file before the removal is seen are
// delivered from it while the process lives, and a Close that leaves them
// undelivered says they are lost, not left in the spool for a next start
// that would not find them. The open log went on taking items, and Close
// said they were left in the spool.
func TestSpoolDirRemovedWhileOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	p := newPeer(checkBody)
	q, log := newTestQueue(t, Options{Send: p.send, SpoolDir: dir})
	enqueueAll(t, q, []string{"first"})
	flush(t, q) // the log file exists, and is appended to

	p.setFail(alwaysDown)
	require.NoError(t, os.RemoveAll(dir))
	enqueueAll(t, q, ids("removed", 3))
	p.setFail(checkBody)
	flush(t, q)
	assert.Equal(t, append([]string{"first"}, ids("removed", 3)...), p.received(), "delivered from the open file")

	p.setFail(alwaysDown)
	require.NoError(t, os.RemoveAll(dir))
	enqueueAll(t, q, ids("lost", 2))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.Error(t, q.Close(ctx))
	lost := log.matching(ErrClosed)
	require.Len(t, lost, 1)
	assert.Contains(t, lost[0].Error(), "2 undelivered items lost")
}

// Once the removal is seen (the file appended to is looked for once a
// second), items go to a new log in the directory made again, which the
// next queue reads.
func TestSpoolDirRemovedThenRemade(t *testing.T) {
	defer func(d time.Duration) { removedEvery = d }(removedEvery)
	removedEvery = 0
	dir := filepath.Join(t.TempDir(), "spool")
	p := newPeer(checkBody)
	q, log := newTestQueue(t, Options{Send: p.send, SpoolDir: dir})
	enqueueAll(t, q, []string{"first"})
	flush(t, q)

	p.setFail(alwaysDown)
	require.NoError(t, os.RemoveAll(dir))
	enqueueAll(t, q, ids("kept", 2))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := q.Close(ctx)
	require.ErrorIs(t, err, ErrClosed)
	assert.Contains(t, err.Error(), "2 undelivered items left in the spool for the next start")
	assert.Empty(t, log.matching(ErrClosed), "nothing lost")

	next := newPeer(checkBody)
	q2, _ := newTestQueue(t, Options{Send: next.send, SpoolDir: dir})
	flush(t, q2)
	assert.Equal(t, ids("kept", 2), next.received())
}

// An item the spool cannot take is still delivered from memory; while the
// peer is down it keeps Flush waiting and is reported lost at Close.
func TestSpoolWriteFailureKeepsItemInMemory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	p := newPeer(checkBody)
	q, log := newTestQueue(t, Options{Send: p.send, SpoolDir: dir})
	// A file where the directory was: even root cannot write there.
	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, os.WriteFile(dir, nil, 0o600))

	enqueueAll(t, q, []string{"a"})
	flush(t, q)
	assert.Equal(t, []string{"a"}, p.received(), "delivered from memory")
	require.Len(t, log.all(), 1)
	assert.Contains(t, log.all()[0].Error(), "kept in memory only")

	p.setFail(alwaysDown)
	enqueueAll(t, q, []string{"b"})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, q.Flush(ctx), context.DeadlineExceeded, "b is not on disk")
	assert.Error(t, q.Close(ctx))
	lost := log.matching(ErrClosed)
	require.Len(t, lost, 1)
	assert.Contains(t, lost[0].Error(), "1 undelivered items lost")
}

// Two queues on one SpoolDir (two replicas on one host) must neither send
// nor delete each other's items; what the first left is delivered by the
// next queue that gets the directory itself.
func TestSpoolSharedDirGivesEachQueueItsOwnSlot(t *testing.T) {
	dir := t.TempDir()
	down := newPeer(alwaysDown)
	q1, log1 := newTestQueue(t, Options{Send: down.send, SpoolDir: dir})
	as := ids("a", 5)
	enqueueAll(t, q1, as)
	require.Len(t, spoolFiles(t, dir), 5, "on disk, in dir")

	up := newPeer(checkBody)
	q2, log2 := newTestQueue(t, Options{Send: up.send, SpoolDir: dir})
	assert.Equal(t, dir, q1.dir)
	assert.Equal(t, filepath.Join(dir, "slot-1"), q2.dir)
	bs := ids("b", 5)
	enqueueAll(t, q2, bs)
	flush(t, q2)
	assert.Equal(t, bs, up.received(), "q2 sends its own items, and only those")
	assert.Len(t, spoolFiles(t, dir), 5, "q1's items are untouched")

	require.ErrorIs(t, closeShort(t, q1), ErrClosed)
	require.NoError(t, q2.Close(context.Background()))
	assert.Empty(t, log1.all())
	assert.Empty(t, log2.all())

	next := newPeer(checkBody)
	q3, log3 := newTestQueue(t, Options{Send: next.send, SpoolDir: dir})
	assert.Equal(t, dir, q3.dir, "the directory is free again")
	flush(t, q3)
	assert.Equal(t, as, next.received(), "what q1 left, each once")
	assert.Empty(t, spoolFiles(t, dir))
	assert.Empty(t, log3.all())
	q4, _ := newTestQueue(t, Options{Send: next.send, SpoolDir: dir})
	assert.Equal(t, filepath.Join(dir, "slot-1"), q4.dir, "a replica gets the same slot again")
}

// What a replica left in its slot is delivered by the queue that next
// holds that slot or, the replicas gone, by the holder of SpoolDir itself.
func TestSpoolSlotLeftoversDelivered(t *testing.T) {
	dir := t.TempDir()
	up := newPeer(checkBody)
	q1, _ := newTestQueue(t, Options{Send: up.send, SpoolDir: dir})
	down := newPeer(alwaysDown)
	q2, _ := newTestQueue(t, Options{Send: down.send, SpoolDir: dir})
	cs := ids("c", 3)
	enqueueAll(t, q2, cs)
	require.ErrorIs(t, closeShort(t, q2), ErrClosed)
	slot := filepath.Join(dir, "slot-1")
	require.Len(t, spoolFiles(t, slot), 3)

	// A restart while q1 runs: the same slot, and its items.
	again := newPeer(checkBody)
	q3, _ := newTestQueue(t, Options{Send: again.send, SpoolDir: dir})
	assert.Equal(t, slot, q3.dir)
	flush(t, q3)
	assert.Equal(t, cs, again.received())
	assert.Empty(t, up.received(), "q1 never saw them")

	// Left in the slot with no replica to come back for them: the next
	// holder of dir takes them in.
	require.NoError(t, q3.Close(context.Background()))
	q4, _ := newTestQueue(t, Options{Send: down.send, SpoolDir: dir})
	require.Equal(t, slot, q4.dir)
	ds := ids("d", 3)
	enqueueAll(t, q4, ds)
	require.ErrorIs(t, closeShort(t, q4), ErrClosed)
	require.NoError(t, q1.Close(context.Background()))
	last := newPeer(checkBody)
	q5, log5 := newTestQueue(t, Options{Send: last.send, SpoolDir: dir})
	require.Equal(t, dir, q5.dir)
	flush(t, q5)
	assert.Equal(t, ds, last.received())
	assert.Empty(t, spoolFiles(t, slot))
	assert.Empty(t, log5.all())
}

func TestSpoolAllSlotsTaken(t *testing.T) {
	dir := t.TempDir()
	p := newPeer(nil)
	seen := map[string]bool{}
	for i := 0; i <= maxSlots; i++ {
		q, _ := newTestQueue(t, Options{Send: p.send, SpoolDir: dir})
		assert.False(t, seen[q.dir], "%s given twice", q.dir)
		seen[q.dir] = true
	}
	// The seventeenth goes on in memory.
	q, log := newTestQueue(t, Options{Name: "tracker", Send: p.send, SpoolDir: dir})
	assert.Empty(t, q.dir)
	require.Len(t, log.matching(errLocked), 1)
	assert.True(t, strings.HasPrefix(log.all()[0].Error(), "errlog: tracker: spool: "), log.all()[0].Error())
	enqueueAll(t, q, ids("z", 2))
	flush(t, q)
	assert.Subset(t, p.received(), ids("z", 2))
}

// With a spool, a burst larger than QueueSize while the worker is stuck
// in a Send is written ahead and kept on disk only: nothing is dropped,
// and the order holds.
func TestSpoolOverflowBeyondQueueSizeIsKept(t *testing.T) {
	dir := t.TempDir()
	release := make(chan struct{})
	p := newPeer(checkBody)
	send := func(ctx context.Context, it Item) error {
		<-release
		return p.send(ctx, it)
	}
	q, log := newTestQueue(t, Options{Send: send, SpoolDir: dir, QueueSize: 2})
	all := ids("o", 50)
	enqueueAll(t, q, all)
	assert.Equal(t, all, spoolFiles(t, dir))
	close(release)
	flush(t, q)
	assert.Equal(t, all, p.received())
	assert.Zero(t, q.Stats().Dropped)
	assert.Empty(t, spoolFiles(t, dir))
	assert.Empty(t, log.all())
}

// Flush keeps retrying through an outage shorter than its deadline,
// whatever the backoff had grown to.
func TestFlushRetriesUntilPeerIsBack(t *testing.T) {
	dir := t.TempDir()
	upAt := time.Now().Add(400 * time.Millisecond)
	p := newPeer(func(int, Item) error {
		if time.Now().Before(upAt) {
			return errDown
		}
		return nil
	})
	q, _ := newTestQueue(t, Options{Send: p.send, SpoolDir: dir, MinBackoff: 200 * time.Millisecond, MaxBackoff: time.Hour})
	all := ids("f", 20)
	enqueueAll(t, q, all)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	require.NoError(t, q.Close(ctx))
	assert.Less(t, time.Since(start), 2*time.Second, "retries were capped to the deadline, not left to a growing backoff")
	assert.Equal(t, all, p.received())
	assert.Empty(t, spoolFiles(t, dir))
}

// An item the peer never takes in time (a huge mail on a slow link) is
// moved behind the others after maxTimeouts timeouts, and given up once it
// keeps timing out while the others get through.
func TestTimedOutItemDoesNotBlockTheRest(t *testing.T) {
	p := newPeer(nil)
	send := func(ctx context.Context, it Item) error {
		if it.ID == "big" {
			<-ctx.Done()
			return fmt.Errorf("DATA: %w", ctx.Err())
		}
		return p.send(ctx, it)
	}
	q, log := newTestQueue(t, Options{Send: send, SendTimeout: 20 * time.Millisecond})
	enqueueAll(t, q, []string{"big", "a", "b", "c"})
	require.Eventually(t, func() bool { return len(p.received()) == 3 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, []string{"a", "b", "c"}, p.received())
	require.Eventually(t, func() bool { return q.Stats().Failed == 1 }, 5*time.Second, time.Millisecond, "%v %+v", log.all(), q.Stats())
	var moved, gaveUp int
	for _, err := range log.all() {
		switch {
		case strings.Contains(err.Error(), "item big timed out 3 times; sending the 3 items behind it first"):
			moved++
		case strings.Contains(err.Error(), "giving up item big after 6 attempts that timed out while other items were delivered"):
			gaveUp++
		}
	}
	assert.Equal(t, 1, moved, "%v", log.all())
	assert.Equal(t, 1, gaveUp, "%v", log.all())
	flush(t, q)
}

// Close after a storm does not spend its deadline on the disk: 5,000
// items with the peer down are left in the spool, with one fsync.
func TestCloseAfterStormIsQuick(t *testing.T) {
	dir := t.TempDir()
	q, _ := newTestQueue(t, Options{Send: newPeer(alwaysDown).send, SpoolDir: dir, QueueSize: 256})
	all := ids("s", 5000)
	enqueueAll(t, q, all)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := q.Close(ctx)
	assert.Less(t, time.Since(start), 300*time.Millisecond+200*time.Millisecond)
	require.ErrorIs(t, err, ErrClosed)
	assert.Contains(t, err.Error(), "5000 undelivered items left in the spool")
	assert.Len(t, spoolFiles(t, dir), 5000)
}

// A torn last record (a crash in the middle of a write) costs that record
// only: it is cut off, and acknowledgements written afterwards hold, so
// that a third process does not send again what the second delivered.
func TestSpoolTornRecordIsCutOff(t *testing.T) {
	dir := t.TempDir()
	q1, _ := newTestQueue(t, Options{Send: newPeer(alwaysDown).send, SpoolDir: dir})
	enqueueAll(t, q1, ids("a", 3))
	require.Error(t, closeShort(t, q1))
	segs, _ := filepath.Glob(filepath.Join(dir, walPrefix+"*"))
	require.Len(t, segs, 1)
	f, err := os.OpenFile(segs[0], os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	f.WriteString("I 3 6 100 0000")
	f.Close()

	p := newPeer(checkBody)
	q2, log := newTestQueue(t, Options{Send: p.send, SpoolDir: dir})
	flush(t, q2)
	assert.Equal(t, ids("a", 3), p.received())
	assert.Len(t, log.matching(errCorrupt), 1)
	require.NoError(t, q2.Close(context.Background()))

	p3 := newPeer(nil)
	q3, _ := newTestQueue(t, Options{Send: p3.send, SpoolDir: dir})
	flush(t, q3)
	assert.Empty(t, p3.received(), "nothing is sent twice")
}

// A spool that cannot record deliveries (a full disk) says so once, not
// once per item delivered, and says how many once it records one again.
// Every item delivered said the same.
func TestSpoolAckFailuresReportedOnce(t *testing.T) {
	dir := t.TempDir()
	p := newPeer(alwaysDown)
	q, log := newTestQueue(t, Options{Send: p.send, SpoolDir: dir})
	enqueueAll(t, q, ids("full", 10))
	// The log's files can take nothing more, as on a full disk.
	q.wal.mu.Lock()
	for _, s := range q.wal.segs {
		s.f.Close()
	}
	q.wal.mu.Unlock()
	p.setFail(checkBody)
	flush(t, q)
	assert.Len(t, p.received(), 10)
	var failed []string
	for _, err := range log.all() {
		if strings.Contains(err.Error(), "already closed") {
			failed = append(failed, err.Error())
		}
	}
	assert.Len(t, failed, 1, "reports %q", log.all())
}
