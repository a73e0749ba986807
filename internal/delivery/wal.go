package delivery

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The write-ahead log. Items are appended to a segment file before the
// worker first tries to send them, and an acknowledgement record is
// appended to the same segment once each is delivered, failed for good or
// evicted; a segment whose items are all acknowledged is deleted. Each
// record is one write(2) and nothing is fsynced on the way to a healthy
// peer: a process that crashes (panic, OOM kill, kill -9) loses nothing
// written, since the kernel holds it; only a power cut can lose the last
// seconds, and Close fsyncs what is left once.
//
// A segment is self-contained (its acknowledgements follow its items), so
// segments can be deleted, or moved between slot directories, in any
// order:
//
//	I <seq> <len(ID)> <len(Body)> <crc32 of ID+Body, 8 hex digits>\n<ID><Body>
//	A <seq>\n
//
// Segment names are "wal-<20-digit stamp>.log", sorting in write order.
const (
	walPrefix = "wal-"
	walExt    = ".log"
	// segmentMax is the size past which the next item starts a new
	// segment, so that one stuck item keeps at most this much dead data
	// on disk.
	segmentMax = 4 << 20
)

// segment is one WAL file.
type segment struct {
	name string
	f    *os.File // O_RDWR|O_APPEND
	size int64
	live int // items not yet acknowledged
	next uint64
	// gone: the file was removed from the directory while open (a tmp
	// cleaner, an operator). Its items are still read through f, but no
	// restart would find them: they are the process's memory's only.
	gone bool
}

// walRef locates an item's record.
type walRef struct {
	seg *segment
	seq uint64
	off int64 // of the record's header
	n   int   // the record's length
}

// wal is a spool directory's log. Enqueue (any goroutine) appends items;
// the worker appends acknowledgements and reads items back.
type wal struct {
	dir       string
	nextStamp func() int64

	mu      sync.Mutex
	segs    []*segment // oldest first; the last one is appended to
	buf     []byte
	checked time.Time // when the last segment was last looked for (removed)
}

// walItem is an unacknowledged item found by openWAL.
type walItem struct {
	ref  walRef
	id   string
	size int64
}

func isSegmentName(name string) bool {
	return strings.HasPrefix(name, walPrefix) && strings.HasSuffix(name, walExt)
}

// openWAL loads every segment in dir and returns the items not yet
// acknowledged, oldest first. An item whose ID appears twice (an item
// rewritten before the old copy's acknowledgement was written) is returned
// once. A damaged record ends its segment's reading: what follows cannot be
// framed; bad counts the segments where that happened.
func openWAL(dir string, nextStamp func() int64) (w *wal, items []walItem, bad int, err error) {
	w = &wal{dir: dir, nextStamp: nextStamp}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, 0, err
	}
	seen := map[string]bool{}
	for _, de := range des {
		if !de.Type().IsRegular() || !isSegmentName(de.Name()) {
			continue
		}
		s, its, damaged, err := loadSegment(dir, de.Name())
		if err != nil {
			w.close()
			return nil, nil, 0, err
		}
		if damaged {
			bad++
		}
		for _, it := range its {
			if it.id != "" && seen[it.id] {
				w.ackLocked(s, it.ref.seq)
				continue
			}
			seen[it.id] = true
			items = append(items, it)
		}
		if s.live == 0 {
			s.f.Close()
			os.Remove(filepath.Join(dir, s.name))
			continue
		}
		w.segs = append(w.segs, s)
	}
	return w, items, bad, nil
}

func loadSegment(dir, name string) (*segment, []walItem, bool, error) {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, false, err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, nil, false, err
	}
	s := &segment{name: name, f: f, size: int64(len(data))}
	var items []walItem
	index := map[uint64]int{}
	damaged := false
	for off := 0; off < len(data); {
		kind, seq, id, body, n, ok := parseRecord(data[off:])
		if !ok {
			// What follows cannot be framed. Cut it off, so that the
			// acknowledgements appended from now on are read next time.
			damaged = true
			if f.Truncate(int64(off)) == nil {
				s.size = int64(off)
			} else {
				s.size = segmentMax // never append after garbage
			}
			break
		}
		switch kind {
		case 'I':
			index[seq] = len(items)
			items = append(items, walItem{ref: walRef{seg: s, seq: seq, off: int64(off), n: n}, id: id, size: int64(n)})
			_ = body
		case 'A':
			if i, ok := index[seq]; ok {
				items[i].ref.seg = nil
				delete(index, seq)
			}
		}
		s.next = max(s.next, seq+1)
		off += n
	}
	live := items[:0]
	for _, it := range items {
		if it.ref.seg != nil {
			live = append(live, it)
		}
	}
	s.live = len(live)
	return s, live, damaged, nil
}

// parseRecord reads the record at the start of b.
func parseRecord(b []byte) (kind byte, seq uint64, id string, body []byte, n int, ok bool) {
	nl := bytes.IndexByte(b[:min(len(b), 80)], '\n')
	if nl < 3 || b[1] != ' ' {
		return 0, 0, "", nil, 0, false
	}
	fields := strings.Fields(string(b[2:nl]))
	kind = b[0]
	var err error
	switch {
	case kind == 'A' && len(fields) == 1:
		seq, err = strconv.ParseUint(fields[0], 10, 64)
		return kind, seq, "", nil, nl + 1, err == nil
	case kind == 'I' && len(fields) == 4:
		seq, err1 := strconv.ParseUint(fields[0], 10, 64)
		idLen, err2 := strconv.Atoi(fields[1])
		bodyLen, err3 := strconv.Atoi(fields[2])
		crc, err4 := strconv.ParseUint(fields[3], 16, 32)
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil || idLen < 0 || bodyLen < 0 || nl+1+idLen+bodyLen > len(b) {
			return 0, 0, "", nil, 0, false
		}
		payload := b[nl+1 : nl+1+idLen+bodyLen]
		if crc32.ChecksumIEEE(payload) != uint32(crc) {
			return 0, 0, "", nil, 0, false
		}
		return kind, seq, string(payload[:idLen]), payload[idLen:], nl + 1 + idLen + bodyLen, true
	}
	return 0, 0, "", nil, 0, false
}

// append writes one item and returns where. It allocates only when a
// segment is started or the scratch buffer grows.
func (w *wal) append(id string, body []byte) (walRef, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, err := w.current()
	if err != nil {
		return walRef{}, err
	}
	seq := s.next
	crc := crc32.Update(crc32.ChecksumIEEE([]byte(id)), crc32.IEEETable, body)
	b := append(w.buf[:0], 'I', ' ')
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(id)), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, ' ')
	b = appendHex8(b, crc)
	b = append(b, '\n')
	b = append(b, id...)
	b = append(b, body...)
	if _, err := s.f.Write(b); err != nil {
		// A short write (a full disk) leaves a torn record: cut it off,
		// or, if even that fails, append nothing more after it.
		if s.f.Truncate(s.size) != nil {
			s.size = segmentMax
		}
		return walRef{}, err
	}
	if cap(b) <= 64<<10 {
		w.buf = b
	}
	ref := walRef{seg: s, seq: seq, off: s.size, n: len(b)}
	s.next++
	s.size += int64(len(b))
	s.live++
	return ref, nil
}

func appendHex8(b []byte, v uint32) []byte {
	const hex = "0123456789abcdef"
	for i := 7; i >= 0; i-- {
		b = append(b, hex[(v>>(4*uint(i)))&0xf])
	}
	return b
}

// current returns the segment to append to, starting a new one when there
// is none or the last one is full.
func (w *wal) current() (*segment, error) {
	if n := len(w.segs); n > 0 && w.segs[n-1].size < segmentMax && !w.removedLately(w.segs[n-1]) {
		return w.segs[n-1], nil
	}
	name := walPrefix + stampString(w.nextStamp()) + walExt
	f, err := os.OpenFile(filepath.Join(w.dir, name), os.O_RDWR|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrNotExist) && os.MkdirAll(w.dir, 0o700) == nil {
		// Something (a tmp cleaner, an operator) removed the directory
		// under us: recreate it rather than lose durability for the rest
		// of the process.
		f, err = os.OpenFile(filepath.Join(w.dir, name), os.O_RDWR|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o600)
	}
	if err != nil {
		return nil, err
	}
	s := &segment{name: name, f: f}
	w.segs = append(w.segs, s)
	w.gcLocked()
	return s, nil
}

// removedEvery is how often, at most, the file appended to is looked for
// (two stat calls).
var removedEvery = time.Second

// removedLately is removed, looked at once every removedEvery at most.
func (w *wal) removedLately(s *segment) bool {
	if s.gone {
		return true
	}
	now := time.Now()
	if now.Sub(w.checked) < removedEvery {
		return false
	}
	w.checked = now
	return w.removed(s)
}

// removed reports whether s's file is no longer in the directory, and
// marks it gone then. An error that says neither is taken for no.
func (w *wal) removed(s *segment) bool {
	if s.gone {
		return true
	}
	fi, err := os.Stat(filepath.Join(w.dir, s.name))
	if err == nil {
		if open, err := s.f.Stat(); err != nil || os.SameFile(fi, open) {
			return false
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return false
	}
	s.gone = true
	return true
}

// checkRemoved looks for every segment's file now, and marks gone those
// no longer there (shutdown: what it leaves must be found by the next
// process). It returns whether s, then, is gone.
func (w *wal) checkRemoved() (gone func(s *segment) bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	marked := make(map[*segment]bool, len(w.segs))
	for _, s := range w.segs {
		marked[s] = w.removed(s)
	}
	return func(s *segment) bool { return marked[s] }
}

func stampString(stamp int64) string {
	s := strconv.FormatInt(stamp, 10)
	return strings.Repeat("0", max(0, stampDigits-len(s))) + s
}

// read returns the item ref points at.
func (w *wal) read(ref walRef) (id string, body []byte, err error) {
	buf := make([]byte, ref.n)
	if _, err := ref.seg.f.ReadAt(buf, ref.off); err != nil {
		return "", nil, err
	}
	kind, seq, id, body, _, ok := parseRecord(buf)
	if !ok || kind != 'I' || seq != ref.seq {
		return "", nil, errCorrupt
	}
	return id, body, nil
}

// ack records that ref's item is settled, and deletes its segment once
// every item of it is.
func (w *wal) ack(ref walRef) error {
	if ref.seg == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.ackLocked(ref.seg, ref.seq)
	w.gcLocked()
	return err
}

func (w *wal) ackLocked(s *segment, seq uint64) error {
	b := append(w.buf[:0], 'A', ' ')
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, '\n')
	w.buf = b
	s.live--
	if _, err := s.f.Write(b); err != nil {
		// As in append: a torn record is cut off, or nothing more is
		// appended after it (a restart reads a segment up to its first
		// torn record). The item is then sent again after a restart.
		if s.f.Truncate(s.size) != nil {
			s.size = segmentMax
		}
		return fmt.Errorf("acknowledging in %s: %w", s.name, err)
	}
	s.size += int64(len(b))
	return nil
}

// gcLocked deletes the segments whose items are all settled; the last
// one, still appended to, is emptied in place once it is large.
func (w *wal) gcLocked() {
	kept := w.segs[:0]
	for i, s := range w.segs {
		last := i == len(w.segs)-1
		switch {
		case s.live > 0:
		case !last:
			s.f.Close()
			os.Remove(filepath.Join(w.dir, s.name))
			continue
		case s.size >= segmentMax/4:
			if s.f.Truncate(0) == nil {
				s.size = 0
			}
		}
		kept = append(kept, s)
	}
	clear(w.segs[len(kept):])
	w.segs = kept
}

// sync fsyncs the segments that hold items, once, at Close.
func (w *wal) sync() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.segs {
		if s.live > 0 {
			s.f.Sync()
		}
	}
}

func (w *wal) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.segs {
		s.f.Close()
	}
	w.segs = nil
}

// Spooled returns the IDs of the items a Queue on dir would deliver:
// legacy one-item files first, then the write-ahead log's unacknowledged
// items, in order. It reads dir as it is (not its slot subdirectories) and
// changes nothing, so it is safe beside a running Queue: for tests, and
// for tools that show what is waiting.
func Spooled(dir string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, de := range des {
		if _, ok := parseSpoolName(de.Name()); ok && de.Type().IsRegular() {
			id, _, err := readSpoolFile(filepath.Join(dir, de.Name()))
			if err == nil {
				ids = append(ids, id)
			}
		}
	}
	for _, de := range des {
		if !isSegmentName(de.Name()) || !de.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err != nil {
			return nil, err
		}
		var order []uint64
		live := map[uint64]string{}
		for off := 0; off < len(data); {
			kind, seq, id, _, n, ok := parseRecord(data[off:])
			if !ok {
				break
			}
			if kind == 'I' {
				live[seq] = id
				order = append(order, seq)
			} else {
				delete(live, seq)
			}
			off += n
		}
		for _, seq := range order {
			if id, ok := live[seq]; ok {
				ids = append(ids, id)
			}
		}
	}
	return ids, nil
}
