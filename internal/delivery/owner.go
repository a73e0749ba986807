package delivery

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ownerFile names, in a spool directory, whose items it holds: a hash of
// the owner given to OwnedDir.
const ownerFile = "owner"

// OwnedDir returns the spool directory for the queues of one owner (a
// tracker's DSN; a mail server, sender and recipients) under dir: dir
// itself when its owner file names this owner, or no one yet (a new
// directory, or one spooled by a version before owner files, which is
// adopted); else dir-<hash of owner>. Two programs given one SpoolDir,
// or of one executable name under FromEnv's default, delivered each
// other's backlog to their own peer: another program's DSN, project and
// key, another team's mail. The owner is hashed: the file holds no
// secret. What cannot be read or written leaves dir, for New to report.
func OwnedDir(dir, owner string) string {
	if dir == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(owner))
	id := hex.EncodeToString(sum[:8])
	if claimDir(dir, id) {
		return dir
	}
	own := dir + "-" + id
	claimDir(own, id)
	return own
}

// claimDir reports whether dir is id's: its owner file says id, or there
// was none and this call wrote it. The file is made whole or not at all
// (linked from a temporary file), so that two processes starting at once
// agree on who owns it.
func claimDir(dir, id string) bool {
	path := filepath.Join(dir, ownerFile)
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)) == id
	} else if !errors.Is(err, fs.ErrNotExist) {
		return true // cannot tell: as before owner files
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return true
	}
	tmp, err := os.CreateTemp(dir, "owner-*"+tmpExt)
	if err != nil {
		return true
	}
	_, werr := tmp.WriteString(id + "\n")
	cerr := tmp.Close()
	defer os.Remove(tmp.Name())
	if werr != nil || cerr != nil {
		return true
	}
	if err := os.Link(tmp.Name(), path); err == nil {
		return true
	}
	b, err := os.ReadFile(path) // another process's, written first
	return err != nil || strings.TrimSpace(string(b)) == id
}
