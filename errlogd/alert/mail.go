package alert

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"time"

	"github.com/errlog/errlog"
	"github.com/errlog/errlog/errlogd/store"
)

// sendMail composes one mail for rows (one: the error mail of its
// group; more: a digest) and sends it. It returns the Message-ID.
func (n *Notifier) sendMail(ctx context.Context, to []string, rows []Notification, now time.Time) (string, error) {
	co := errlog.ComposeOptions{From: n.opts.Mail.From, To: to, ServerName: "errlogd", Now: now}
	var id string
	var msg []byte
	var err error
	if len(rows) == 1 {
		x := rows[0]
		g, gerr := n.db.Group(ctx, x.GroupID)
		if errors.Is(gerr, store.ErrNotFound) {
			return "", nil // deleted since: nothing to tell
		}
		if gerr != nil {
			return "", fmt.Errorf("group %d: %w", x.GroupID, gerr)
		}
		ev := n.loadEvent(ctx, g, x.EventID)
		switch x.Reason {
		case TriggerNew:
			co.Headline = "New error: first seen " + g.FirstSeen.UTC().Format(time.RFC3339) + "."
		case TriggerRegression:
			co.Headline = fmt.Sprintf("Regression: this error was resolved and is back (%d times in all).", x.Total)
		default:
			co.Headline = fmt.Sprintf("Alert %q (%s): %d times in all.", x.Rule, x.Reason, x.Total)
		}
		co.Link = n.link(g.ID)
		co.Headline += n.traceLine(ev)
		id, msg, err = errlog.ComposeMail(ev, g.Key, int(x.Total), co)
	} else {
		items := make([]errlog.DigestItem, 0, len(rows))
		for _, x := range rows {
			g, gerr := n.db.Group(ctx, x.GroupID)
			if errors.Is(gerr, store.ErrNotFound) {
				continue // deleted since: nothing to tell
			}
			if gerr != nil {
				return "", fmt.Errorf("group %d: %w", x.GroupID, gerr)
			}
			items = append(items, errlog.DigestItem{GroupKey: g.Key, Title: g.Title, Level: g.Level, Reason: x.Reason,
				Count: g.Count, Last: g.LastSeen, Link: n.link(g.ID)})
		}
		if len(items) == 0 {
			return "", nil
		}
		co.Link = n.opts.PublicURL
		id, msg, err = errlog.ComposeDigest(items, co)
	}
	if err != nil {
		return "", err
	}
	return id, n.smtpSend(ctx, to, msg)
}

// smtpSend delivers one message: implicit TLS or STARTTLS as configured,
// AUTH PLAIN when a user is set (net/smtp refuses it in clear text but
// to localhost).
func (n *Notifier) smtpSend(ctx context.Context, to []string, msg []byte) error {
	c := n.opts.Mail
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("errlog: alert: smtp: address %q: %w", c.Addr, err)
	}
	tc := c.TLSConfig
	if tc == nil {
		tc = &tls.Config{ServerName: host}
	}
	d := &net.Dialer{Timeout: timeout}
	var conn net.Conn
	if c.TLS == "implicit" {
		conn, err = (&tls.Dialer{NetDialer: d, Config: tc}).DialContext(ctx, "tcp", c.Addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", c.Addr)
	}
	if err != nil {
		return fmt.Errorf("errlog: alert: smtp: %w", err)
	}
	_ = conn.SetDeadline(time.Now().Add(timeout))
	// A cancelled ctx (the notifier closing) ends the session at once.
	defer context.AfterFunc(ctx, func() { conn.Close() })()
	cl, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("errlog: alert: smtp: %w", err)
	}
	defer cl.Close()
	if c.TLS != "implicit" && c.TLS != "none" {
		if ok, _ := cl.Extension("STARTTLS"); ok {
			if err := cl.StartTLS(tc); err != nil {
				return fmt.Errorf("errlog: alert: smtp: starttls: %w", err)
			}
		} else if c.TLS == "required" {
			return errors.New("errlog: alert: smtp: the server does not offer STARTTLS")
		}
	}
	if c.User != "" {
		if err := cl.Auth(smtp.PlainAuth("", c.User, c.Password, host)); err != nil {
			return fmt.Errorf("errlog: alert: smtp: auth: %w", err)
		}
	}
	from, err := mail.ParseAddress(c.From)
	if err != nil {
		return fmt.Errorf("errlog: alert: smtp: from: %w", err)
	}
	if err := cl.Mail(from.Address); err != nil {
		return fmt.Errorf("errlog: alert: smtp: %w", err)
	}
	for _, t := range to {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return fmt.Errorf("errlog: alert: smtp: to %q: %w", t, err)
		}
		if err := cl.Rcpt(a.Address); err != nil {
			return fmt.Errorf("errlog: alert: smtp: %w", err)
		}
	}
	w, err := cl.Data()
	if err != nil {
		return fmt.Errorf("errlog: alert: smtp: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("errlog: alert: smtp: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("errlog: alert: smtp: %w", err)
	}
	return cl.Quit()
}
