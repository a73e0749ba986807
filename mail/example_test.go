package mail_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"os"
	"path/filepath"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/mail"
)

// Three occurrences of one error, throttled: the first is mailed at once,
// the two repeats are counted into one digest (sent here at the end, as
// Close would). The directory transport writes each mail as an .eml
// file; with Addr set instead of Dir, the same mails go over SMTP.
func Example() {
	dir := filepath.Join(os.TempDir(), "mail-example-"+event.NewID()) // NewTransport makes it
	defer os.RemoveAll(dir)
	o := mail.Options{Dir: dir, From: "errlog <errors@example.com>", To: []string{"ops@example.com"}}
	addrs, errAddr := o.Addresses("")
	tr, errTransport := mail.NewTransport(o, mail.Env{})
	if err := errors.Join(errAddr, errTransport); err != nil {
		panic(err)
	}
	defer tr.Close()
	c := &mail.Composer{Addresses: addrs, ServerName: "web-1"}
	th := mail.NewThrottle(mail.ThrottleOptions{})

	send := func(notices []mail.Notice) {
		for i := range notices {
			m, err := c.Compose(&notices[i], mail.Extra{})
			if err != nil {
				panic(err)
			}
			if err := tr.Send(context.Background(), m); err != nil {
				panic(err)
			}
			h, _ := netmail.ReadMessage(bytes.NewReader(m.Data))
			fmt.Println(h.Header.Get("Subject"))
		}
	}
	now := time.Now()
	for i := 0; i < 3; i++ {
		ev := &event.Event{EventID: event.NewID(), Timestamp: now, Level: event.LevelError, Logentry: &event.Logentry{Message: "payment failed"}}
		notices, _ := th.Add(ev, ev.GroupKey(), now)
		send(notices)
	}
	send(th.Flush(now, true))
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	fmt.Println(len(files), "files")
	// Output:
	// [errlog] ERROR: payment failed
	// Re: [errlog] ERROR: payment failed
	// 2 files
}
