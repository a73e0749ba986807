package mail_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/errlog/errlog/mail"
	"github.com/errlog/errlog/mail/mailtest"
)

// The server closed the kept connection while it was idle, saying 421
// first (go-smtp, Postfix, Exim do): the next mail of the burst must go
// out on a new connection, at once, without an error. The transport's
// comment promises "one more try on a new one" when the server closed the
// connection while it was idle; a 421 before the close is the usual way.
func TestIdleConnectionClosedWith421(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{IdleTimeout: 200 * time.Millisecond})
	addr := srv.Addr
	var reported []error
	var mu sync.Mutex
	tr, err := mail.NewTransport(mail.Options{Addr: addr, Timeout: 2 * time.Second, IdleTimeout: time.Minute},
		mail.Env{OnError: func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if err := tr.Send(ctx, message("ops@example.com")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond) // the server's idle timeout passes: 421 and close
	for i := 0; i < 3; i++ {
		if err := tr.Send(ctx, message("ops@example.com")); err != nil {
			t.Fatalf("mail %d after the server closed the idle connection: %v (temporary: %v)", i+2, err, !mail.IsPermanent(err))
		}
	}
	if n := len(srv.Mails()); n != 4 {
		t.Errorf("%d mails arrived, want 4", n)
	}
}

// scripted is a fake SMTP server that answers as a real one would,
// except at the stage named by stall, where it goes quiet (or, with
// reply set, answers that).
func scripted(t *testing.T, stall string, reply string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serveScripted(c, stall, reply)
			}()
		}
	}()
	return ln.Addr().String()
}

func serveScripted(c net.Conn, stall, reply string) {
	r := bufio.NewReader(c)
	say := func(stage, normal string) bool {
		if stage == stall {
			if reply == "" {
				io.Copy(io.Discard, r) // silent until the client hangs up
				return false
			}
			io.WriteString(c, reply+"\r\n")
			return true
		}
		io.WriteString(c, normal+"\r\n")
		return true
	}
	if !say("greeting", "220 localhost ESMTP") {
		return
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			if !say("EHLO", "250-localhost\r\n250-STARTTLS\r\n250-AUTH PLAIN\r\n250 8BITMIME") {
				return
			}
		case cmd == "STARTTLS":
			// 220, then silence: the TLS handshake never completes.
			if !say("STARTTLS", "220 go ahead") || stall == "handshake" {
				io.Copy(io.Discard, r)
				return
			}
		case strings.HasPrefix(cmd, "AUTH"):
			if !say("AUTH", "235 ok") {
				return
			}
		case strings.HasPrefix(cmd, "MAIL"):
			if !say("MAIL", "250 ok") {
				return
			}
		case strings.HasPrefix(cmd, "RCPT"):
			if !say("RCPT", "250 ok") {
				return
			}
		case cmd == "DATA":
			if !say("DATA", "354 go ahead") {
				return
			}
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
			}
			if !say("dot", "250 queued") {
				return
			}
		case cmd == "RSET", cmd == "NOOP":
			io.WriteString(c, "250 ok\r\n")
		case cmd == "QUIT":
			io.WriteString(c, "221 bye\r\n")
			return
		default:
			io.WriteString(c, "502 no\r\n")
		}
	}
}

// A server that goes quiet at any stage costs a Send at most its
// Timeout (connecting) plus its Timeout (the transaction).
func TestStallAtEachStage(t *testing.T) {
	for _, stage := range []string{"greeting", "EHLO", "STARTTLS", "handshake", "AUTH", "MAIL", "RCPT", "DATA", "dot"} {
		t.Run(stage, func(t *testing.T) {
			addr := scripted(t, stage, "")
			o := mail.Options{Addr: addr, Timeout: 300 * time.Millisecond, Username: "u", Password: "p"}
			if stage != "STARTTLS" && stage != "handshake" {
				o.NoTLS = true
			}
			tr, err := mail.NewTransport(o, mail.Env{})
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			start := time.Now()
			err = tr.Send(ctx, message("ops@example.com"))
			if err == nil || mail.IsPermanent(err) {
				t.Errorf("err %v, want a temporary error", err)
			}
			if d := time.Since(start); d > 900*time.Millisecond {
				t.Errorf("Send took %v with a Timeout of 300ms", d)
			}
		})
	}
}

// A recipient refused for now (450, greylisting) while the others take
// the mail: Send says which to try again (RetryRecipients, temporary),
// and the next Send goes to them alone. A 550 among them is refused for
// good and told once, not tried again; with no recipient taken, only
// the 4xx ones are still owed.
func TestSendRetryRecipients(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	var mu sync.Mutex
	grey := map[string]int{}
	srv.SetHook(func(stage string) error {
		mu.Lock()
		defer mu.Unlock()
		switch stage {
		case "RCPT gone@example.com":
			return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		case "RCPT dev@example.com", "RCPT qa@example.com":
			if grey[stage]++; grey[stage] == 1 {
				return &gosmtp.SMTPError{Code: 450, EnhancedCode: gosmtp.EnhancedCode{4, 7, 1}, Message: "greylisted"}
			}
		}
		return nil
	})
	var told []error
	tr, err := mail.NewTransport(mail.Options{Addr: srv.Addr}, mail.Env{OnError: func(err error) { told = append(told, err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	m := &mail.Message{ID: "<1@x>", From: "errlog@example.com", To: []string{"ops@example.com", "dev@example.com", "gone@example.com"}, Data: []byte("Subject: x\r\n\r\nbody\r\n")}
	err = tr.Send(context.Background(), m)
	var later *mail.RetryRecipients
	if !errors.As(err, &later) || mail.IsPermanent(err) {
		t.Fatalf("Send: %v, want a temporary *RetryRecipients", err)
	}
	if strings.Join(later.To, ",") != "dev@example.com" {
		t.Errorf("to try again: %v, want dev@example.com", later.To)
	}
	if len(told) != 1 || !strings.Contains(told[0].Error(), "gone@example.com") || strings.Contains(told[0].Error(), "dev@") {
		t.Errorf("told %v, want the 550 alone", told)
	}
	m.To = later.To
	if err := tr.Send(context.Background(), m); err != nil {
		t.Fatalf("the retry for %v: %v", later.To, err)
	}
	got := map[string]int{}
	for _, r := range srv.Mails() {
		for _, to := range r.To {
			got[to]++
		}
	}
	if got["ops@example.com"] != 1 || got["dev@example.com"] != 1 || got["gone@example.com"] != 0 {
		t.Errorf("mails by recipient %v, want ops and dev once", got)
	}

	// None taken: a 550 and a 450. Only the 450's recipient is owed.
	m.To = []string{"gone@example.com", "qa@example.com"}
	err = tr.Send(context.Background(), m)
	if !errors.As(err, &later) || strings.Join(later.To, ",") != "qa@example.com" || mail.IsPermanent(err) {
		t.Errorf("Send with none taken: %v, want qa@example.com to try again", err)
	}
}
