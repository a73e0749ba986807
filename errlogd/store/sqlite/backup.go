package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// Backup writes a consistent copy of the errlogd database at src to the
// new file dst while errlogd may be writing src: VACUUM INTO reads one
// snapshot (a read transaction, which in WAL mode never blocks the
// writer nor waits for it), so the copy holds every transaction
// committed before it began and none of those after. The copy is written
// to dst.partial and renamed when complete and checked (PRAGMA
// integrity_check), so that an interrupted backup never leaves a file
// that looks like a snapshot. It returns the copy's schema version.
func Backup(ctx context.Context, src, dst string) (int, error) {
	fail := func(err error) (int, error) { return 0, fmt.Errorf("errlog: store: backup %s: %w", src, err) }
	if _, err := os.Stat(src); err != nil {
		return fail(err)
	}
	if _, err := os.Stat(dst); err == nil {
		return fail(fmt.Errorf("%s exists: a backup never overwrites a file", dst))
	}
	partial := dst + ".partial"
	os.Remove(partial) // a previous, interrupted backup's
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: src}).EscapedPath()+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fail(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var version sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&version); err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return fail(errors.New("not an errlogd database (no schema_migrations table)"))
		}
		return fail(err)
	}
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, partial); err != nil {
		os.Remove(partial)
		return fail(err)
	}
	if err := IntegrityCheck(ctx, partial); err != nil {
		os.Remove(partial)
		return fail(err)
	}
	if err := os.Rename(partial, dst); err != nil {
		os.Remove(partial)
		return fail(err)
	}
	return int(version.Int64), nil
}

// IntegrityCheck runs PRAGMA integrity_check on the SQLite file at path
// (opened read-only) and returns its findings as an error unless "ok".
func IntegrityCheck(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	defer rows.Close()
	var found []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return fmt.Errorf("integrity check: %w", err)
		}
		found = append(found, s)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if len(found) != 1 || found[0] != "ok" {
		return fmt.Errorf("integrity check: %s", strings.Join(found, "; "))
	}
	return nil
}
