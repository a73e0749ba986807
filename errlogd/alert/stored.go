package alert

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/errlog/errlog/errlogd/store/sqlstore"
	"go.yaml.in/yaml/v3"
)

// StoredRule is a rule kept in the store, per project: the rules edited
// on the dashboard. Its JSON is the JSON of a rules file's rule.
type StoredRule struct {
	ID        int64
	ProjectID int64
	Rule      Rule
	Updated   time.Time
}

// storedRules is the notifier's copy of the alert_rules table, reloaded
// when alert_rules_version moves.
type storedRules struct {
	mu      sync.RWMutex
	version int64 // -1: never loaded
	byProj  map[int64][]Rule
}

// ErrRuleName is returned by SaveRule when the name is taken in the
// project, by a rule of the file or of the store.
var ErrRuleName = errors.New("errlog: alert: rules: name: a rule of this project has this name")

// FileRules returns the rules of the rules file (or the default rule)
// that apply to a project: shown on the dashboard, read-only.
func (n *Notifier) FileRules(ctx context.Context, projectID int64) []Rule {
	var out []Rule
	for i := range n.rules {
		if n.applies(ctx, &n.rules[i], projectID) {
			out = append(out, n.rules[i])
		}
	}
	return out
}

// DefaultInUse reports whether the file's rules are DefaultRule alone,
// the rule when none is configured.
func (n *Notifier) DefaultInUse() bool { return len(n.cfg.Rules) == 0 && len(n.rules) == 1 }

func (n *Notifier) applies(ctx context.Context, r *Rule, projectID int64) bool {
	return r.Project == "" || r.Project == strconv.FormatInt(projectID, 10) || r.Project == n.projectName(ctx, projectID)
}

// Ticketer reports whether a ticketer of that name is configured.
func (n *Notifier) Ticketer(name string) bool {
	_, ok := n.cfg.Ticketers[name]
	return ok
}

// MailConfigured reports whether mail actions can be sent (server,
// sender and default recipients set), and the default recipients.
func (n *Notifier) MailConfigured() (bool, []string) {
	m := n.opts.Mail
	return m.Addr != "" && m.From != "", m.To
}

// ValidateRule checks a project's rule as a rules file's rule is checked
// (the error names the field), fills its defaults, and checks that its
// mail actions can be sent.
func (n *Notifier) ValidateRule(r *Rule) error {
	if len(r.Name) > 200 {
		return fmt.Errorf("errlog: alert: rules: rules[0].name is longer than 200 bytes")
	}
	c := Config{Rules: []Rule{*r}, Ticketers: n.cfg.Ticketers}
	if err := c.Validate(); err != nil {
		return err
	}
	*r = c.Rules[0]
	for j, a := range r.Actions {
		if a.Type != ActionMail {
			continue
		}
		if ok, to := n.MailConfigured(); !ok || len(to) == 0 && len(a.To) == 0 {
			return fmt.Errorf("errlog: alert: rules: rule %q: actions[%d].to: no mail server, sender or default recipients are configured (ERRLOGD_SMTP_ADDR, ERRLOGD_MAIL_TO)", r.Name, j)
		}
		for _, to := range a.To {
			if !strings.Contains(to, "@") || strings.ContainsAny(to, " ,<>\r\n") {
				return fmt.Errorf("errlog: alert: rules: rule %q: actions[%d].to: %q is not a mail address", r.Name, j, to)
			}
		}
	}
	return nil
}

// StoredRules lists a project's rules kept in the store, by name.
func (n *Notifier) StoredRules(ctx context.Context, projectID int64) ([]StoredRule, error) {
	return n.selectRules(ctx, `WHERE project_id = ? ORDER BY name`, projectID)
}

// StoredRule returns one rule kept in the store.
func (n *Notifier) StoredRule(ctx context.Context, id int64) (*StoredRule, error) {
	rs, err := n.selectRules(ctx, `WHERE id = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("errlog: alert: rules: no rule %d: %w", id, sql.ErrNoRows)
	}
	return &rs[0], nil
}

func (n *Notifier) selectRules(ctx context.Context, where string, args ...any) ([]StoredRule, error) {
	rows, err := n.t.Query(ctx, `SELECT id, project_id, rule, updated_ms FROM alert_rules `+where, args...)
	if err != nil {
		return nil, wrap("rules", err)
	}
	defer rows.Close()
	var out []StoredRule
	for rows.Next() {
		var x StoredRule
		var js string
		var ms int64
		if err := rows.Scan(&x.ID, &x.ProjectID, &js, &ms); err != nil {
			return nil, wrap("rules", err)
		}
		r, err := decodeRule(js)
		if err != nil {
			return nil, fmt.Errorf("errlog: alert: rules: rule %d: %w", x.ID, err)
		}
		x.Rule, x.Updated = *r, time.UnixMilli(ms).UTC()
		out = append(out, x)
	}
	return out, wrap("rules", rows.Err())
}

// decodeRule reads a rule's JSON as a rules file is read: unknown fields
// are errors.
func decodeRule(js string) (*Rule, error) {
	var r Rule
	dec := yaml.NewDecoder(bytes.NewReader([]byte(js)))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil {
		return nil, err
	}
	return &r, nil
}

// SaveRule validates r and stores it as a rule of the project: a new
// one when id is 0, else it replaces rule id. Every errlogd process on
// the store uses it within Options.Poll; this one at once.
func (n *Notifier) SaveRule(ctx context.Context, projectID, id int64, r Rule) (int64, error) {
	r.Project = strconv.FormatInt(projectID, 10)
	if err := n.ValidateRule(&r); err != nil {
		return 0, err
	}
	for _, f := range n.FileRules(ctx, projectID) {
		if f.Name == r.Name {
			return 0, fmt.Errorf("%w: %q is a rule of the rules file", ErrRuleName, r.Name)
		}
	}
	js, err := json.Marshal(r)
	if err != nil {
		return 0, wrap("rules", err)
	}
	err = n.t.Tx(ctx, func(tx *sqlstore.Tx) error {
		var taken int64
		err := tx.QueryRow(ctx, `SELECT count(*) FROM alert_rules WHERE project_id = ? AND name = ? AND id <> ?`, projectID, r.Name, id).Scan(&taken)
		if err != nil {
			return wrap("rules", err)
		}
		if taken > 0 {
			return fmt.Errorf("%w: %q", ErrRuleName, r.Name)
		}
		nowMS := n.opts.Now().UnixMilli()
		if id == 0 {
			err = tx.QueryRow(ctx, `INSERT INTO alert_rules (project_id, name, rule, updated_ms) VALUES (?, ?, ?, ?) RETURNING id`,
				projectID, r.Name, string(js), nowMS).Scan(&id)
		} else {
			var res sql.Result
			res, err = tx.Exec(ctx, `UPDATE alert_rules SET name = ?, rule = ?, updated_ms = ? WHERE id = ? AND project_id = ?`,
				r.Name, string(js), nowMS, id, projectID)
			if err == nil {
				if c, _ := res.RowsAffected(); c == 0 {
					return fmt.Errorf("errlog: alert: rules: no rule %d in project %d: %w", id, projectID, sql.ErrNoRows)
				}
			}
		}
		if err != nil {
			return wrap("rules", err)
		}
		return bumpRules(ctx, tx)
	})
	if err != nil {
		return 0, err
	}
	return id, n.ReloadRules(ctx)
}

// DeleteRule removes a project's rule kept in the store.
func (n *Notifier) DeleteRule(ctx context.Context, projectID, id int64) error {
	err := n.t.Tx(ctx, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM alert_rules WHERE id = ? AND project_id = ?`, id, projectID)
		if err != nil {
			return wrap("rules", err)
		}
		if c, _ := res.RowsAffected(); c == 0 {
			return fmt.Errorf("errlog: alert: rules: no rule %d in project %d: %w", id, projectID, sql.ErrNoRows)
		}
		return bumpRules(ctx, tx)
	})
	if err != nil {
		return err
	}
	return n.ReloadRules(ctx)
}

func bumpRules(ctx context.Context, tx *sqlstore.Tx) error {
	_, err := tx.Exec(ctx, `UPDATE alert_rules_version SET version = version + 1 WHERE id = 1`)
	return wrap("rules", err)
}

// ReloadRules reads the rules kept in the store when their version has
// moved since the last read (one small query otherwise). RunOnce calls
// it, so each process sees another's change within Options.Poll.
func (n *Notifier) ReloadRules(ctx context.Context) error {
	var v int64
	if err := n.t.QueryRow(ctx, `SELECT version FROM alert_rules_version WHERE id = 1`).Scan(&v); err != nil {
		return wrap("rules version", err)
	}
	n.stored.mu.RLock()
	same := v == n.stored.version
	n.stored.mu.RUnlock()
	if same {
		return nil
	}
	all, err := n.selectRules(ctx, `ORDER BY project_id, name`)
	if err != nil {
		return err
	}
	by := map[int64][]Rule{}
	var errs []error
	for _, x := range all {
		r := x.Rule
		if err := n.ValidateRule(&r); err != nil {
			// The ticketers of the file may have changed since: the rule
			// is left out, and said.
			errs = append(errs, fmt.Errorf("%w (rule %d of project %d, left out)", err, x.ID, x.ProjectID))
			continue
		}
		by[x.ProjectID] = append(by[x.ProjectID], r)
	}
	n.stored.mu.Lock()
	n.stored.version, n.stored.byProj = v, by
	n.stored.mu.Unlock()
	return errors.Join(errs...)
}

// storedFor returns the project's rules kept in the store, as last
// loaded; the slice is never modified after it is published.
func (n *Notifier) storedFor(projectID int64) []Rule {
	n.stored.mu.RLock()
	defer n.stored.mu.RUnlock()
	return n.stored.byProj[projectID]
}
