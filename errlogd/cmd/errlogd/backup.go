package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/errlog/errlog/errlogd/store/sqlite"
)

const backupUsage = `usage: errlogd backup -db FILE -o SNAPSHOT

Writes a consistent copy of the SQLite store FILE to the new file SNAPSHOT
while errlogd keeps running: the snapshot holds every event acknowledged
before the backup began (SQLite's VACUUM INTO reads one snapshot without
blocking ingest), and passes PRAGMA integrity_check before it is named
SNAPSHOT. Restore by stopping errlogd and copying SNAPSHOT over FILE
(removing FILE-wal and FILE-shm).

A PostgreSQL store is backed up with pg_dump (see docs/operations.md).

Flags:
`

func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("errlogd backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", os.Getenv("ERRLOGD_DB"), "the store: a SQLite file (default $ERRLOGD_DB)")
	out := fs.String("o", "", "the snapshot to write: a new file")
	if code, ok := parseCommand(fs, backupUsage, args, stdout); !ok {
		return code
	}
	if *db == "" || *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	if isPostgres(*db) {
		fmt.Fprintln(stderr, "errlogd backup: a PostgreSQL store is backed up with pg_dump, which reads one consistent snapshot while errlogd writes"+
			" and restores into any PostgreSQL version: pg_dump -Fc -f errlog.dump URL (docs/operations.md)")
		return 2
	}
	if err := checkExistingDB(ctx, *db); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	start := time.Now()
	schema, err := sqlite.Backup(ctx, dbName(*db), *out)
	if err != nil {
		fmt.Fprintln(stderr, "errlogd:", err)
		return 1
	}
	size := int64(0)
	if fi, err := os.Stat(*out); err == nil {
		size = fi.Size()
	}
	fmt.Fprintf(stdout, "errlogd: backed up %s to %s (%.1f MB, schema %d, integrity ok) in %v\n", dbName(*db), dbName(*out), float64(size)/1e6, schema, time.Since(start).Round(time.Millisecond))
	return 0
}

// parseCommand gives a subcommand's flag set its usage and parses args:
// "help" or -h prints the usage on stdout (exit code 0), a bad flag says
// so on the flag set's output (2). ok false: exit with code.
func parseCommand(fs *flag.FlagSet, usage string, args []string, stdout io.Writer) (code int, ok bool) {
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	if len(args) > 0 && isHelp(args[0]) {
		fs.SetOutput(stdout)
		fs.Usage()
		return 0, false
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	return 0, true
}
