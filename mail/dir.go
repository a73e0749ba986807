package mail

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The directory transport: each mail an .eml file (Options.Dir).

// dirTransport writes each mail as an .eml file (temp file, rename), which
// any mail client opens.
type dirTransport struct {
	dir string
	now func() time.Time
}

func (d *dirTransport) Send(_ context.Context, m *Message) error {
	name := d.now().UTC().Format("20060102T150405.000000000Z") + "-" + emlName(m.ID) + ".eml"
	f, err := os.CreateTemp(d.dir, ".eml-*.tmp")
	if err != nil {
		return err
	}
	_, err = f.Write(m.Data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(d.dir, name))
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// Close holds nothing to release.
func (d *dirTransport) Close() error { return nil }

// emlName is the left part of a Message-ID, safe as a file name.
func emlName(id string) string {
	id = strings.Trim(id, "<>")
	if i := strings.IndexByte(id, '@'); i >= 0 {
		id = id[:i]
	}
	b := make([]byte, 0, len(id))
	for i := 0; i < len(id) && len(b) < 64; i++ {
		c := id[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' {
			b = append(b, c)
		}
	}
	if len(b) == 0 {
		return "mail"
	}
	return string(b)
}
