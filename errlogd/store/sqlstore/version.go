package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// SchemaError is returned by Open for a database whose schema is newer
// than the migrations this binary holds: a newer errlogd wrote it, and
// this one would misread it.
type SchemaError struct {
	// Database is the database's schema version; Binary the newest this
	// binary knows.
	Database, Binary int
	// Component is the component whose tables are newer ("alert"), or ""
	// for the store's own.
	Component string
}

func (e *SchemaError) Error() string {
	what := "the database's schema"
	if e.Component != "" {
		what = "the schema of the database's " + e.Component + " tables"
	}
	return fmt.Sprintf("errlog: store: %s %d is newer than this binary's %d: a newer errlogd wrote it; run that errlogd (or a newer one)", what, e.Database, e.Binary)
}

// Latest returns the newest migration version in migrations (NNNN_name.sql).
func Latest(migrations fs.FS) int {
	names, _ := fs.Glob(migrations, "*.sql")
	sort.Strings(names)
	v := 0
	for _, name := range names {
		if n, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0]); err == nil && n > v {
			v = n
		}
	}
	return v
}

// checkSchema refuses a database migrated beyond the newest migration
// this binary holds.
func (db *DB) checkSchema(ctx context.Context, l ledger, migrations fs.FS) error {
	var v sql.NullInt64
	if err := db.w.QueryRowContext(ctx, db.q(l.newest), l.key...).Scan(&v); err != nil {
		return wrap("schema version", err)
	}
	if latest := Latest(migrations); int(v.Int64) > latest {
		return &SchemaError{Component: l.component(), Database: int(v.Int64), Binary: latest}
	}
	return nil
}
