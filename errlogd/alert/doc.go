// Package alert is errlogd's alerting: rules evaluated on every commit
// of the store, notifications (mail, webhooks) through a durable outbox,
// and tickets (GitHub Issues, Jira, a generic webhook) raised once per
// group, ever.
//
// # Exactly once
//
// New attaches a hook to the store's writer (sqlstore.Tables.SetCommitHook):
// inside each commit's transaction it learns, per group, whether the
// group is new, regressed, and how many events the batch added; it
// evaluates the rules and inserts the notifications into alert_outbox,
// keyed by (rule, group, trigger), in that same transaction. The events
// and their notifications commit together or not at all, and two
// processes on one PostgreSQL never write one notification twice (the
// group's row is locked by the commit; the key is unique).
//
// The sender (RunOnce, every Options.Poll) claims rows with a lease
// (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has one writer), sends
// them, and marks them sent, or schedules a retry with backoff. A crash
// after a mail server accepted a mail and before the row was marked sent
// sends that mail again after the lease: at least once there, never lost.
//
// # Its tables
//
// Alert's tables (outbox, rule state, mute, tickets, rules) are alert's:
// their migrations are in alert/migrations, one folder per database, and
// its SQL is in this package. New applies the migrations in the store's
// database (recorded apart from the store's) through sqlstore.Tables, the
// store's narrow way in for a component: reads on the read pool, writes
// refused when the database file is lost, claims with FOR UPDATE SKIP
// LOCKED where the database can (Dialect.RowLocks). Of the store itself a
// Notifier needs only what Store lists.
//
// A group's rows go with the group: the store's DeleteGroup runs alert's
// sqlstore.GroupDeleteHook in its transaction, set wherever alert's
// tables are opened; rows of a group deleted by a process that had not
// opened them (errlogd without mail or rules) are swept by the sender's
// hourly prune, before it sends.
//
// # Mail
//
// Alert mail is composed and sent by package mail, as the client's error
// mail is: the same settings (Options.Mail is a mail.Options), the same
// SMTP transport (implicit TLS on port 465, STARTTLS, AUTH PLAIN, LOGIN
// or CRAM-MD5; a refused recipient does not stop the others; a 5xx reply
// fails the notification at once, without retries) and the same text and
// HTML parts, with links to the dashboard. The first alert to a recipient
// list is mailed at once, with the whole error (stack, request, the
// group's page); those that follow within Options.MailDelay of a mail to
// the same list are gathered into one digest, sent when the window ends.
//
// # In an application
//
// The store is an errlog.EventSink; with a Notifier on it an application
// gets the same rules, outbox and tickets with no server:
//
//	st, _ := sqlite.Open(ctx, "errors.db", sqlite.Options{})
//	n, _ := alert.New(st.DB, nil, alert.Options{Mail: mail.Options{Addr: "smtp:587", From: "app@example.com", To: []string{"ops@example.com"}}})
//	defer n.Close()
//	log := errlog.New(errlog.Options{Sinks: []errlog.EventSink{st}})
package alert
