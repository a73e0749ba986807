package errlog_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/errlog/errlog"
)

// Stats counts what every queue did with the events, so that a loss shows
// wherever it happened.
func ExampleHandler_Stats() {
	dir, err := os.MkdirTemp("", "errlog-stats")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	h := errlog.NewHandler(errlog.Options{
		Console: io.Discard,
		Mail:    &errlog.MailOptions{Dir: dir, To: []string{"oncall@example.com"}},
	})
	logger := slog.New(h)
	logger.Error("payment failed", "err", errors.New("card declined"))
	logger.Error("export failed", "err", errors.New("disk full"))
	h.Close(context.Background())

	st := h.Stats()
	fmt.Printf("events: %d enqueued, %d sent\n", st.Events.Enqueued, st.Events.Sent)
	for _, s := range st.Sinks {
		fmt.Printf("%s: %d sent, %d pending\n", s.Name, s.Sent, s.Pending)
	}
	fmt.Println("dropped:", h.Dropped())
	// Output:
	// events: 2 enqueued, 2 sent
	// mail: 2 sent, 0 pending
	// dropped: 0
}
