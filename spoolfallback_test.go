package errlog

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/errlog/errlog/internal/trackertest"
	"github.com/errlog/errlog/tracker"
)

// A spool directory that cannot be used (here under a regular file; a
// read-only or full volume alike) does not keep errors from a tracker or
// an SMTP server that answers: each is told once, and goes on in memory.
// The tracker and mail used to be left out entirely.
func TestUnusableSpoolDirDeliversFromMemory(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o600))
	f := trackertest.NewFake(t)
	srv := startServer(t, serverOpts{})
	log := &trackertest.ErrLog{}
	h := NewHandler(Options{
		Console:         io.Discard,
		SpoolDir:        filepath.Join(blocker, "spool"),
		OnDeliveryError: log.Add,
		Tracker:         &tracker.Options{DSN: f.DSN()},
		Mail:            &MailOptions{Addr: srv.Addr, To: []string{"ops@example.com"}},
	})
	defer h.Close(context.Background())
	slog.New(h).Error("boom")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, h.Flush(ctx))
	assert.Len(t, f.Acked(), 1, "the tracker got the event")
	assert.Len(t, srv.Mails(), 1, "the SMTP server got the mail")
	assert.Len(t, log.Matching("errlog: tracker: spool: ", "not a directory", "keeping items in memory only"), 1, "reports %q", log.Strings())
	assert.Len(t, log.Matching("errlog: smtp: spool: ", "keeping items in memory only"), 1, "reports %q", log.Strings())
}
