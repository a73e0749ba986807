package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/sqlstore"
	"github.com/errlog/errlog/wire"
	"github.com/jackc/pgx/v5"
)

func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// dbName is how messages name the -db store: an absolute path, or a URL
// without its password.
func dbName(db string) string {
	if strings.Contains(db, "://") {
		return wire.RedactURL(db)
	}
	if abs, err := filepath.Abs(db); err == nil {
		return abs
	}
	return db
}

// dbID identifies the -db store for errlogd move, to tell two stores
// apart: a SQLite file's absolute path; for PostgreSQL, the user, host,
// port, database and search_path it connects to, without the password
// (dbName keeps only scheme and host, so that every database of one
// server had the same name).
func dbID(db string) string {
	if !isPostgres(db) {
		return dbName(db)
	}
	cfg, err := pgx.ParseConfig(db)
	if err != nil {
		return dbName(db)
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s?search_path=%s", url.PathEscape(cfg.User), cfg.Host, cfg.Port, url.PathEscape(cfg.Database), url.QueryEscape(cfg.RuntimeParams["search_path"]))
}

// checkNewDB says, before SQLite's "unable to open database file (14)",
// why a SQLite file cannot be created or opened: its directory is missing,
// is not a directory, or is not writable. created reports whether the file
// does not exist yet (serve says it created it).
func checkNewDB(db string) (created bool, err error) {
	if isPostgres(db) {
		return false, nil
	}
	name := dbName(db)
	dir := filepath.Dir(name)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, fmt.Errorf("errlogd: cannot create the database %s: directory %s does not exist (create it, or choose another -db)", name, dir)
	case err != nil:
		return false, fmt.Errorf("errlogd: database %s: %w", name, err)
	case !fi.IsDir():
		return false, fmt.Errorf("errlogd: cannot create the database %s: %s is not a directory", name, dir)
	}
	if _, err := os.Stat(name); err == nil {
		return false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("errlogd: database %s: %w", name, err)
	}
	// SQLite also writes name-wal and name-shm next to it: the directory
	// must take new files.
	f, err := os.CreateTemp(dir, ".errlogd-probe-*")
	if err != nil {
		return false, fmt.Errorf("errlogd: cannot create the database %s: directory %s is not writable by this user (uid %d)", name, dir, os.Getuid())
	}
	f.Close()
	os.Remove(f.Name())
	return true, nil
}

// checkExistingDB is for the commands that read or change a store but
// must not create one (project, backup, move's source): a missing SQLite
// file, or a PostgreSQL database errlogd never ran on, is named, with how
// to make one.
func checkExistingDB(ctx context.Context, db string) error {
	name := dbName(db)
	if !isPostgres(db) {
		fi, err := os.Stat(name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("errlogd: no database at %s: errlogd serve -db %s creates one; or name an existing one with -db or ERRLOGD_DB", name, db)
		case err != nil:
			return fmt.Errorf("errlogd: database %s: %w", name, err)
		case fi.IsDir():
			return fmt.Errorf("errlogd: database %s is a directory", name)
		}
		return nil
	}
	sdb, err := sql.Open("pgx", db)
	if err != nil {
		return fmt.Errorf("errlogd: database %s: %w", name, err)
	}
	defer sdb.Close()
	var reg sql.NullString
	if err := sdb.QueryRowContext(ctx, `SELECT to_regclass('schema_migrations')::text`).Scan(&reg); err != nil {
		return fmt.Errorf("errlogd: database %s: %w", name, err)
	}
	if !reg.Valid {
		return fmt.Errorf("errlogd: no errlogd tables in %s: errlogd serve -db URL creates them", name)
	}
	return nil
}

// openErr names the store in an error from opening it, in one line.
func openErr(db string, err error) error {
	var se *sqlstore.SchemaError
	if errors.As(err, &se) {
		return fmt.Errorf("errlogd: %s: schema %d is newer than this binary's %d (%s): a newer errlogd wrote it; run that one", dbName(db), se.Database, se.Binary, binaryVersion())
	}
	if strings.HasPrefix(err.Error(), "errlogd:") {
		return err
	}
	return fmt.Errorf("errlogd: database %s: %w", dbName(db), err)
}

// openExisting opens the -db store for a command that must not create
// it, and says on stderr which database it used.
func openExisting(ctx context.Context, c *config, stderr io.Writer) (store.Store, error) {
	if err := checkExistingDB(ctx, c.db); err != nil {
		return nil, err
	}
	st, err := openStore(ctx, c, stderr)
	if err != nil {
		return nil, openErr(c.db, err)
	}
	return st, nil
}
