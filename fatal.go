package errlog

import (
	"context"
	"log/slog"
	"os"
	"runtime"
)

// LevelFatal is the level of [Fatal]'s record: above ERROR, written
// CRITICAL in the log file (as Python's logging names it), FATAL in mail
// and "fatal" in events.
const LevelFatal = slog.LevelError + 4

// osExit is os.Exit; the tests of Fatal run it in a child process.
var osExit = os.Exit

// Fatal logs msg and args at [LevelFatal] through slog.Default(), delivers
// it and everything queued before it (see [Exit]), and ends the process
// with status 1.
//
// A program that logs an error and then calls os.Exit loses that error:
// os.Exit runs no deferred function, so no Handler's Close or Flush runs,
// and the record is still in the queue of the mail, the tracker and the
// spool. Fatal is the way to stop a program on an error that must reach a
// person.
func Fatal(ctx context.Context, msg string, args ...any) {
	if ctx == nil {
		ctx = context.Background()
	}
	if l := slog.Default(); l.Enabled(ctx, LevelFatal) {
		var pcs [1]uintptr
		runtime.Callers(2, pcs[:]) // Fatal's caller, as slog.Logger.Log records it
		r := slog.NewRecord(nowOf(l.Handler()), LevelFatal, msg, pcs[0])
		r.Add(args...)
		_ = l.Handler().Handle(ctx, r)
	}
	Exit(1)
}

// Exit delivers what every Handler that is not closed holds, as [Flush]
// does within [DefaultFlushTimeout], then calls os.Exit(code). Use it
// instead of os.Exit after logging an error.
func Exit(code int) {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultFlushTimeout)
	_ = Flush(ctx) // what it could not deliver it has reported and spooled
	cancel()
	osExit(code)
}
