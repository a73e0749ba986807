// Command sentrygo records sentry-go events for the grouping corpus (see
// ../../README.md): go run . (its own module), with capture.py listening
// on 127.0.0.1:18777.
package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/getsentry/sentry-go"
)

var seq int

func labelled(label string, f func()) {
	sentry.WithScope(func(scope *sentry.Scope) {
		seq++
		scope.SetTag("label", fmt.Sprintf("%s--%d", label, seq))
		f()
	})
}

func main() {
	if err := sentry.Init(sentry.ClientOptions{Dsn: "http://public@127.0.0.1:18777/1", AttachStacktrace: true}); err != nil {
		panic(err)
	}
	defer sentry.Flush(5 * time.Second)

	// Two errors captured in main.main, each twice: two groups.
	for i := 0; i < 2; i++ {
		labelled("sg-main-boom", func() { sentry.CaptureException(errors.New("boom")) })
		labelled("sg-main-bang", func() { sentry.CaptureException(fmt.Errorf("bang %d", i)) })
	}
	// A message with an id, from one line: one group.
	for _, id := range []int{17, 4711} {
		labelled("sg-login", func() { sentry.CaptureMessage(fmt.Sprintf("user %d logged in from a new device", id)) })
	}
	// A panic recovered in a goroutine, twice: one group.
	for i := 0; i < 2; i++ {
		done := make(chan bool)
		go func() {
			defer close(done)
			defer func() {
				if v := recover(); v != nil {
					labelled("sg-goroutine-panic", func() { sentry.CurrentHub().Recover(v) })
				}
			}()
			var s []int
			_ = s[i+3]
		}()
		<-done
	}
}
