package logfile

import (
	"log/slog"

	"github.com/errlog/errlog/internal/values"
)

// ReplaceAttr for the file, with slog's rules: called for every attribute
// that is not a group, with the names of the groups it is in; an empty
// result drops the attribute, and a group left empty is dropped too.

// replaceRecord returns r with f applied to its attrs.
func replaceRecord(f func([]string, slog.Attr) slog.Attr, groups []string, r slog.Record) slog.Record {
	nr := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if b, ok := replaceAttr(f, groups, a); ok {
			nr.AddAttrs(b)
		}
		return true
	})
	return nr
}

// replaceAttrs returns attrs with f applied, in a new slice.
func replaceAttrs(f func([]string, slog.Attr) slog.Attr, groups []string, attrs []slog.Attr) []slog.Attr {
	out := make([]slog.Attr, 0, len(attrs))
	for _, a := range attrs {
		if b, ok := replaceAttr(f, groups, a); ok {
			out = append(out, b)
		}
	}
	return out
}

// replaceAttr applies f to a, or to every attribute inside it when a is a
// group; ok is false when nothing is left.
func replaceAttr(f func([]string, slog.Attr) slog.Attr, groups []string, a slog.Attr) (slog.Attr, bool) {
	a.Value = a.Value.Resolve()
	if a.Value.Kind() == slog.KindGroup {
		inner := groups
		if a.Key != "" {
			inner = append(groups[:len(groups):len(groups)], a.Key)
		}
		members := replaceAttrs(f, inner, a.Value.Group())
		if len(members) == 0 {
			return slog.Attr{}, false
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(members...)}, true
	}
	a = callReplace(f, groups, a)
	a.Value = a.Value.Resolve()
	if isEmptyAttr(a) {
		return slog.Attr{}, false
	}
	return a, true
}

// callReplace calls f, which is the application's code: a panic in it
// costs the attribute its value ("!PANIC in ReplaceAttr: …", as a
// panicking LogValue prints), never the logging call.
func callReplace(f func([]string, slog.Attr) slog.Attr, groups []string, a slog.Attr) (out slog.Attr) {
	defer func() {
		if p := recover(); p != nil {
			out = slog.String(a.Key, "!PANIC in ReplaceAttr: "+values.Text(p))
		}
	}()
	return f(groups, a)
}
