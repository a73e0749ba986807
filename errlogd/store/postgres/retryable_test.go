package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
)

// TestRetryable: a commit is sent again after a deadlock, a serialization
// failure, two processes creating one group, or a broken connection;
// never after the event's own fault or its context's end.
func TestRetryable(t *testing.T) {
	pg := func(code string) error { return fmt.Errorf("commit: %w", &pgconn.PgError{Code: code}) }
	for err, want := range map[error]bool{
		pg("40P01"): true,  // deadlock
		pg("40001"): true,  // serialization failure
		pg("23505"): true,  // unique violation: a group created at once elsewhere
		pg("57P01"): true,  // terminated by the administrator
		pg("08006"): true,  // connection failure
		pg("23502"): false, // not-null violation: the event's
		pg("22P02"): false, // invalid text representation
		fmt.Errorf("read: %w", io.ErrUnexpectedEOF): true,
		driver.ErrBadConn:                                  true,
		pgconn.ErrConnClosed:                               true,
		context.DeadlineExceeded:                           false,
		fmt.Errorf("commit: %w", context.DeadlineExceeded): false,
		context.Canceled:                                   false,
		errors.New("something else"):                       false,
	} {
		assert.Equal(t, want, retryable(err), "%v", err)
	}
}

// TestUnavailable: the database's own failures (a full disk, an I/O
// error, a read-only server) are not the events': a batch retried event
// by event refuses none of them as bad (400), which SDKs drop for good.
func TestUnavailable(t *testing.T) {
	pg := func(code string) error { return fmt.Errorf("commit: %w", &pgconn.PgError{Code: code}) }
	for err, want := range map[error]bool{
		pg("53100"):                  true,  // disk full
		pg("53200"):                  true,  // out of memory
		pg("58030"):                  true,  // I/O error
		pg("25006"):                  true,  // read-only transaction (a standby)
		pg("22P02"):                  false, // invalid text: the event's
		pg("23505"):                  false,
		errors.New("something else"): false,
	} {
		if got := unavailable(err); got != want {
			t.Errorf("unavailable(%v) = %v, want %v", err, got, want)
		}
	}
}
