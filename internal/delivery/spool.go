package delivery

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The spool of earlier versions: one item per file, which New still
// loads (before the write-ahead log's items, being older) and deletes as
// they are delivered:
//
//	errlog-spool 1 <len(ID)> <len(Body)> <crc32 of ID+Body, 8 hex digits>\n
//	<ID><Body>
//
// Names are "<20-digit stamp>-<ID made file-name safe>.spool".
const (
	spoolMagic  = "errlog-spool 1 "
	spoolExt    = ".spool"
	tmpExt      = ".tmp"
	stampDigits = 20
	maxNameID   = 64
)

// spoolFile is one item on disk as the loader finds it: the ID and body are
// read only when the item reaches the head of the queue, so a large spool
// costs New one directory listing, not a read of every file.
type spoolFile struct {
	name  string
	stamp int64
	size  int64
}

// Sharing of a spool directory. Replicas of one program on one host (or
// two handlers of one process) get the same SpoolDir; each Queue locks the
// directory it uses, so that none deletes another's half-written files or
// sends another's items. The first Queue takes the directory itself, the
// next ones the first free slot subdirectory: a replica restarted while
// the others run gets the slot it had and delivers what it left there.
const (
	lockName = "errlog-spool.lock"
	slotName = "slot-"
	maxSlots = 16
)

// errLocked: another Queue holds the directory's lock.
var errLocked = errors.New("in use by another queue")

// spool is the directory a Queue owns, locked, and what earlier processes
// left in it.
type spool struct {
	dir   string
	lock  *dirLock
	files []spoolFile // oldest first
}

// openSpool makes sure dir exists and is writable (so a misconfigured
// directory fails New instead of every later write), locks it or the
// first free slot under it, and loads that directory: it deletes the
// *.tmp leftovers of writes a crash interrupted and returns the spooled
// items, oldest first. The holder of dir itself also takes in the items of
// slots no one holds, so that nothing waits there for a replica that is
// gone. Files with other names are left alone: the directory might be
// shared with things that are not ours.
func openSpool(dir string) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	sp := &spool{dir: dir}
	for slot := 0; ; slot++ {
		if slot > 0 {
			sp.dir = filepath.Join(dir, slotName+strconv.Itoa(slot))
			if err := os.MkdirAll(sp.dir, 0o700); err != nil {
				return nil, err
			}
		}
		var err error
		sp.lock, err = lockDir(sp.dir)
		if err == nil {
			break
		}
		if !errors.Is(err, errLocked) {
			return nil, err
		}
		if slot == maxSlots {
			return nil, fmt.Errorf("%s and its %d slot directories are all %w", dir, maxSlots, err)
		}
	}
	if sp.dir == dir {
		adoptSlots(dir)
	}
	var err error
	if sp.files, err = loadSpool(sp.dir); err != nil {
		sp.lock.release()
		return nil, err
	}
	return sp, nil
}

// adoptSlots moves the items of every slot no Queue holds into dir, whose
// lock the caller holds. Best effort: what cannot be moved stays where it
// is, for the next Queue that gets that slot.
func adoptSlots(dir string) {
	for slot := 1; slot <= maxSlots; slot++ {
		sub := filepath.Join(dir, slotName+strconv.Itoa(slot))
		lock, err := lockDir(sub) // fails too where there is no such slot
		if err != nil {
			continue
		}
		des, _ := os.ReadDir(sub)
		for _, de := range des {
			name := de.Name()
			if _, ok := parseSpoolName(name); !(ok || isSegmentName(name)) || !de.Type().IsRegular() {
				continue
			}
			if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
				continue // never replace an item
			}
			os.Rename(filepath.Join(sub, name), filepath.Join(dir, name))
		}
		lock.release()
	}
}

// loadSpool checks that dir is writable, deletes its *.tmp files and lists
// its items, oldest first.
func loadSpool(dir string) ([]spoolFile, error) {
	probe, err := os.CreateTemp(dir, "probe-*"+tmpExt)
	if err != nil {
		return nil, err
	}
	probe.Close()
	os.Remove(probe.Name())

	des, err := os.ReadDir(dir) // sorted by name, hence by stamp
	if err != nil {
		return nil, err
	}
	var files []spoolFile
	for _, de := range des {
		name := de.Name()
		if !de.Type().IsRegular() {
			continue
		}
		if strings.HasSuffix(name, tmpExt) {
			os.Remove(filepath.Join(dir, name))
			continue
		}
		stamp, ok := parseSpoolName(name)
		if !ok {
			continue
		}
		var size int64
		if info, err := de.Info(); err == nil {
			size = info.Size()
		}
		files = append(files, spoolFile{name: name, stamp: stamp, size: size})
	}
	return files, nil
}

func parseSpoolName(name string) (int64, bool) {
	if !strings.HasSuffix(name, spoolExt) || len(name) < stampDigits+1 || name[stampDigits] != '-' {
		return 0, false
	}
	stamp, err := strconv.ParseInt(name[:stampDigits], 10, 64)
	if err != nil || stamp < 0 {
		return 0, false
	}
	return stamp, true
}

var errCorrupt = errors.New("corrupt spool file")

// readSpoolFile reads and verifies one item. Any mismatch (a short file, a
// foreign file that happens to have our extension, flipped bits) is
// errCorrupt, and the caller deletes the file: an unreadable item must
// never block the ones behind it.
func readSpoolFile(path string) (id string, body []byte, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", nil, err
	}
	rest, ok := bytes.CutPrefix(data, []byte(spoolMagic))
	if !ok {
		return "", nil, errCorrupt
	}
	line, payload, ok := bytes.Cut(rest, []byte{'\n'})
	if !ok {
		return "", nil, errCorrupt
	}
	fields := strings.Fields(string(line))
	if len(fields) != 3 {
		return "", nil, errCorrupt
	}
	idLen, err1 := strconv.Atoi(fields[0])
	bodyLen, err2 := strconv.Atoi(fields[1])
	crc, err3 := strconv.ParseUint(fields[2], 16, 32)
	if err1 != nil || err2 != nil || err3 != nil || idLen < 0 || bodyLen < 0 || idLen+bodyLen != len(payload) {
		return "", nil, errCorrupt
	}
	if crc32.ChecksumIEEE(payload) != uint32(crc) {
		return "", nil, errCorrupt
	}
	return string(payload[:idLen]), payload[idLen:], nil
}
