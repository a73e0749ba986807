package alert

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/mail"
)

// Alert mail: composed and sent by package mail, as the client's error
// mail is. The first alert to a recipient list goes out at once, with the
// whole error; the alerts that follow within MailDelay of a mail to the
// same list are gathered into one digest.

// startMail checks the mail settings and makes the transport; it leaves
// n.transport nil when no server is set.
func (n *Notifier) startMail() error {
	m := &n.opts.Mail
	if m.Addr == "" && m.Dir == "" || m.Disabled {
		return nil
	}
	if m.From == "" {
		m.From = "errlogd@" + senderHost(n.opts.PublicURL)
	}
	if _, err := mail.ParseAddresses(m.From, []string{"x@example.com"}, "", false); err != nil {
		return fmt.Errorf("errlog: alert: %w", err)
	}
	if len(m.To) > 0 {
		// The default recipients, checked now: one that is not an
		// address fails every alert mailed to it, for good.
		if _, err := mail.ParseAddresses(m.From, m.To, "", false); err != nil {
			return fmt.Errorf("errlog: alert: %w", err)
		}
	}
	t, err := mail.NewTransport(*m, mail.Env{OnError: n.opts.OnError})
	if err != nil {
		return fmt.Errorf("errlog: alert: %w", err)
	}
	n.transport = t
	return nil
}

// senderHost is the host of the public URL, which a mail server accepts
// as the sender's domain, or the machine's name when that is an address
// (a mail server refuses "errlogd@127.0.0.1").
func senderHost(publicURL string) string {
	if u, err := url.Parse(publicURL); err == nil && u.Hostname() != "" && net.ParseIP(u.Hostname()) == nil {
		return mail.HostPart(u.Hostname())
	}
	name, _ := os.Hostname()
	return mail.HostPart(name)
}

// lastMail returns when the last mail to dest was sent; zero if none
// was.
func (n *Notifier) lastMail(ctx context.Context, dest string) (time.Time, error) {
	var last sql.NullInt64
	err := n.t.QueryRow(ctx, `SELECT MAX(sent_ms) FROM alert_outbox WHERE dest = ? AND state = 'sent'`, dest).Scan(&last)
	if err != nil || !last.Valid {
		return time.Time{}, err
	}
	return time.UnixMilli(last.Int64), nil
}

// sendMail composes one mail for rows (one: the error mail of its
// group; more: a digest) and sends it. It returns the Message-ID.
func (n *Notifier) sendMail(ctx context.Context, to []string, rows []Notification, now time.Time) (string, error) {
	addrs, err := mail.ParseAddresses(n.opts.Mail.From, to, "", false)
	if err != nil {
		return "", mail.Permanent(err)
	}
	// No ServerName: the events are other hosts', and say which.
	c := &mail.Composer{Addresses: addrs, SubjectPrefix: n.opts.Mail.SubjectPrefix,
		Mailer: "errlogd", Now: func() time.Time { return now }, OnError: n.opts.OnError}
	var m *mail.Message
	if oneGroup(rows) {
		// One group that fired again while the mail waited: its error
		// mail, of the latest alert.
		rows = rows[len(rows)-1:]
	}
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
		var headline string
		switch x.Reason {
		case TriggerNew:
			headline = "New error: first seen " + g.FirstSeen.UTC().Format(time.RFC3339) + "."
		case TriggerRegression:
			headline = fmt.Sprintf("Regression: this error was resolved and is back (%d times in all).", x.Total)
		default:
			headline = fmt.Sprintf("Alert %q (%s): %d times in all.", x.Rule, x.Reason, x.Total)
		}
		notice := &mail.Notice{Kind: mail.NoticeFirst, GroupKey: g.Key, Event: ev, Count: 1, Total: int(x.Total)}
		m, err = c.Compose(notice, mail.Extra{Headline: headline + n.traceLine(ev), Link: n.link(g.ID)})
	} else {
		items := make([]mail.DigestItem, 0, len(rows))
		seen := make(map[int64]int, len(rows)) // group id: its item
		for _, x := range rows {
			if i, ok := seen[x.GroupID]; ok {
				// One group that fired again while the mail waited: one
				// line, with every reason.
				if !strings.Contains(", "+items[i].Reason+",", " "+x.Reason+",") {
					items[i].Reason += ", " + x.Reason
				}
				continue
			}
			g, gerr := n.db.Group(ctx, x.GroupID)
			if errors.Is(gerr, store.ErrNotFound) {
				continue // deleted since: nothing to tell
			}
			if gerr != nil {
				return "", fmt.Errorf("group %d: %w", x.GroupID, gerr)
			}
			seen[x.GroupID] = len(items)
			items = append(items, mail.DigestItem{GroupKey: g.Key, Title: g.Title, Level: g.Level, Reason: x.Reason,
				Count: g.Count, Last: g.LastSeen, Link: n.link(g.ID)})
		}
		if len(items) == 0 {
			return "", nil
		}
		m, err = c.Digest(items, mail.Extra{Link: n.opts.PublicURL})
	}
	if err != nil {
		return "", err
	}
	if err := n.transport.Send(ctx, m); err != nil {
		var later *mail.RetryRecipients
		if !errors.As(err, &later) {
			return "", fmt.Errorf("to %s: %w", strings.Join(to, ", "), err)
		}
		// Sent to the others: the alert is not sent again (its row is
		// one for all its recipients), and the refusal is told.
		if n.opts.OnError != nil {
			n.opts.OnError(fmt.Errorf("alert mail %s sent, but not to %s: %w", m.ID, strings.Join(later.To, ", "), later.Err))
		}
	}
	return m.ID, nil
}

// oneGroup reports whether rows are all of one group.
func oneGroup(rows []Notification) bool {
	for _, x := range rows[1:] {
		if x.GroupID != rows[0].GroupID {
			return false
		}
	}
	return len(rows) > 0
}
