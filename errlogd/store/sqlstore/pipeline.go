package sqlstore

import "context"

// A commit tells the driver what it may hold back, so that a driver that
// can send several statements in one round trip (PostgreSQL's) needs
// fewer; a driver that does not look ignores it. Nothing else is marked.

type hint int

const (
	lazyBegin hint = 1 << iota
	deferrable
)

type hintKey struct{}

func withHint(ctx context.Context, h hint) context.Context {
	v, _ := ctx.Value(hintKey{}).(hint)
	return context.WithValue(ctx, hintKey{}, v|h)
}

func hinted(ctx context.Context, h hint) bool {
	v, _ := ctx.Value(hintKey{}).(hint)
	return v&h != 0
}

// LazyBegin reports whether the transaction that BeginTx begins with ctx
// may send its BEGIN with its first statement: the commit's does.
func LazyBegin(ctx context.Context) bool { return hinted(ctx, lazyBegin) }

// Deferrable reports whether the statement run with ctx, in a
// transaction begun with LazyBegin, may wait for the transaction's next
// statement or its COMMIT, to be sent with it: its caller reads nothing
// of its result (the driver returns 0 rows affected), its error returns
// from that next statement or COMMIT, and its arguments stay as they
// are until then.
func Deferrable(ctx context.Context) bool { return hinted(ctx, deferrable) }

// WithLazyBegin and WithDeferrable mark ctx as a commit does, for a
// driver's tests.
func WithLazyBegin(ctx context.Context) context.Context  { return withHint(ctx, lazyBegin) }
func WithDeferrable(ctx context.Context) context.Context { return withHint(ctx, deferrable) }
