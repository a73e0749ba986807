package delivery

import (
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The one-file-per-item spool of earlier versions, which New still reads
// (and the tests write, to check that it does).

// spoolName builds a file name that sorts by stamp. Characters outside a
// portable set become '_' (a Message-ID's '<' and '>' are not allowed on
// Windows) and the ID part is capped so that the name stays far below
// NAME_MAX.
func spoolName(stamp int64, id string) string {
	var b strings.Builder
	b.Grow(stampDigits + 1 + min(len(id), maxNameID) + len(spoolExt))
	s := strconv.FormatInt(stamp, 10)
	for i := len(s); i < stampDigits; i++ {
		b.WriteByte('0')
	}
	b.WriteString(s)
	b.WriteByte('-')
	for i := 0; i < len(id) && i < maxNameID; i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '@', c == '+', c == '=':
			b.WriteByte(c)
		default:
			b.WriteByte('_')
		}
	}
	b.WriteString(spoolExt)
	return b.String()
}

// writeSpoolFile stores one item durably: temp file, fsync, rename. A crash
// leaves either no file, a *.tmp the next start deletes, or the complete
// file; never a truncated *.spool. It returns the file's size.
func writeSpoolFile(dir, name, id string, body []byte) (size int64, err error) {
	path := filepath.Join(dir, name)
	tmp := path + tmpExt
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	crc := crc32.Update(crc32.ChecksumIEEE([]byte(id)), crc32.IEEETable, body)
	header := fmt.Sprintf("%s%d %d %08x\n", spoolMagic, len(id), len(body), crc)
	if _, err = f.WriteString(header + id); err != nil {
		return 0, err
	}
	if _, err = f.Write(body); err != nil {
		return 0, err
	}
	if err = f.Sync(); err != nil {
		return 0, err
	}
	if err = f.Close(); err != nil {
		return 0, err
	}
	if err = os.Rename(tmp, path); err != nil {
		return 0, err
	}
	return int64(len(header) + len(id) + len(body)), nil
}
