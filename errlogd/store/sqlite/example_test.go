package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/errlog/errlog"
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/sqlite"
)

// An application records its own errors into a SQLite file, with no
// server: the store is an errlog.EventSink.
func Example_inProcess() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)

	st, err := sqlite.Open(ctx, filepath.Join(dir, "errors.db"), sqlite.Options{})
	if err != nil {
		panic(err)
	}
	// Closed at the end, not dropped: a Handler the garbage collector
	// takes is closed, and closes its sinks, this store among them.
	h := errlog.NewHandler(errlog.Options{Console: io.Discard, Sinks: []errlog.EventSink{st}})
	defer h.Close(ctx)
	log := slog.New(h)
	log.Error("charge failed", "err", errors.New("card declined"))
	log.Error("charge failed", "err", errors.New("card declined"))

	if err := h.Flush(ctx); err != nil {
		panic(err)
	}
	page, _ := st.ListGroups(ctx, store.GroupQuery{})
	for _, g := range page.Groups {
		fmt.Println(g.Count, g.Title)
	}
	st.Close(ctx)
	// Output:
	// 2 charge failed: *errors.errorString: card declined
}
