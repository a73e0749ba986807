package dashboard

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/errlog/errlog/errlogd/alert"
	"github.com/errlog/errlog/errlogd/store"
)

// rulesPage lists each project's alert rules: the rules file's (read
// only) and the project's own, kept in the store and edited here.
type rulesPage struct {
	Projects []projectRules
	One      bool // one project's page
}

type projectRules struct {
	Project store.Project
	File    []ruleLine
	Stored  []ruleLine
}

// ruleLine is a rule as the list shows it: no secret in it.
type ruleLine struct {
	ID       int64
	Origin   string // "from file" or "default"
	Name     string
	Triggers string
	Filter   string
	Interval string
	Actions  []string
}

func (p *rulesPage) PageTitle() string { return "Alert rules" }

func describe(id int64, r alert.Rule, defaultTo []string) ruleLine {
	l := ruleLine{ID: id, Name: r.Name, Interval: r.Interval.String()}
	var ts []string
	for _, t := range r.Triggers {
		switch t.Type {
		case alert.TriggerNew:
			ts = append(ts, "new issue")
		case alert.TriggerRegression:
			ts = append(ts, "regression")
		case alert.TriggerEvery:
			ts = append(ts, "every event")
		case alert.TriggerFrequency:
			ts = append(ts, "more than "+strconv.FormatInt(t.Count, 10)+" events in "+t.Window.String())
		case alert.TriggerUsers:
			ts = append(ts, "more than "+strconv.FormatInt(t.Count, 10)+" users in "+t.Window.String())
		}
	}
	l.Triggers = strings.Join(ts, ", ")
	var fs []string
	add := func(k string, v []string) {
		if len(v) > 0 {
			fs = append(fs, k+" "+strings.Join(v, " or "))
		}
	}
	add("level", r.Filter.Level)
	add("environment", r.Filter.Environment)
	add("release", r.Filter.Release)
	fs = append(fs, tagList(r.Filter.Tags)...)
	l.Filter = strings.Join(fs, "; ")
	for _, a := range r.Actions {
		switch a.Type {
		case alert.ActionMail:
			to := a.To
			if len(to) == 0 {
				to = defaultTo
			}
			l.Actions = append(l.Actions, "mail "+strings.Join(to, ", "))
		case alert.ActionWebhook:
			s := "webhook " + alert.URLHost(a.URL)
			if a.Format == "slack" {
				s += " (Slack)"
			}
			if a.Secret != "" {
				s += ", signed"
			}
			l.Actions = append(l.Actions, s)
		case alert.ActionTicket:
			l.Actions = append(l.Actions, "ticket with "+a.Ticketer)
		}
	}
	return l
}

func tagList(tags map[string]string) []string {
	var out []string
	for k, v := range tags {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// rulesList is GET /rules (every project) and /projects/{pid}/rules.
func (s *server) rulesList(w http.ResponseWriter, r *http.Request) error {
	n := s.opts.Alerts
	if n == nil {
		return errNotFound
	}
	ctx := r.Context()
	var projects []store.Project
	page := &rulesPage{}
	if r.PathValue("pid") != "" {
		p, err := s.pathProject(ctx, r)
		if err != nil {
			return err
		}
		projects, page.One = []store.Project{*p}, true
	} else {
		var err error
		if projects, err = s.st.Projects(ctx); err != nil {
			return err
		}
	}
	_, defTo := n.MailConfigured()
	for _, p := range projects {
		pr := projectRules{Project: p}
		for _, fr := range n.FileRules(ctx, p.ID) {
			l := describe(0, fr, defTo)
			l.Origin = "from file"
			if n.DefaultInUse() {
				l.Origin = "default"
			}
			pr.File = append(pr.File, l)
		}
		st, err := n.StoredRules(ctx, p.ID)
		if err != nil {
			return err
		}
		for _, x := range st {
			pr.Stored = append(pr.Stored, describe(x.ID, x.Rule, defTo))
		}
		page.Projects = append(page.Projects, pr)
	}
	s.render(w, r, http.StatusOK, "rules", page)
	return nil
}

func (s *server) pathProject(ctx context.Context, r *http.Request) (*store.Project, error) {
	id, err := strconv.ParseInt(r.PathValue("pid"), 10, 64)
	if err != nil || id <= 0 {
		return nil, errNotFound
	}
	ps, err := s.st.Projects(ctx)
	if err != nil {
		return nil, err
	}
	for i := range ps {
		if ps[i].ID == id {
			return &ps[i], nil
		}
	}
	return nil, errNotFound
}

// ruleForm is the rule editor: the form's fields as strings, and the
// error of the last submission with the field it names.
type ruleForm struct {
	Project store.Project
	ID      int64 // 0: a new rule
	Name    string

	New, Regression, Every bool
	Frequency, Users       bool
	FreqCount, FreqWindow  string
	UsersCount, UserWindow string

	Level, Environment, Release, Tags string
	Interval                          string

	Mail, Webhook, Ticket bool
	MailTo                string
	// WebhookURL is the URL typed into the form. A stored one is not
	// shown: a Slack or Mattermost incoming webhook's URL is a secret,
	// it lets whoever reads it post to the channel.
	WebhookURL    string
	URLSet        bool   // a URL is stored: shown as its host and "set"
	URLHost       string // the stored URL's scheme and host (alert.URLHost)
	WebhookFormat string
	SecretSet     bool // a secret is stored: shown as "set", never in clear
	ClearSecret   bool // "remove it" is ticked: kept ticked on a refused form
	SecretTyped   bool // a secret was typed into a refused form: it must be typed again
	Ticketer      string

	Ticketers   []string
	MailOK      bool
	DefaultTo   []string
	ErrField    string // the form field the error is about; "" for the form
	ErrLabel    string
	ErrText     string
	secret      string // the stored secret, kept when the field is left blank
	url         string // the stored URL, kept when the field is left blank
	secretInput string
}

func (f *ruleForm) PageTitle() string {
	if f.ID == 0 {
		return "New alert rule"
	}
	return "Alert rule " + f.Name
}

// Err is the error to show next to a field.
func (f *ruleForm) Err(field string) string {
	if f.ErrField == field {
		return f.ErrText
	}
	return ""
}

var fieldLabels = map[string]string{
	"name": "Name", "triggers": "Triggers", "freq_count": "Events: more than N", "freq_window": "Events: in M",
	"users_count": "Users: more than N", "users_window": "Users: in M", "level": "Level", "environment": "Environment",
	"release": "Release", "tags": "Tags", "interval": "Interval", "actions": "Actions", "mail_to": "Mail to",
	"webhook_url": "Webhook URL", "webhook_format": "Webhook format", "webhook_secret": "Webhook secret", "ticketer": "Ticketer",
}

func (f *ruleForm) fail(field, text string) {
	f.ErrField, f.ErrLabel, f.ErrText = field, fieldLabels[field], text
}

func formOf(r alert.Rule) *ruleForm {
	f := &ruleForm{Name: r.Name, Interval: r.Interval.String(), WebhookFormat: "json"}
	for _, t := range r.Triggers {
		switch t.Type {
		case alert.TriggerNew:
			f.New = true
		case alert.TriggerRegression:
			f.Regression = true
		case alert.TriggerEvery:
			f.Every = true
		case alert.TriggerFrequency:
			f.Frequency, f.FreqCount, f.FreqWindow = true, strconv.FormatInt(t.Count, 10), t.Window.String()
		case alert.TriggerUsers:
			f.Users, f.UsersCount, f.UserWindow = true, strconv.FormatInt(t.Count, 10), t.Window.String()
		}
	}
	f.Level = strings.Join(r.Filter.Level, ", ")
	f.Environment = strings.Join(r.Filter.Environment, ", ")
	f.Release = strings.Join(r.Filter.Release, ", ")
	f.Tags = strings.Join(tagList(r.Filter.Tags), ", ")
	for _, a := range r.Actions {
		switch a.Type {
		case alert.ActionMail:
			f.Mail, f.MailTo = true, strings.Join(a.To, ", ")
		case alert.ActionWebhook:
			f.Webhook, f.secret, f.SecretSet = true, a.Secret, a.Secret != ""
			f.url, f.URLSet, f.URLHost = a.URL, a.URL != "", alert.URLHost(a.URL)
			if a.Format != "" {
				f.WebhookFormat = a.Format
			}
		case alert.ActionTicket:
			f.Ticket, f.Ticketer = true, a.Ticketer
		}
	}
	return f
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// read fills the form from a POST.
func (f *ruleForm) read(r *http.Request) {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	on := func(k string) bool { return r.PostFormValue(k) != "" }
	f.Name = v("name")
	f.New, f.Regression, f.Every, f.Frequency, f.Users = on("t_new"), on("t_regression"), on("t_every"), on("t_frequency"), on("t_users")
	f.FreqCount, f.FreqWindow, f.UsersCount, f.UserWindow = v("freq_count"), v("freq_window"), v("users_count"), v("users_window")
	f.Level, f.Environment, f.Release, f.Tags, f.Interval = v("level"), v("environment"), v("release"), v("tags"), v("interval")
	f.Mail, f.Webhook, f.Ticket = on("a_mail"), on("a_webhook"), on("a_ticket")
	f.MailTo, f.WebhookURL, f.WebhookFormat, f.Ticketer = v("mail_to"), v("webhook_url"), v("webhook_format"), v("ticketer")
	f.secretInput = r.PostFormValue("webhook_secret")
	// SecretSet stays what the store holds: a secret typed into a form
	// that fails is not shown back, and must be typed again.
	// A refused form keeps "remove it" ticked (and the secret shown as
	// set, which it still is), so that saving it again removes it.
	if on("webhook_secret_clear") {
		f.secret, f.ClearSecret = "", true
	}
	if f.secretInput != "" {
		f.secret, f.SecretTyped = f.secretInput, true
	}
}

// rule builds the rule the form describes; on a malformed field it
// records the error and returns false.
func (f *ruleForm) rule() (alert.Rule, []string, bool) {
	r := alert.Rule{Name: f.Name}
	var triggerFields []string // form field of each trigger, for errors
	addT := func(on bool, typ string, field string) {
		if on {
			r.Triggers = append(r.Triggers, alert.Trigger{Type: typ})
			triggerFields = append(triggerFields, field)
		}
	}
	addT(f.New, alert.TriggerNew, "triggers")
	addT(f.Regression, alert.TriggerRegression, "triggers")
	addT(f.Every, alert.TriggerEvery, "triggers")
	count := func(s, field string) (int64, bool) {
		c, err := strconv.ParseInt(s, 10, 64)
		if err != nil || c < 0 {
			f.fail(field, "give a whole number, 0 or more")
			return 0, false
		}
		return c, true
	}
	window := func(s, field string) (alert.Duration, bool) {
		d, err := alert.ParseDuration(s)
		if err != nil {
			f.fail(field, err.Error())
			return 0, false
		}
		return d, true
	}
	if f.Frequency {
		c, ok := count(f.FreqCount, "freq_count")
		if !ok {
			return r, nil, false
		}
		w, ok := window(f.FreqWindow, "freq_window")
		if !ok {
			return r, nil, false
		}
		r.Triggers = append(r.Triggers, alert.Trigger{Type: alert.TriggerFrequency, Count: c, Window: w})
		triggerFields = append(triggerFields, "freq_window")
	}
	if f.Users {
		c, ok := count(f.UsersCount, "users_count")
		if !ok {
			return r, nil, false
		}
		w, ok := window(f.UserWindow, "users_window")
		if !ok {
			return r, nil, false
		}
		r.Triggers = append(r.Triggers, alert.Trigger{Type: alert.TriggerUsers, Count: c, Window: w})
		triggerFields = append(triggerFields, "users_window")
	}
	r.Filter.Level, r.Filter.Environment, r.Filter.Release = splitList(f.Level), splitList(f.Environment), splitList(f.Release)
	for _, kv := range splitList(f.Tags) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			f.fail("tags", "write tags as key=value, separated by commas")
			return r, nil, false
		}
		if r.Filter.Tags == nil {
			r.Filter.Tags = map[string]string{}
		}
		r.Filter.Tags[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	iv, ok := window(f.Interval, "interval")
	if !ok {
		return r, nil, false
	}
	r.Interval = iv
	var actionFields []string
	if f.Mail {
		r.Actions = append(r.Actions, alert.Action{Type: alert.ActionMail, To: splitList(f.MailTo)})
		actionFields = append(actionFields, "mail_to")
	}
	if f.Webhook {
		format := f.WebhookFormat
		if format == "json" {
			format = ""
		}
		u := f.WebhookURL
		if u == "" {
			u = f.url
		}
		r.Actions = append(r.Actions, alert.Action{Type: alert.ActionWebhook, URL: u, Secret: f.secret, Format: format})
		actionFields = append(actionFields, "webhook_url")
	}
	if f.Ticket {
		r.Actions = append(r.Actions, alert.Action{Type: alert.ActionTicket, Ticketer: f.Ticketer})
		actionFields = append(actionFields, "ticketer")
	}
	return r, append(triggerFields, actionFields...), true
}

var (
	reTriggerIdx = regexp.MustCompile(`triggers\[(\d+)\]\.(\w+)`)
	reActionIdx  = regexp.MustCompile(`actions\[(\d+)\]\.(\w+)`)
	rePrefix     = regexp.MustCompile(`^errlog: alert: rules: (rule "(?:[^"\\]|\\.)*": )?`)
)

// explain maps the alert package's validation error to the form's field.
func (f *ruleForm) explain(err error, r alert.Rule, fields []string) {
	msg := rePrefix.ReplaceAllString(err.Error(), "")
	nt := len(r.Triggers)
	field := ""
	switch {
	case errors.Is(err, alert.ErrRuleName), strings.HasPrefix(msg, "rules[0].name"):
		field = "name"
	case strings.HasPrefix(msg, "triggers:"):
		field = "triggers"
	case strings.HasPrefix(msg, "interval"):
		field = "interval"
	case strings.HasPrefix(msg, "actions:"):
		field = "actions"
	}
	if m := reTriggerIdx.FindStringSubmatch(msg); m != nil && field == "" {
		i, _ := strconv.Atoi(m[1])
		if i < nt {
			field = fields[i]
			if m[2] == "count" {
				field = strings.Replace(field, "_window", "_count", 1)
			}
		}
	}
	if m := reActionIdx.FindStringSubmatch(msg); m != nil && field == "" {
		i, _ := strconv.Atoi(m[1])
		if nt+i < len(fields) {
			field = fields[nt+i]
			if m[2] == "format" {
				field = "webhook_format"
			}
		}
	}
	if field == "" {
		field = "name"
	}
	f.fail(field, msg)
}

func (s *server) newForm(r *http.Request) (*ruleForm, error) {
	n := s.opts.Alerts
	if n == nil {
		return nil, errNotFound
	}
	p, err := s.pathProject(r.Context(), r)
	if err != nil {
		return nil, err
	}
	f := &ruleForm{New: true, Regression: true, Mail: true, WebhookFormat: "json", Interval: "30m"}
	if id := r.PathValue("rid"); id != "" {
		rid, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return nil, errNotFound
		}
		x, err := n.StoredRule(r.Context(), rid)
		if errors.Is(err, sql.ErrNoRows) || err == nil && x.ProjectID != p.ID {
			return nil, errNotFound
		}
		if err != nil {
			return nil, err
		}
		f = formOf(x.Rule)
		f.ID = x.ID
	}
	f.Project = *p
	f.Ticketers = n.Ticketers()
	sort.Strings(f.Ticketers)
	f.MailOK, f.DefaultTo = n.MailConfigured()
	return f, nil
}

// ruleEdit is GET /projects/{pid}/rules/new and /projects/{pid}/rules/{rid}.
func (s *server) ruleEdit(w http.ResponseWriter, r *http.Request) error {
	f, err := s.newForm(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "rule", f)
	return nil
}

// ruleSave is POST /projects/{pid}/rules (create) and
// /projects/{pid}/rules/{rid} (edit): the form again with the error and
// its field named (422), or back to the project's rules.
func (s *server) ruleSave(w http.ResponseWriter, r *http.Request) error {
	f, err := s.newForm(r)
	if err != nil {
		return err
	}
	f.read(r)
	rule, fields, ok := f.rule()
	if ok {
		_, err = s.opts.Alerts.SaveRule(r.Context(), f.Project.ID, f.ID, rule)
		if errors.Is(err, sql.ErrNoRows) {
			return errNotFound
		}
		if err != nil && !strings.HasPrefix(err.Error(), "errlog: alert: rules:") {
			return err
		}
		if err != nil {
			f.explain(err, rule, fields)
			ok = false
		}
	}
	if !ok {
		s.render(w, r, http.StatusUnprocessableEntity, "rule", f)
		return nil
	}
	http.Redirect(w, r, s.prefix+"/projects/"+strconv.FormatInt(f.Project.ID, 10)+"/rules", http.StatusSeeOther)
	return nil
}

// ruleDelete is POST /projects/{pid}/rules/{rid}/delete.
func (s *server) ruleDelete(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Alerts == nil {
		return errNotFound
	}
	p, err := s.pathProject(r.Context(), r)
	if err != nil {
		return err
	}
	rid, err := strconv.ParseInt(r.PathValue("rid"), 10, 64)
	if err != nil {
		return errNotFound
	}
	if err := s.opts.Alerts.DeleteRule(r.Context(), p.ID, rid); errors.Is(err, sql.ErrNoRows) {
		return errNotFound
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, s.prefix+"/projects/"+strconv.FormatInt(p.ID, 10)+"/rules", http.StatusSeeOther)
	return nil
}
