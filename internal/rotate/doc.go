// Package rotate is the rotating file writer under errlog's file sink.
//
// It exists because the models fall short: natefinch/lumberjack cannot
// rotate by time, keeps its clock in a package global, and leaks its
// cleanup goroutine on Close; Python's RotatingFileHandler and
// TimedRotatingFileHandler each do only half of the job.
//
// # Rotation
//
// A [Writer] rotates before a Write that would take the file past
// [Options.MaxSize], at the first Write after an [Options.Interval]
// boundary, and when [Writer.Rotate] is called. The current file is
// renamed to a backup in the same directory, named after the rotation time:
//
//	app.log -> app-2006-01-02T15-04-05.000.log (.gz when compressed)
//
// One Write is one record and always lands whole in one file, so a log line
// is never split between two files nor interleaved with another goroutine's.
//
// # Cleanup
//
// Deleting old backups ([Options.MaxBackups], [Options.MaxAge]) and gzipping
// them ([Options.Compress]) happens in one goroutine per Writer, woken after
// each rotation and once at Open, so that a slow disk or a large backup never
// delays a Write. [Writer.Close] stops that goroutine and waits for it; a
// compression cut short by Close is redone by the next Writer on the path.
// Cleanup only ever touches files whose names match this log's backup
// pattern.
//
// # Errors
//
// A failed write is returned from Write, never a panic, and the Writer stays
// usable: after an error on a regular file the handle is dropped and the next
// Write reopens the path, so a full disk, a stale handle or a deleted
// directory heal by themselves once the cause is gone. A reopen that fails
// is not tried again before [Options.RetryInterval] (a minute): Writes in
// between fail at once with [ErrUnavailable]. With [Options.Lazy], Open
// itself succeeds on a path it cannot open yet and waits the same way. A
// record that only partly fitted is cut off again, so the file holds no
// half line. Paths that are not regular files (/dev/stdout, a FIFO) are
// written to but never rotated: automatic rotation skips them and Rotate
// reports an error.
//
// # External rotation
//
// At most once every [Options.WatchInterval] (a second), a Write compares
// the device and inode at the path with the open file's, as Python's
// WatchedFileHandler does: a file that logrotate or a person renamed or
// deleted is reopened at the path, so at most a second of lines goes to the
// old file. The same check re-reads the file's size: after a copytruncate,
// or with other processes writing, rotation follows the real size.
//
// # Several processes
//
// Processes that write the same path (replicas, a CLI beside its server)
// rotate under an flock of the directory; one that finds the path already
// rotated by another follows it instead of rotating again. Each holds a
// shared flock on the file it writes, and the compressor and the cleanup
// leave a backup alone while anyone still holds it, trying again after a
// pause: no line is lost into a backup being gzipped or deleted, which is
// where lumberjack and Python's handlers lose them. Systems without flock
// (Solaris, AIX, Windows) rotate uncoordinated.
//
// # Example
//
//	w, err := rotate.Open(rotate.Options{
//		Path:       "/var/log/app/errors.log",
//		MaxSize:    10 << 20,
//		MaxBackups: 7,
//		Interval:   24 * time.Hour,
//		Compress:   true,
//	})
//	if err != nil {
//		return err
//	}
//	defer w.Close()
//	logger := slog.New(slog.NewTextHandler(w, nil))
package rotate
