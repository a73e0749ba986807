package alert

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/errlog/errlog/errlogd/store"
)

// Ticket is a group's ticket: one per group, ever.
type Ticket struct {
	GroupID   int64  `json:"group_id"`
	Ticketer  string `json:"ticketer"`
	State     string `json:"state"` // pending, creating, created, failed (after Options.MaxAttempts)
	URL       string `json:"url,omitempty"`
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error,omitempty"`
}

// Ticket returns a group's ticket; nil when it has none.
func (n *Notifier) Ticket(ctx context.Context, groupID int64) (*Ticket, error) {
	var t Ticket
	err := n.t.QueryRow(ctx, `SELECT group_id, ticketer, state, url, attempts, last_error FROM group_tickets WHERE group_id = ?`, groupID).
		Scan(&t.GroupID, &t.Ticketer, &t.State, &t.URL, &t.Attempts, &t.LastError)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &t, wrap("ticket", err)
}

// Ticketers lists the configured ticketers' names.
func (n *Notifier) Ticketers() []string {
	var out []string
	for name := range n.cfg.Ticketers {
		out = append(out, name)
	}
	return out
}

// CreateTicket raises the group's ticket now with the named ticketer
// ("" : the only one configured), unless it has one: a group never gets
// two. It returns the ticket as it stands.
func (n *Notifier) CreateTicket(ctx context.Context, groupID int64, ticketer string) (*Ticket, error) {
	if ticketer == "" && len(n.cfg.Ticketers) == 1 {
		for name := range n.cfg.Ticketers {
			ticketer = name
		}
	}
	if _, ok := n.cfg.Ticketers[ticketer]; !ok {
		return nil, fmt.Errorf("errlog: alert: ticket: no ticketer %q", ticketer)
	}
	if _, err := n.db.Group(ctx, groupID); err != nil {
		return nil, wrap("ticket", err)
	}
	now := n.opts.Now()
	// A ticket that failed MaxAttempts times is tried again, from the
	// start.
	if _, err := n.t.Exec(ctx, `INSERT INTO group_tickets (group_id, ticketer, state, created_ms) VALUES (?, ?, 'pending', ?)
ON CONFLICT (group_id) DO UPDATE SET state = 'pending', attempts = 0, claimed_until_ms = 0 WHERE group_tickets.state = 'failed'`, groupID, ticketer, now.UnixMilli()); err != nil {
		return nil, wrap("ticket", err)
	}
	err := n.raiseTickets(ctx, now, groupID)
	t, terr := n.Ticket(ctx, groupID)
	if terr != nil {
		return nil, terr
	}
	return t, err
}

// raiseTickets claims pending tickets (only groupID's when not 0) and
// creates them. A claim moves the row to "creating" in one statement, so
// that of several processes exactly one creates it; a failure answered
// by the provider puts it back to pending with backoff, or to failed
// after Options.MaxAttempts; a crash while creating leaves it "creating"
// (never raised twice). The ticket of a group deleted since is dropped.
func (n *Notifier) raiseTickets(ctx context.Context, now time.Time, groupID int64) error {
	nowMS := now.UnixMilli()
	cond, args := ``, []any{nowMS}
	if groupID != 0 {
		cond, args = ` AND group_id = ?`, append(args, groupID)
	}
	rows, err := n.t.ExecRows(ctx, `UPDATE group_tickets SET state = 'creating', attempts = attempts + 1
WHERE group_id IN (SELECT group_id FROM group_tickets WHERE state = 'pending' AND claimed_until_ms <= ?`+cond+` ORDER BY group_id LIMIT 20`+n.skipLocked()+`)
RETURNING group_id, ticketer, attempts`, args...)
	if err != nil {
		return wrap("claim tickets", err)
	}
	type claim struct {
		group    int64
		ticketer string
		attempts int
	}
	var cs []claim
	for rows.Next() {
		var c claim
		if err := rows.Scan(&c.group, &c.ticketer, &c.attempts); err != nil {
			rows.Close()
			return wrap("claim tickets", err)
		}
		cs = append(cs, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return wrap("claim tickets", err)
	}
	var errs []error
	for _, c := range cs {
		url, err := n.createTicket(ctx, c.group, c.ticketer)
		// What happened is written whatever ctx says now (errlogd
		// stopping cancels it): a row left "creating" is never tried
		// again, nor can the dashboard's button raise it.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		var ae *answerError
		switch {
		case err == nil || errors.As(err, &ae):
			last := ""
			if err != nil {
				last = lastError(err)
			}
			_, err = n.t.Exec(wctx, `UPDATE group_tickets SET state = 'created', url = ?, last_error = ? WHERE group_id = ?`, url, last, c.group)
			cancel()
			errs = append(errs, wrap("ticket", err))
			continue
		case errors.Is(err, store.ErrNotFound):
			// Deleted since: no ticket to raise, as no mail to send.
			_, err = n.t.Exec(wctx, `DELETE FROM group_tickets WHERE group_id = ?`, c.group)
			cancel()
			errs = append(errs, wrap("ticket", err))
			continue
		}
		back := min(10*time.Second<<min(c.attempts-1, 9), time.Hour)
		state := "pending"
		if c.attempts >= n.opts.MaxAttempts {
			state = "failed" // as a notification: CreateTicket tries again
		}
		if ctx.Err() != nil {
			// Cancelled, not refused: not an attempt, and due at once.
			state, back = "pending", 0
			_, _ = n.t.Exec(wctx, `UPDATE group_tickets SET attempts = attempts - 1 WHERE group_id = ?`, c.group)
		}
		_, uerr := n.t.Exec(wctx, `UPDATE group_tickets SET state = ?, claimed_until_ms = ?, last_error = ? WHERE group_id = ?`,
			state, nowMS+back.Milliseconds(), lastError(err), c.group)
		cancel()
		errs = append(errs, wrap("ticket", err), wrap("ticket", uerr))
	}
	return errors.Join(errs...)
}

func (n *Notifier) createTicket(ctx context.Context, groupID int64, name string) (string, error) {
	tc, ok := n.cfg.Ticketers[name]
	if !ok {
		return "", fmt.Errorf("no ticketer %q", name)
	}
	g, err := n.db.Group(ctx, groupID)
	if err != nil {
		return "", err
	}
	title := plainTitle(g.Title)
	switch tc.Type {
	case "github":
		base := strings.TrimSuffix(tc.URL, "/")
		if base == "" {
			base = "https://api.github.com"
		}
		req := map[string]any{"title": title, "body": githubBody(g, n.link(g.ID))}
		if len(tc.Labels) > 0 {
			req["labels"] = tc.Labels
		}
		b, _ := json.Marshal(req)
		var out struct {
			HTMLURL string `json:"html_url"`
		}
		err := n.post(ctx, base+"/repos/"+tc.Repo+"/issues", b, map[string]string{
			"Accept":               "application/vnd.github+json",
			"Authorization":        "Bearer " + tc.Token,
			"X-GitHub-Api-Version": "2022-11-28",
		}, &out)
		return out.HTMLURL, err
	case "jira":
		site := strings.TrimSuffix(tc.URL, "/")
		it := tc.IssueType
		if it == "" {
			it = "Bug"
		}
		b, _ := json.Marshal(map[string]any{"fields": map[string]any{
			"project":     map[string]string{"key": tc.Project},
			"summary":     title,
			"description": jiraBody(g, n.link(g.ID)),
			"issuetype":   map[string]string{"name": it},
		}})
		auth := "Bearer " + tc.Token
		if tc.User != "" {
			auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(tc.User+":"+tc.Token))
		}
		var out struct {
			Key string `json:"key"`
		}
		err := n.post(ctx, site+"/rest/api/2/issue", b, map[string]string{"Accept": "application/json", "Authorization": auth}, &out)
		if err != nil {
			return "", err
		}
		return site + "/browse/" + out.Key, nil
	default: // webhook
		b, _ := json.Marshal(Payload{Rule: "ticket", Reason: "ticket", ProjectID: g.ProjectID, GroupID: g.ID, Title: g.Title, Culprit: g.Culprit,
			Level: g.Level, Count: g.Count, FirstSeen: g.FirstSeen, LastSeen: g.LastSeen, Link: n.link(g.ID)})
		var out struct {
			URL string `json:"url"`
		}
		err := n.post(ctx, tc.URL, b, map[string]string{"X-Errlog-Signature": signIf(tc.Secret, b)}, &out)
		return out.URL, err
	}
}

// ---- mute and acknowledge

// Mute silences a group until a time (zero: no time limit), or until it
// is seen more more times (0: no count limit); both zero unmutes it.
func (n *Notifier) Mute(ctx context.Context, groupID int64, until time.Time, more int64) error {
	g, err := n.db.Group(ctx, groupID)
	if err != nil {
		return wrap("mute", err)
	}
	var untilMS, count int64
	if !until.IsZero() {
		untilMS = until.UnixMilli()
	}
	if more > 0 {
		count = g.Count + more
	}
	_, err = n.t.Exec(ctx, `INSERT INTO group_alerting (group_id, muted_until_ms, mute_until_count, acknowledged) VALUES (?, ?, ?, 0)
ON CONFLICT (group_id) DO UPDATE SET muted_until_ms = excluded.muted_until_ms, mute_until_count = excluded.mute_until_count`, groupID, untilMS, count)
	return wrap("mute", err)
}

// Acknowledge marks a group as being looked at (or not): its every,
// frequency and users alerts stop; a regression still alerts, and ends
// the acknowledgement.
func (n *Notifier) Acknowledge(ctx context.Context, groupID int64, ack bool) error {
	v := 0
	if ack {
		v = 1
	}
	_, err := n.t.Exec(ctx, `INSERT INTO group_alerting (group_id, muted_until_ms, mute_until_count, acknowledged) VALUES (?, 0, 0, ?)
ON CONFLICT (group_id) DO UPDATE SET acknowledged = excluded.acknowledged`, groupID, v)
	return wrap("acknowledge", err)
}

// GroupState is a group's mute and acknowledgement.
type GroupState struct {
	// MutedUntil is zero when not muted for a time; MutedUntilCount 0
	// when not muted until a count.
	MutedUntil      time.Time `json:"muted_until"`
	MutedUntilCount int64     `json:"muted_until_count"`
	Acknowledged    bool      `json:"acknowledged"`
}

// Muted reports whether alerts of a group of count events are muted at
// now.
func (s *GroupState) Muted(now time.Time, count int64) bool {
	return s.MutedUntil.After(now) || (s.MutedUntilCount > 0 && count < s.MutedUntilCount)
}

// State returns a group's mute and acknowledgement.
func (n *Notifier) State(ctx context.Context, groupID int64) (*GroupState, error) {
	var until, count, ack int64
	err := n.t.QueryRow(ctx, `SELECT muted_until_ms, mute_until_count, acknowledged FROM group_alerting WHERE group_id = ?`, groupID).Scan(&until, &count, &ack)
	if errors.Is(err, sql.ErrNoRows) {
		return &GroupState{}, nil
	}
	if err != nil {
		return nil, wrap("state", err)
	}
	s := &GroupState{MutedUntilCount: count, Acknowledged: ack != 0}
	if until > 0 {
		s.MutedUntil = time.UnixMilli(until).UTC()
	}
	return s, nil
}

// Now is the notifier's clock.
func (n *Notifier) Now() time.Time { return n.opts.Now() }
