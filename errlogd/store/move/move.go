// Package move copies an errlogd store into another, SQLite to
// PostgreSQL or back (errlogd move): every table that holds state —
// projects with their keys, groups with their keys, counts, statuses and
// first/last seen, events, the counts behind the charts, alert rules, the
// outbox, tickets — row for row with the same ids, so that every DSN and
// every link keeps working and each group stays one group; each table's
// id counter goes on from the source's, so that the ids of deleted rows
// are never handed out again. Search indexes are rebuilt by the
// destination's own triggers.
//
// Both databases must be at the same schema version (open each with its
// store first: that migrates them). The source is read in one read
// transaction, a consistent snapshot; the destination is written in
// batches, each its own transaction, in id order. A move that stops
// half-way (a crash, ^C) is resumed by running it again: the destination
// remembers which source it is being filled from (table store_moves),
// each table resumes after the highest id it holds, and rows already
// there are skipped (INSERT … ON CONFLICT DO NOTHING), never doubled.
package move

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DB is one side of a move: a database/sql pool on an errlogd database
// (drivers "sqlite" or "pgx").
type DB struct {
	SQL *sql.DB
	// Postgres: PostgreSQL ($n placeholders, sequences); else SQLite.
	Postgres bool
	// Name names the database in messages (a path, or a URL without its
	// password).
	Name string
	// ID identifies the database in the destination's store_moves, to
	// resume a move from the same source only: all it takes to tell two
	// databases apart, no password (for PostgreSQL, its user, host, port,
	// database and search_path, which Name may leave out). Default Name.
	ID string
}

// id is what identifies d in store_moves.
func (d DB) id() string {
	if d.ID != "" {
		return d.ID
	}
	return d.Name
}

// Options tunes Run. The zero value is all defaults.
type Options struct {
	// Force empties a destination that holds data (deleting it) instead
	// of refusing it.
	Force bool
	// Progress, when set, is told of progress every Every events copied,
	// and once at the end of each table.
	Progress func(Progress)
	// Every is how many events between progress reports. Default 10,000.
	Every int64
	// Batch is the most rows one insert writes. Default 500.
	Batch int
}

// Progress is a report on a move under way.
type Progress struct {
	Table string
	// Done of Total rows of Table are in the destination (Done counts
	// those a resumed move found already there).
	Done, Total int64
	// Rate is rows copied per second by this run; Left the estimated
	// time to the end of the table at that rate.
	Rate float64
	Left time.Duration
}

func (p Progress) String() string {
	pct := 100.0
	if p.Total > 0 {
		pct = 100 * float64(p.Done) / float64(p.Total)
	}
	return fmt.Sprintf("%s %d/%d (%.0f%%), %.0f rows/s, about %s left", p.Table, p.Done, p.Total, pct, p.Rate, p.Left.Round(time.Second))
}

// Result sums up a move.
type Result struct {
	// Rows copied per table by this run (a resumed move's earlier runs
	// not included).
	Rows map[string]int64
	// Resumed: the destination held part of an interrupted move from the
	// same source, which this run completed.
	Resumed bool
}

// ErrNotEmpty is returned when the destination holds data and Force is
// not set.
var ErrNotEmpty = errors.New("errlog: move: the destination holds data")

// skipped are tables not copied: the migrations' own bookkeeping, the
// moves into a database, and search indexes the destination rebuilds.
func skipped(table string) bool {
	return table == "schema_migrations" || table == "component_migrations" || table == "store_moves" || table == "owed_events" ||
		strings.HasPrefix(table, "group_search") || strings.HasPrefix(table, "sqlite_")
}

// first are copied before the others, in this order (the rest follow by
// name): groups before events, so that a resumed move's events always
// find their groups.
var first = []string{"projects", "event_groups", "events"}

// Run copies the store in from into to.
func Run(ctx context.Context, from, to DB, opts Options) (*Result, error) {
	if opts.Every <= 0 {
		opts.Every = 10000
	}
	if opts.Batch <= 0 {
		opts.Batch = 500
	}
	fromTables, err := tables(ctx, from)
	if err != nil {
		return nil, fmt.Errorf("errlog: move: %s: %w", from.Name, err)
	}
	toTables, err := tables(ctx, to)
	if err != nil {
		return nil, fmt.Errorf("errlog: move: %s: %w", to.Name, err)
	}
	fv, err := schemaVersion(ctx, from)
	if err != nil {
		return nil, fmt.Errorf("errlog: move: %s: %w", from.Name, err)
	}
	tv, err := schemaVersion(ctx, to)
	if err != nil {
		return nil, fmt.Errorf("errlog: move: %s: %w", to.Name, err)
	}
	if fv != tv {
		return nil, fmt.Errorf("errlog: move: %s has schema %d, %s has %d: open both with this errlogd first", from.Name, fv, to.Name, tv)
	}
	var order []string
	for _, t := range first {
		if _, ok := fromTables[t]; ok {
			order = append(order, t)
		}
	}
	var rest []string
	for t := range fromTables {
		if !skipped(t) && !contains(first, t) {
			rest = append(rest, t)
		}
	}
	sort.Strings(rest)
	order = append(order, rest...)
	for _, t := range order {
		if !sameColumns(fromTables[t], toTables[t]) {
			return nil, fmt.Errorf("errlog: move: table %s differs: %v in %s, %v in %s", t, fromTables[t], from.Name, toTables[t], to.Name)
		}
	}

	// One read transaction on the source: every table is read from the
	// same snapshot, even if an errlogd still writes to it. A source
	// that owes counts is refused before the destination is touched
	// (-force empties it).
	rtx, err := beginRead(ctx, from)
	if err != nil {
		return nil, fmt.Errorf("errlog: move: %s: %w", from.Name, err)
	}
	defer rtx.Rollback()
	if err := checkNothingOwed(ctx, rtx, from); err != nil {
		return nil, err
	}
	res := &Result{Rows: map[string]int64{}}
	if err := prepareDest(ctx, to, from.id(), order, opts.Force, res); err != nil {
		return nil, err
	}
	for _, t := range order {
		n, err := copyTable(ctx, rtx, from, to, t, fromTables[t], opts)
		res.Rows[t] = n
		if err != nil {
			return res, fmt.Errorf("errlog: move: %s: %w", t, err)
		}
	}
	marks, err := highWater(ctx, rtx, from, order, fromTables)
	if err != nil {
		return res, fmt.Errorf("errlog: move: %s: ids handed out: %w", from.Name, err)
	}
	if err := setHighWater(ctx, to, order, toTables, marks); err != nil {
		return res, err
	}
	if _, err := to.SQL.ExecContext(ctx, rebind(to, `UPDATE store_moves SET finished_ms = ? WHERE source = ?`), time.Now().UnixMilli(), from.id()); err != nil {
		return res, fmt.Errorf("errlog: move: %s: %w", to.Name, err)
	}
	return res, nil
}

// highWater returns the highest id the source has handed out in each
// table with ids: its SQLite AUTOINCREMENT counter (sqlite_sequence) or
// PostgreSQL sequence, which counts the ids of deleted rows too. The
// destination carries them on, so that it never hands out a deleted
// row's id again: a new group that took a deleted group's id would find
// what is still keyed by it (alerts, links, a tracker's ticket).
func highWater(ctx context.Context, rtx *sql.Tx, from DB, order []string, cols map[string][]string) (map[string]int64, error) {
	marks := map[string]int64{}
	if !from.Postgres {
		rows, err := rtx.QueryContext(ctx, `SELECT name, seq FROM sqlite_sequence`)
		if err != nil {
			if strings.Contains(err.Error(), "no such table") { // no AUTOINCREMENT row ever written
				return marks, nil
			}
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var t string
			var n int64
			if err := rows.Scan(&t, &n); err != nil {
				return nil, err
			}
			marks[t] = n
		}
		return marks, rows.Err()
	}
	for _, t := range order {
		if !contains(cols[t], "id") {
			continue
		}
		var seq sql.NullString
		if err := rtx.QueryRowContext(ctx, `SELECT pg_get_serial_sequence($1, 'id')`, t).Scan(&seq); err != nil {
			return nil, fmt.Errorf("%s: %w", t, err)
		}
		if !seq.Valid {
			continue
		}
		// A sequence not yet called has handed out nothing: its
		// last_value is the first it will give.
		var n int64
		if err := rtx.QueryRowContext(ctx, `SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM `+seq.String).Scan(&n); err != nil {
			return nil, fmt.Errorf("%s: %w", t, err)
		}
		marks[t] = n
	}
	return marks, nil
}

// setHighWater makes each table's next id come after both the rows it
// holds and the source's high-water mark.
func setHighWater(ctx context.Context, to DB, order []string, cols map[string][]string, marks map[string]int64) error {
	for _, t := range order {
		if !contains(cols[t], "id") {
			continue
		}
		mark := marks[t]
		if to.Postgres {
			if _, err := to.SQL.ExecContext(ctx, `SELECT setval(s, greatest(n, 1), n > 0)
FROM (SELECT pg_get_serial_sequence($1, 'id') s, greatest($2::bigint, COALESCE((SELECT max(id) FROM `+t+`), 0)) n) x`, t, mark); err != nil {
				return fmt.Errorf("errlog: move: %s: sequence: %w", t, err)
			}
			continue
		}
		// SQLite: AUTOINCREMENT gives max(seq, max(id)) + 1; a table
		// without it reuses ids whatever is done here.
		var auto int
		if err := to.SQL.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ? AND sql LIKE '%AUTOINCREMENT%'`, t).Scan(&auto); err != nil {
			return fmt.Errorf("errlog: move: %s: %w", t, err)
		}
		if auto == 0 || mark <= 0 {
			continue
		}
		res, err := to.SQL.ExecContext(ctx, `UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?`, mark, t)
		if err == nil {
			if n, _ := res.RowsAffected(); n == 0 {
				_, err = to.SQL.ExecContext(ctx, `INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)`, t, mark)
			}
		}
		if err != nil {
			return fmt.Errorf("errlog: move: %s: sequence: %w", t, err)
		}
	}
	return nil
}

// prepareDest checks that the destination is empty, or holds an
// unfinished move from the same source (resumed), or empties it under
// Force; then records the move.
func prepareDest(ctx context.Context, to DB, source string, order []string, force bool, res *Result) error {
	var held int64
	for _, t := range first {
		var n int64
		if err := to.SQL.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM `+t+` LIMIT 1) x`).Scan(&n); err != nil {
			return fmt.Errorf("errlog: move: %s: %w", to.Name, err)
		}
		held += n
	}
	var finished sql.NullInt64
	err := to.SQL.QueryRowContext(ctx, rebind(to, `SELECT finished_ms FROM store_moves WHERE source = ?`), source).Scan(&finished)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("errlog: move: %s: %w", to.Name, err)
	}
	unfinished := err == nil && finished.Int64 == 0
	switch {
	case held == 0:
	case unfinished && !force:
		res.Resumed = true
	case force:
		tx, err := to.SQL.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("errlog: move: %s: %w", to.Name, err)
		}
		defer tx.Rollback()
		for _, t := range append(order, "store_moves") {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+t); err != nil {
				return fmt.Errorf("errlog: move: empty %s: %w", t, err)
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("errlog: move: %s: %w", to.Name, err)
		}
	default:
		return fmt.Errorf("%w: %s has projects, groups or events (-force deletes them first)", ErrNotEmpty, to.Name)
	}
	if !res.Resumed {
		if _, err := to.SQL.ExecContext(ctx, rebind(to, `DELETE FROM store_moves WHERE source = ?`), source); err != nil {
			return fmt.Errorf("errlog: move: %s: %w", to.Name, err)
		}
		if _, err := to.SQL.ExecContext(ctx, rebind(to, `INSERT INTO store_moves (source, started_ms, finished_ms) VALUES (?, ?, 0)`), source, time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("errlog: move: %s: %w", to.Name, err)
		}
	}
	return nil
}

// ErrOwed: the source holds events whose counts are not written yet.
var ErrOwed = errors.New("it holds events whose group counts are not written yet (an errlogd is ingesting into it, or was killed while it did): stop errlogd (start it once and stop it again if it was killed), then move")

// checkNothingOwed refuses a source that owes counts (sqlstore's "Owed
// counts"): the destination would hold those events uncounted for good,
// since what tells them apart (a group's last_event_id on SQLite,
// owed_events on PostgreSQL) means nothing there.
func checkNothingOwed(ctx context.Context, rtx *sql.Tx, from DB) error {
	q := `SELECT EXISTS (SELECT 1 FROM event_groups g CROSS JOIN events e ON e.group_id = g.id AND e.id > g.last_event_id)`
	if from.Postgres {
		q = `SELECT EXISTS (SELECT 1 FROM owed_events)`
	}
	var owed bool
	if err := rtx.QueryRowContext(ctx, q).Scan(&owed); err != nil {
		return fmt.Errorf("errlog: move: %s: %w", from.Name, err)
	}
	if owed {
		return fmt.Errorf("errlog: move: %s: %w", from.Name, ErrOwed)
	}
	return nil
}

func beginRead(ctx context.Context, from DB) (*sql.Tx, error) {
	if from.Postgres {
		return from.SQL.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	}
	// SQLite: a deferred transaction becomes a read transaction, one
	// snapshot of the WAL, at its first SELECT.
	return from.SQL.BeginTx(ctx, nil)
}

// copyTable copies one table in key order, resuming after the highest id
// the destination holds.
func copyTable(ctx context.Context, rtx *sql.Tx, from, to DB, table string, cols []string, opts Options) (int64, error) {
	hasID := contains(cols, "id")
	var total, have int64
	if err := rtx.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&total); err != nil {
		return 0, err
	}
	query := `SELECT ` + strings.Join(cols, ", ") + ` FROM ` + table
	var args []any
	if hasID {
		var after sql.NullInt64
		if err := to.SQL.QueryRowContext(ctx, `SELECT max(id) FROM `+table).Scan(&after); err != nil {
			return 0, err
		}
		if after.Valid {
			if err := rtx.QueryRowContext(ctx, rebind(from, `SELECT count(*) FROM `+table+` WHERE id <= ?`), after.Int64).Scan(&have); err != nil {
				return 0, err
			}
			query += rebind(from, ` WHERE id > ?`)
			args = append(args, after.Int64)
		}
		query += ` ORDER BY id`
	}
	rows, err := rtx.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()

	batch := max(1, min(opts.Batch, 30000/len(cols)))
	insert := func(n int) string {
		var b strings.Builder
		b.WriteString(`INSERT INTO ` + table + ` (` + strings.Join(cols, ", ") + `) VALUES `)
		p := 0
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for j := range cols {
				if j > 0 {
					b.WriteString(", ")
				}
				p++
				if to.Postgres {
					b.WriteString("$" + strconv.Itoa(p))
				} else {
					b.WriteByte('?')
				}
			}
			b.WriteByte(')')
		}
		b.WriteString(` ON CONFLICT DO NOTHING`)
		return b.String()
	}
	full := insert(batch)
	vals := make([]any, 0, batch*len(cols))
	var copied int64
	start := time.Now()
	nextReport := opts.Every
	report := func() {
		if opts.Progress == nil {
			return
		}
		rate := float64(copied) / max(time.Since(start).Seconds(), 1e-3)
		var left time.Duration
		if rate > 0 {
			left = time.Duration(float64(total-have-copied) / rate * float64(time.Second))
		}
		opts.Progress(Progress{Table: table, Done: have + copied, Total: total, Rate: rate, Left: left})
	}
	flush := func() error {
		n := len(vals) / len(cols)
		if n == 0 {
			return nil
		}
		q := full
		if n < batch {
			q = insert(n)
		}
		if _, err := to.SQL.ExecContext(ctx, q, vals...); err != nil {
			return err
		}
		copied += int64(n)
		vals = vals[:0]
		if table == "events" && copied >= nextReport {
			nextReport += opts.Every
			if have+copied < total {
				report()
			}
		}
		return nil
	}
	row := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range row {
		ptrs[i] = &row[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return copied, err
		}
		for _, v := range row {
			if b, ok := v.([]byte); ok { // the driver may reuse it
				v = append([]byte(nil), b...)
			}
			vals = append(vals, v)
		}
		if len(vals) == batch*len(cols) {
			if err := flush(); err != nil {
				return copied, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return copied, err
	}
	if err := flush(); err != nil {
		return copied, err
	}
	report()
	return copied, nil
}

// tables lists the database's tables and their columns (in the order
// the columns were defined).
func tables(ctx context.Context, d DB) (map[string][]string, error) {
	out := map[string][]string{}
	if d.Postgres {
		rows, err := d.SQL.QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns
WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var t, c string
			if err := rows.Scan(&t, &c); err != nil {
				return nil, err
			}
			out[t] = append(out[t], c)
		}
		return out, rows.Err()
	}
	rows, err := d.SQL.QueryContext(ctx, `SELECT m.name, p.name FROM sqlite_schema m, pragma_table_info(m.name) p
WHERE m.type = 'table' ORDER BY m.name, p.cid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var t, c string
		if err := rows.Scan(&t, &c); err != nil {
			return nil, err
		}
		out[t] = append(out[t], c)
	}
	return out, rows.Err()
}

func schemaVersion(ctx context.Context, d DB) (int, error) {
	var v sql.NullInt64
	if err := d.SQL.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, err
	}
	return int(v.Int64), nil
}

// sameColumns: the same column names, in any order (a column added by a
// migration comes last in either database).
func sameColumns(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, c := range a {
		if !contains(b, c) {
			return false
		}
	}
	return true
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// rebind turns ? placeholders into $n for PostgreSQL.
func rebind(d DB, q string) string {
	if !d.Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}
