// Fatal is a child process for TestFatalDelivers: it logs a fatal error
// with errlog.Fatal right after starting, as a server that cannot listen
// does, and must exit 1 only after the tracker has the event.
package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/errlog/errlog"
)

func main() {
	slog.SetDefault(errlog.New(errlog.FromEnv()))
	err := errors.New("listen tcp :8080: bind: address already in use")
	errlog.Fatal(context.Background(), "server stopped", "err", err)
	panic("errlog.Fatal returned")
}
