package alert

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/sqlstore"
	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/mail"
	"github.com/errlog/errlog/wire/decode"
)

// Options tune a Notifier. The zero value is all defaults.
type Options struct {
	// Mail is the mail server, the sender and the default recipients, as
	// the client's error mail has them (ERRLOGD_SMTP_*, ERRLOGD_MAIL_*).
	// Addr "" turns mail off. From defaults to "errlogd@" and the host
	// of PublicURL (the machine's name when that is an IP address).
	Mail mail.Options
	// PublicURL is the dashboard's address ("https://errors.example.com/dev/error"):
	// links are PublicURL/groups/ID. Default: no link.
	PublicURL string
	// TraceURL links an event's trace in its alert mail (errlogd's
	// ERRLOGD_TRACE_URL, "{trace_id}" replaced; see store.TraceLink).
	// Default: no trace link.
	TraceURL string
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Poll is how often the sender looks at the outbox. Default 2s.
	Poll time.Duration
	// MailDelay is the digest window: the first alert to a recipient
	// list is mailed at once, with the whole error; those that follow
	// within MailDelay of a mail to the same list are gathered into one
	// digest, sent when the window ends. Default 1 minute. Negative:
	// none (every run of the sender mails what is pending).
	MailDelay time.Duration
	// MaxMailsPerHour caps mails over every rule together; what the cap
	// holds back waits and goes out as a digest. Default
	// mail.DefaultMaxPerHour; negative: no cap.
	MaxMailsPerHour int
	// MaxAttempts is how many times a notification or a ticket is tried
	// before it is left failed (a failed ticket is tried again by
	// CreateTicket). Default 20 (backoff 10s doubling to 1h). A
	// permanent failure (a 5xx reply of the mail server) is not retried.
	MaxAttempts int
	// Lease is how long a claimed row is held by one sender. Default 2m.
	Lease time.Duration
	// HTTPClient sends webhooks and tickets. Default: 10 s timeout.
	HTTPClient *http.Client
	// OnError is told of failed deliveries. Default: ignored.
	OnError func(error)
	// Manual starts no goroutine: the caller runs RunOnce (tests).
	Manual bool
}

// Notifier evaluates alert rules on every commit of a store, writes the
// notifications into the store's outbox in the same transaction, and
// sends them.
type Notifier struct {
	db    Store
	t     *sqlstore.Tables // alert's own tables
	cfg   Config
	opts  Options
	rules []Rule

	projMu sync.Mutex
	projs  map[int64]string

	stored storedRules // the rules of each project kept in the store

	transport mail.Transport // nil when mail is off

	runMu   sync.Mutex // one RunOnce at a time in this process
	pruned  time.Time  // last prune of sent rows; under runMu
	stop    chan struct{}
	done    chan struct{}
	stopped sync.Once
	closed  sync.Once
}

// KeepSent is how long sent notifications stay in the outbox, as each
// group's history.
const KeepSent = 90 * 24 * time.Hour

// DefaultRule alerts the default recipients on every new group and
// every regression: the rule when none is configured.
func DefaultRule() Rule {
	return Rule{Name: "default", Triggers: []Trigger{{Type: TriggerNew}, {Type: TriggerRegression}},
		Interval: Duration(DefaultInterval), Actions: []Action{{Type: ActionMail}}}
}

// Store is what a Notifier needs of the store it watches: the groups,
// events and projects its messages show, and Tables, its way to tables
// of its own (outbox, rules, tickets), whose migrations and SQL are
// alert's. *sqlstore.DB is one (sqlite.Store and postgres.Store embed it).
type Store interface {
	Project(ctx context.Context, id int64) (*store.Project, error)
	Group(ctx context.Context, id int64) (*store.Group, error)
	Event(ctx context.Context, id int64) (*store.StoredEvent, error)
	Tables(ctx context.Context, component string, migrations fs.FS) (*sqlstore.Tables, error)
}

//go:embed migrations
var migrations embed.FS

// tables gives alert its tables in db, creating or migrating them.
func tables(ctx context.Context, db Store) (*sqlstore.Tables, error) {
	sub, _ := fs.Sub(migrations, "migrations")
	t, err := db.Tables(ctx, "alert", sub)
	if err != nil {
		return nil, err
	}
	t.SetGroupDeleteHook(deleteGroup)
	return t, nil
}

// Migrate creates or migrates alert's tables in db without starting a
// Notifier: for tools that copy a store (errlogd move), whose
// destination must have every table the source has.
func Migrate(ctx context.Context, db Store) error {
	_, err := tables(ctx, db)
	return err
}

// New migrates alert's tables in db's database and attaches a Notifier
// to db. cfg nil (or with no rules) is DefaultRule when mail is
// configured.
func New(db Store, cfg *Config, opts Options) (*Notifier, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Poll <= 0 {
		opts.Poll = 2 * time.Second
	}
	if opts.MailDelay == 0 {
		opts.MailDelay = time.Minute
	} else if opts.MailDelay < 0 {
		opts.MailDelay = 0
	}
	if opts.MaxMailsPerHour == 0 {
		opts.MaxMailsPerHour = mail.DefaultMaxPerHour
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 20
	}
	if opts.Lease <= 0 {
		opts.Lease = 2 * time.Minute
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.OnError == nil {
		opts.OnError = func(error) {}
	}
	opts.PublicURL = strings.TrimSuffix(opts.PublicURL, "/")
	n := &Notifier{db: db, opts: opts, projs: map[int64]string{}, stop: make(chan struct{}), done: make(chan struct{})}
	// The mail settings first: a bad one is refused before the database
	// is touched.
	if err := n.startMail(); err != nil {
		return nil, err
	}
	opts = n.opts
	var err error
	if n.t, err = tables(context.Background(), db); err != nil {
		return nil, err
	}
	if cfg != nil {
		n.cfg = *cfg
		if err := n.cfg.Validate(); err != nil {
			return nil, err
		}
	}
	n.rules = n.cfg.Rules
	if len(n.rules) == 0 && opts.Mail.Addr != "" {
		n.rules = []Rule{DefaultRule()}
	}
	for _, r := range n.rules {
		for _, a := range r.Actions {
			if a.Type == ActionMail && (opts.Mail.Addr == "" || opts.Mail.From == "" || len(opts.Mail.To) == 0 && len(a.To) == 0) {
				return nil, fmt.Errorf("errlog: alert: rule %q mails, but the mail server, sender or recipients are not set", r.Name)
			}
		}
	}
	n.stored.version = -1
	if err := n.ReloadRules(context.Background()); err != nil {
		opts.OnError(err)
	}
	n.t.SetCommitHook(n.hook)
	if opts.Manual {
		close(n.done)
	} else {
		go n.loop()
	}
	return n, nil
}

// Stop stops the sender and waits for it, and leaves the hook attached:
// the commits until the store closes (the counts it owes, written as it
// closes) still put their alerts in the outbox, which the next start, or
// another process, sends.
func (n *Notifier) Stop() {
	n.stopped.Do(func() { close(n.stop) })
	<-n.done
}

// Close stops the sender and detaches the hook. It does not close db.
func (n *Notifier) Close() error {
	n.Stop()
	n.closed.Do(func() {
		n.t.SetCommitHook(nil)
		if n.transport != nil {
			n.transport.Close()
		}
	})
	return nil
}

func (n *Notifier) loop() {
	defer close(n.done)
	t := time.NewTicker(n.opts.Poll)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		go func() { // Close must not wait for a slow peer
			select {
			case <-n.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		if err := n.RunOnce(ctx); err != nil {
			n.opts.OnError(err)
		}
		cancel()
	}
}

func (n *Notifier) link(groupID int64) string {
	if n.opts.PublicURL == "" {
		return ""
	}
	return n.opts.PublicURL + "/groups/" + strconv.FormatInt(groupID, 10)
}

func (n *Notifier) projectName(ctx context.Context, id int64) string {
	n.projMu.Lock()
	defer n.projMu.Unlock()
	if name, ok := n.projs[id]; ok {
		return name
	}
	p, err := n.db.Project(ctx, id)
	if err != nil {
		return ""
	}
	n.projs[id] = p.Name
	return p.Name
}

// rulesFor returns the rules of the file that apply to the project, then
// the project's rules kept in the store (one whose name a file's rule
// has is left out: the name keys the rule's state).
func (n *Notifier) rulesFor(ctx context.Context, projectID int64) []*Rule {
	var out []*Rule
	for i := range n.rules {
		if r := &n.rules[i]; n.applies(ctx, r, projectID) {
			out = append(out, r)
		}
	}
	file := len(out)
	st := n.storedFor(projectID)
next:
	for i := range st {
		for _, f := range out[:file] {
			if f.Name == st[i].Name {
				continue next
			}
		}
		out = append(out, &st[i])
	}
	return out
}

// ---- evaluation, inside the commit

func (n *Notifier) hook(ctx context.Context, tx *sqlstore.Tx, outs []store.Outcome) error {
	now := n.opts.Now()
	nowMS := now.UnixMilli()
	for _, o := range outs {
		rules := n.rulesFor(ctx, o.ProjectID)
		if len(rules) == 0 {
			continue
		}
		var mutedUntil, muteCount, acked int64
		err := tx.QueryRow(ctx, `SELECT muted_until_ms, mute_until_count, acknowledged FROM group_alerting WHERE group_id = ?`, o.GroupID).Scan(&mutedUntil, &muteCount, &acked)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("mute state: %w", err)
		}
		if mutedUntil > nowMS || (muteCount > 0 && o.Total < muteCount) {
			continue
		}
		if acked != 0 && o.Regression {
			// A regression ends the acknowledgement: the fix did not hold.
			if _, err := tx.Exec(ctx, `UPDATE group_alerting SET acknowledged = 0 WHERE group_id = ?`, o.GroupID); err != nil {
				return fmt.Errorf("acknowledge: %w", err)
			}
			acked = 0
		}
		for _, r := range rules {
			if !r.Filter.match(o.Level, o.Environment, o.Release, o.Tags) {
				continue
			}
			reason, transition, err := n.fires(ctx, tx, r, &o, now, acked != 0)
			if err != nil {
				return err
			}
			if reason == "" {
				continue
			}
			var key string
			if transition {
				if _, err := tx.Exec(ctx, `INSERT INTO alert_rule_state (rule, group_id, last_fired_ms) VALUES (?, ?, ?)
ON CONFLICT (rule, group_id) DO UPDATE SET last_fired_ms = excluded.last_fired_ms`, r.Name, o.GroupID, nowMS); err != nil {
					return fmt.Errorf("rule state: %w", err)
				}
				key = fmt.Sprintf("%s|%d|%s|%d", r.Name, o.GroupID, reason, o.Total)
			} else {
				// Atomic: of two processes, one moves last_fired_ms.
				rows, err := tx.Query(ctx, `INSERT INTO alert_rule_state (rule, group_id, last_fired_ms) VALUES (?, ?, ?)
ON CONFLICT (rule, group_id) DO UPDATE SET last_fired_ms = excluded.last_fired_ms
WHERE alert_rule_state.last_fired_ms <= ? RETURNING last_fired_ms`, r.Name, o.GroupID, nowMS, nowMS-time.Duration(r.Interval).Milliseconds())
				if err != nil {
					return fmt.Errorf("rule state: %w", err)
				}
				fired := rows.Next()
				rows.Close()
				if err := rows.Err(); err != nil {
					return fmt.Errorf("rule state: %w", err)
				}
				if !fired {
					continue
				}
				key = fmt.Sprintf("%s|%d|%s|t%d", r.Name, o.GroupID, reason, nowMS)
			}
			for i, a := range r.Actions {
				if err := n.enqueue(ctx, tx, r, i, a, &o, reason, key, nowMS); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// fires returns why r fires for o ("" if it does not), and whether that
// is a transition (new, regression), which the interval does not hold.
func (n *Notifier) fires(ctx context.Context, tx *sqlstore.Tx, r *Rule, o *store.Outcome, now time.Time, acked bool) (string, bool, error) {
	for _, t := range r.Triggers {
		switch t.Type {
		case TriggerNew:
			if o.New {
				return TriggerNew, true, nil
			}
		case TriggerRegression:
			if o.Regression {
				return TriggerRegression, true, nil
			}
		}
	}
	if acked {
		return "", false, nil
	}
	for _, t := range r.Triggers {
		switch t.Type {
		case TriggerEvery:
			return TriggerEvery, false, nil
		case TriggerFrequency:
			// From the per-minute counts (kept 24 h), else the hourly
			// ones: never a scan of events. Buckets are epoch seconds.
			w := time.Duration(t.Window)
			table, size := "group_minutes", int64(60)
			if w > 24*time.Hour {
				table, size = "group_hours", 3600
			}
			from := now.Add(-w).Unix()
			from -= from % size
			var c int64
			if err := tx.QueryRow(ctx, `SELECT COALESCE(SUM(n), 0) FROM `+table+` WHERE group_id = ? AND bucket >= ?`, o.GroupID, from).Scan(&c); err != nil {
				return "", false, fmt.Errorf("frequency: %w", err)
			}
			if c > t.Count {
				return TriggerFrequency, false, nil
			}
		case TriggerUsers:
			var c int64
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM group_seen WHERE group_id = ? AND kind = 'user' AND last_seen >= ?`,
				o.GroupID, now.Add(-time.Duration(t.Window)).UnixMilli()).Scan(&c); err != nil {
				return "", false, fmt.Errorf("users: %w", err)
			}
			if c > t.Count {
				return TriggerUsers, false, nil
			}
		}
	}
	return "", false, nil
}

func (n *Notifier) enqueue(ctx context.Context, tx *sqlstore.Tx, r *Rule, i int, a Action, o *store.Outcome, reason, key string, nowMS int64) error {
	var dest string
	due := nowMS
	switch a.Type {
	case ActionTicket:
		_, err := tx.Exec(ctx, `INSERT INTO group_tickets (group_id, ticketer, state, created_ms) VALUES (?, ?, 'pending', ?)
ON CONFLICT (group_id) DO NOTHING`, o.GroupID, a.Ticketer, nowMS)
		if err != nil {
			return fmt.Errorf("ticket: %w", err)
		}
		return nil
	case ActionMail:
		to := a.To
		if len(to) == 0 {
			to = n.opts.Mail.To
		}
		dest = "mail:" + strings.Join(to, ",")
	default:
		dest = "webhook:" + r.Name + ":" + strconv.Itoa(i)
	}
	_, err := tx.Exec(ctx, `INSERT INTO alert_outbox (dedup, project_id, group_id, rule, action_index, dest, reason, event_id, total, created_ms, due_ms)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedup) DO NOTHING`,
		key+"|"+strconv.Itoa(i), o.ProjectID, o.GroupID, r.Name, i, dest, reason, o.LastEventID, o.Total, nowMS, due)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}

// ---- sending

// Notification is one row of the outbox.
type Notification struct {
	ID        int64     `json:"id"`
	GroupID   int64     `json:"group_id"`
	Rule      string    `json:"rule"`
	Dest      string    `json:"dest"`
	Reason    string    `json:"reason"`
	EventID   int64     `json:"event_id"`
	Total     int64     `json:"total"`
	Created   time.Time `json:"created"`
	State     string    `json:"state"` // pending, sent, failed
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error,omitempty"`
	Sent      time.Time `json:"sent"`

	actionIndex int
}

const notifCols = `id, group_id, rule, action_index, dest, reason, event_id, total, created_ms, state, attempts, last_error, sent_ms`

func scanNotification(sc interface{ Scan(...any) error }) (*Notification, error) {
	var x Notification
	var created, sent int64
	if err := sc.Scan(&x.ID, &x.GroupID, &x.Rule, &x.actionIndex, &x.Dest, &x.Reason, &x.EventID, &x.Total, &created, &x.State, &x.Attempts, &x.LastError, &sent); err != nil {
		return nil, err
	}
	x.Created = time.UnixMilli(created).UTC()
	if sent > 0 {
		x.Sent = time.UnixMilli(sent).UTC()
	}
	return &x, nil
}

// query reads notifications; claim, through ExecRows, writes them too.
func (n *Notifier) query(ctx context.Context, q string, args ...any) ([]Notification, error) {
	return scanNotifications(n.t.Query(ctx, q, args...))
}

func scanNotifications(rows *sql.Rows, err error) ([]Notification, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Notification
	for rows.Next() {
		x, err := scanNotification(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *x)
	}
	return out, rows.Err()
}

// History lists a group's notifications, newest first.
func (n *Notifier) History(ctx context.Context, groupID int64, limit int) ([]Notification, error) {
	out, err := n.query(ctx, `SELECT `+notifCols+` FROM alert_outbox WHERE group_id = ? ORDER BY id DESC LIMIT ?`, groupID, limit)
	return out, wrap("history", err)
}

// Failures lists the notifications that failed at least once and are
// not sent, newest first.
func (n *Notifier) Failures(ctx context.Context, limit int) ([]Notification, error) {
	out, err := n.query(ctx, `SELECT `+notifCols+` FROM alert_outbox WHERE state <> 'sent' AND last_error <> '' ORDER BY id DESC LIMIT ?`, limit)
	return out, wrap("failures", err)
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("errlog: alert: %s: %w", what, err)
}

// RunOnce sends what is due in the outbox, and raises the pending
// tickets. Several processes may run it at once: rows are claimed
// (FOR UPDATE SKIP LOCKED on PostgreSQL) with a lease.
func (n *Notifier) RunOnce(ctx context.Context) error {
	n.runMu.Lock()
	defer n.runMu.Unlock()
	if errors.Is(n.t.Check(), store.ErrLost) {
		return nil // nothing can be claimed or marked sent; the store said why
	}
	var errs []error
	if err := n.ReloadRules(ctx); err != nil {
		errs = append(errs, err)
	}
	now := n.opts.Now()
	nowMS := now.UnixMilli()
	if now.Sub(n.pruned) > time.Hour {
		// Sent notifications are history for 90 days (any process may
		// do it; the deletes are idempotent). Before the sending, so
		// that nothing is sent for a group deleted meanwhile.
		n.pruned = now
		if _, err := n.t.Exec(ctx, `DELETE FROM alert_outbox WHERE state = 'sent' AND sent_ms < ?`, now.Add(-KeepSent).UnixMilli()); err != nil {
			errs = append(errs, wrap("prune", err))
		}
		if err := sweepDeleted(ctx, n.t); err != nil {
			errs = append(errs, err)
		}
	}
	rows, err := n.t.Query(ctx, `SELECT DISTINCT dest FROM alert_outbox WHERE state = 'pending' AND due_ms <= ? AND claimed_until_ms <= ?`, nowMS, nowMS)
	if err != nil {
		return wrap("outbox", err)
	}
	var dests []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			rows.Close()
			return wrap("outbox", err)
		}
		dests = append(dests, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return wrap("outbox", err)
	}
	for _, d := range dests {
		// The time now, not the run's start: a claim's lease, and the
		// time its sending may take, count from the claim.
		if err := n.sendDest(ctx, d, n.opts.Now()); err != nil {
			errs = append(errs, err)
		}
	}
	if err := n.raiseTickets(ctx, now, 0); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (n *Notifier) skipLocked() string {
	if n.t.RowLocks() {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// claim takes the pending rows of dest: for mail every one (a digest
// gathers them), for a webhook the due ones.
func (n *Notifier) claim(ctx context.Context, dest string, nowMS int64, isMail bool) ([]Notification, error) {
	due := ` AND due_ms <= ?`
	args := []any{nowMS + n.opts.Lease.Milliseconds(), dest, nowMS, nowMS}
	if isMail {
		due = ``
		args = args[:3]
	}
	return scanNotifications(n.t.ExecRows(ctx, `UPDATE alert_outbox SET claimed_until_ms = ?, attempts = attempts + 1
WHERE id IN (SELECT id FROM alert_outbox WHERE state = 'pending' AND dest = ? AND claimed_until_ms <= ?`+due+` ORDER BY id LIMIT 500`+n.skipLocked()+`)
RETURNING `+notifCols, args...))
}

func (n *Notifier) sendDest(ctx context.Context, dest string, now time.Time) error {
	nowMS := now.UnixMilli()
	isMail := strings.HasPrefix(dest, "mail:")
	if isMail && n.opts.MaxMailsPerHour > 0 {
		var sent int64
		err := n.t.QueryRow(ctx, `SELECT count(DISTINCT batch) FROM alert_outbox WHERE sent_ms > ? AND dest LIKE 'mail:%'`, nowMS-time.Hour.Milliseconds()).Scan(&sent)
		if err != nil {
			return wrap("outbox", err)
		}
		if sent >= int64(n.opts.MaxMailsPerHour) {
			return nil // held back: they wait, and go out together when the hour allows
		}
	}
	var last time.Time // the last mail sent to dest
	if isMail && n.opts.MailDelay > 0 {
		var err error
		if last, err = n.lastMail(ctx, dest); err != nil {
			return wrap("outbox", err)
		}
		if !last.IsZero() && now.Before(last.Add(n.opts.MailDelay)) {
			return nil // within the window of the last mail: gathered into the next digest
		}
	}
	claimed, err := n.claim(ctx, dest, nowMS, isMail)
	if err != nil {
		return wrap("claim", err)
	}
	if len(claimed) == 0 {
		return nil
	}
	if isMail {
		if n.opts.MailDelay > 0 && len(claimed) > 1 && (last.IsZero() || !claimed[0].Created.Before(last.Add(n.opts.MailDelay))) &&
			now.Sub(claimed[0].Created) < n.opts.MailDelay {
			// The first alert since a quiet window goes alone, at once,
			// with the whole error; the others wait for the window to
			// end, and go as one digest. One that waited a window
			// already (held back by the hourly cap) goes in the digest
			// of all that waited with it.
			if err := n.release(ctx, claimed[1:]); err != nil {
				return err
			}
			claimed = claimed[:1]
		}
		if n.transport == nil {
			return n.settle(ctx, claimed, "", mail.Permanent(errors.New("mail is not configured")), now)
		}
		// Done before the claim runs out, when another process may take
		// the rows and mail them again.
		mctx, cancel := context.WithTimeout(ctx, n.opts.Lease*3/4)
		defer cancel()
		batch, err := n.sendMail(mctx, strings.Split(strings.TrimPrefix(dest, "mail:"), ","), claimed, now)
		return n.settle(ctx, claimed, batch, err, now)
	}
	// Webhooks go one by one: stop well before the claim runs out, when
	// another instance may take the rows, and release the rest rather
	// than risk sending them twice.
	leaseEnd := now.Add(n.opts.Lease * 3 / 4)
	var errs []error
	for i, x := range claimed {
		if n.opts.Now().After(leaseEnd) {
			errs = append(errs, n.release(ctx, claimed[i:]))
			break
		}
		err := n.sendWebhook(ctx, &x, now)
		errs = append(errs, n.settle(ctx, []Notification{x}, "webhook-"+strconv.FormatInt(x.ID, 10), err, now))
	}
	return errors.Join(errs...)
}

// release gives back claimed rows that were not tried.
func (n *Notifier) release(ctx context.Context, xs []Notification) error {
	for _, x := range xs {
		if _, err := n.t.Exec(ctx, `UPDATE alert_outbox SET claimed_until_ms = 0, attempts = attempts - 1 WHERE id = ?`, x.ID); err != nil {
			return wrap("release", err)
		}
	}
	return nil
}

// settle marks rows sent, or schedules their retry with backoff.
func (n *Notifier) settle(ctx context.Context, xs []Notification, batch string, sendErr error, now time.Time) error {
	// What happened is written whatever ctx says now (errlogd stopping
	// cancels it): a row sent but not marked so is sent again by the
	// next start.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	nowMS := now.UnixMilli()
	for _, x := range xs {
		var err error
		if sendErr == nil {
			_, err = n.t.Exec(ctx, `UPDATE alert_outbox SET state = 'sent', sent_ms = ?, batch = ?, claimed_until_ms = 0 WHERE id = ?`, nowMS, batch, x.ID)
		} else {
			back := 10 * time.Second << min(x.Attempts-1, 9)
			back = min(back, time.Hour)
			state := "pending"
			if x.Attempts >= n.opts.MaxAttempts || mail.IsPermanent(sendErr) {
				state = "failed" // a 5xx reply: retrying cannot fix it
			}
			_, err = n.t.Exec(ctx, `UPDATE alert_outbox SET state = ?, due_ms = ?, claimed_until_ms = 0, last_error = ? WHERE id = ?`,
				state, nowMS+back.Milliseconds(), lastError(sendErr), x.ID)
		}
		if err != nil {
			return wrap("settle", err)
		}
	}
	if sendErr != nil {
		return wrap("send "+xs[0].Dest, sendErr)
	}
	return nil
}

// truncate cuts s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// lastError is a failure as it is stored for the dashboard: text both
// databases take (store.Text) of at most 500 bytes, cut on a rune
// boundary. A receiver's reply, quoted in the error, may hold any bytes,
// and PostgreSQL refuses NUL and text that is not UTF-8 (SQLSTATE
// 22021): the failure went unrecorded, and the row was retried forever.
func lastError(err error) string {
	return truncate(store.Text(err.Error()), 500)
}

// loadEvent returns the event a notification names, or one made of the
// group when retention removed it.
func (n *Notifier) loadEvent(ctx context.Context, g *store.Group, eventID int64) *event.Event {
	if e, err := n.db.Event(ctx, eventID); err == nil {
		if ev, err := decode.Event(e.JSON); err == nil {
			ev.Level = store.NormalLevel(ev.Level) // as stored: the JSON keeps what was sent
			return ev
		}
	}
	return &event.Event{Level: event.Level(g.Level), Logentry: &event.Logentry{Message: g.Title}, Timestamp: g.LastSeen}
}
