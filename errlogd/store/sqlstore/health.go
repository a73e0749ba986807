package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/errlog/errlog/errlogd/store"
)

// CheckInterval is how often Config.Check runs besides each commit.
const CheckInterval = time.Second

// Health is nil when the store can take writes: not closed, its database
// file (Config.Check) the one it opened, and its database answering.
func (db *DB) Health(ctx context.Context) error {
	if db.wr.isClosed() {
		return store.ErrClosed
	}
	if err := db.checkFile(); err != nil {
		return err
	}
	// The store takes no writes while its commits fail (a full disk): a
	// read answering is not health.
	if err := db.wr.lastCommitErr(); err != nil {
		return wrap("health", err)
	}
	return wrap("health", db.r.PingContext(ctx))
}

// checkFile runs Config.Check, and says on OnError when the database is
// lost and when it is back. Commits call it before they begin and after
// they commit, so that no event is acknowledged into a file nobody can
// read.
func (db *DB) checkFile() error {
	if db.check == nil {
		return nil
	}
	err := db.check()
	if err != nil && !errors.Is(err, store.ErrLost) {
		err = fmt.Errorf("%w: %w", store.ErrLost, err)
	}
	db.lostMu.Lock()
	was := db.lost
	db.lost = err
	db.lostMu.Unlock()
	switch {
	case err != nil && was == nil:
		db.hookErr(fmt.Errorf("%w; events are refused (503) and health fails until it is back: restore the file, or restart errlogd (a new file starts empty)", err))
	case err == nil && was != nil:
		db.hookErr(errors.New("errlog: store: the database file is back; events are accepted again"))
	}
	return err
}

// watch runs checkFile every CheckInterval until the writer stops, so
// that a lost file is said at once, not with the next event.
func (db *DB) watch() {
	t := time.NewTicker(CheckInterval)
	defer t.Stop()
	for {
		select {
		case <-db.wr.closing:
			return
		case <-t.C:
			_ = db.checkFile()
		}
	}
}
