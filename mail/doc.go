// Package mail is errlog's error mail, as a package of its own: the
// client's mail sink (errlog.Options.Mail) and errlogd's alerts both
// compose and send with it.
//
// # Throttling
//
// A Throttle turns events into notices, so that a storm of errors gives
// a few mails instead of thousands: the first occurrence of a group
// (errors with one fingerprint) at once, its repeats within the window
// counted into one digest when the window ends, and an hourly cap whose
// excess is counted into one summary. It has no clock and no goroutine:
// the caller passes the time and asks Next when to call Due.
//
// # Composition
//
// A Composer writes a Notice as an RFC 5322 message: a subject to triage
// from ("[errlog] ERROR: payment failed (pay.go:42)"), threading headers
// (a group's mails form one thread; its digests say "Re: " and the first
// mail's subject), a plain text part that reads well in a terminal and
// the same as HTML (tables and inline styles, which mail clients keep),
// with links as links. Digest writes one mail listing several groups (a
// server's burst of new errors). Extra adds what a server knows: its own
// headline and the group's page.
//
// # Transports
//
// NewTransport makes the transport Options name: SMTP to Addr, or a
// directory (Dir) where each mail is an .eml file (development). The SMTP
// transport keeps one connection across a burst and closes it after
// IdleTimeout; speaks TLS from the first byte on port 465 (ImplicitTLS),
// upgrades with STARTTLS when offered (RequireTLS: or fails; NoTLS:
// never); authenticates with PLAIN, LOGIN or CRAM-MD5 as the server
// offers, and never sends a password in clear text except to localhost;
// runs every step under a deadline (Timeout) and the caller's context. A
// recipient the server refuses does not stop the mail to the others
// (Env.OnError is told). IsPermanent tells the failures that retrying
// cannot fix (a 5xx reply) from those worth retrying (4xx, timeouts,
// refused connections).
//
// # Settings
//
// Options are the same for the client (errlog.MailOptions, from
// ERRLOG_SMTP_* and ERRLOG_MAIL_*) and errlogd (ERRLOGD_SMTP_*,
// ERRLOGD_MAIL_*): Username, Password, and the TLS mode parsed by one
// function, SetTLS (starttls, required, implicit, none; any case).
//
//	o := mail.Options{Addr: "smtp.example.com:587", Username: "errlog", Password: pw,
//		From: "errlog <errors@example.com>", To: []string{"ops@example.com"}}
//	addrs, err := o.Addresses("")
//	tr, err := mail.NewTransport(o, mail.Env{})
//	c := &mail.Composer{Addresses: addrs}
//	m, err := c.Compose(&mail.Notice{Kind: mail.NoticeFirst, Event: ev, Count: 1, Total: 1}, mail.Extra{})
//	err = tr.Send(ctx, m)
//
// Package mailtest runs a real SMTP server in a test's process.
package mail
