package alert

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	netmail "net/mail"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The triggers of a rule.
const (
	TriggerNew        = "new"        // the group's first event
	TriggerRegression = "regression" // a resolved group seen again
	TriggerEvery      = "every"      // every occurrence, throttled by the interval
	TriggerFrequency  = "frequency"  // more than Count events in Window
	TriggerUsers      = "users"      // more than Count users affected in Window
)

// The actions of a rule.
const (
	ActionMail    = "mail"
	ActionWebhook = "webhook"
	ActionTicket  = "ticket"
)

// Limits of intervals and windows.
const (
	DefaultInterval = 30 * time.Minute
	MinInterval     = 5 * time.Minute
	MaxInterval     = 30 * 24 * time.Hour
	MinWindow       = time.Minute
	MaxWindow       = 30 * 24 * time.Hour
)

// Duration is a time.Duration written "30m", "2h", "7d" in a rules file.
type Duration time.Duration

// UnmarshalYAML reads "90s", "30m", "2h" or "7d".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = v
	return nil
}

// ParseDuration reads "90s", "30m", "2h" or "7d".
func ParseDuration(s string) (Duration, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, nil
	}
	mult := time.Duration(1)
	if strings.HasSuffix(t, "d") {
		t, mult = strings.TrimSuffix(t, "d")+"h", 24
	}
	v, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (30m, 2h, 7d)", s)
	}
	return Duration(v * mult), nil
}

// String is the duration as a rules file writes it: "7d", "2h", "30m",
// "90s"; "" for zero.
func (d Duration) String() string {
	v := time.Duration(d)
	switch {
	case v == 0:
		return ""
	case v%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", v/(24*time.Hour))
	case v%time.Hour == 0:
		return fmt.Sprintf("%dh", v/time.Hour)
	case v%time.Minute == 0:
		return fmt.Sprintf("%dm", v/time.Minute)
	}
	return v.String()
}

// MarshalJSON writes the duration as a rules file does ("30m"), so that
// a rule's JSON reads back as a rules file.
func (d Duration) MarshalJSON() ([]byte, error) {
	if d == 0 {
		return []byte(`""`), nil
	}
	return []byte(`"` + d.String() + `"`), nil
}

// Config is a rules file: the rules, and the ticketers actions name.
type Config struct {
	Rules     []Rule                    `yaml:"rules" json:"rules"`
	Ticketers map[string]TicketerConfig `yaml:"ticketers" json:"ticketers"`
}

// Rule says when to alert about a group, and how.
type Rule struct {
	// Name identifies the rule in the outbox and the history (required,
	// unique).
	Name string `yaml:"name" json:"name"`
	// Project is a project's name or id; "" applies to every project.
	Project  string    `yaml:"project" json:"project"`
	Triggers []Trigger `yaml:"triggers" json:"triggers"`
	Filter   Filter    `yaml:"filter" json:"filter"`
	// Interval is the least time between two alerts of this rule for one
	// group (triggers every, frequency and users; new and regression are
	// transitions and always alert). Default 30m, 5m to 30d.
	Interval Duration `yaml:"interval" json:"interval"`
	Actions  []Action `yaml:"actions" json:"actions"`
}

// Trigger is one condition; a rule fires when any of its triggers does.
type Trigger struct {
	// Type is new, regression, every, frequency or users.
	Type string `yaml:"type" json:"type"`
	// Count and Window (frequency, users): more than Count in the last
	// Window (1m to 30d).
	Count  int64    `yaml:"count" json:"count"`
	Window Duration `yaml:"window" json:"window"`
}

// Filter keeps the events a rule looks at; empty fields keep all. The
// newest event of each commit for the group is the one filtered.
type Filter struct {
	Level       []string          `yaml:"level" json:"level"`
	Environment []string          `yaml:"environment" json:"environment"`
	Release     []string          `yaml:"release" json:"release"`
	Tags        map[string]string `yaml:"tags" json:"tags"`
}

// Action is what a rule does when it fires.
type Action struct {
	// Type is mail, webhook or ticket.
	Type string `yaml:"type" json:"type"`
	// To (mail) are the recipients; default the server's (MAIL_TO).
	To []string `yaml:"to" json:"to"`
	// URL, Secret and Format (webhook): Format "json" (default, signed
	// with Secret when set) or "slack" (Slack and Mattermost).
	URL    string `yaml:"url" json:"url"`
	Secret string `yaml:"secret" json:"secret"`
	Format string `yaml:"format" json:"format"`
	// Ticketer (ticket) names an entry of Config.Ticketers.
	Ticketer string `yaml:"ticketer" json:"ticketer"`
}

// TicketerConfig configures one ticketer.
type TicketerConfig struct {
	// Type is webhook, github or jira.
	Type string `yaml:"type" json:"type"`
	// URL: webhook: the URL; github: the API base (default
	// https://api.github.com); jira: the site (https://acme.atlassian.net).
	URL string `yaml:"url" json:"url"`
	// Repo (github) is "owner/name"; Labels are set on the issue.
	Repo   string   `yaml:"repo" json:"repo"`
	Labels []string `yaml:"labels" json:"labels"`
	// Token: github, or jira's bearer token; jira basic auth uses User
	// and Token (an API token).
	Token string `yaml:"token" json:"token"`
	User  string `yaml:"user" json:"user"`
	// Project and IssueType (jira): the project key and issue type name
	// (default "Bug").
	Project   string `yaml:"project" json:"project"`
	IssueType string `yaml:"issue_type" json:"issue_type"`
	// Secret (webhook) signs the request as webhooks are.
	Secret string `yaml:"secret" json:"secret"`
}

// LoadConfig reads a rules file, YAML or JSON, and validates it.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("errlog: alert: rules: %w", err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return c, nil
}

// ParseConfig parses and validates a rules file's contents (YAML, or JSON
// which is YAML too). Unknown fields are errors.
func ParseConfig(b []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("errlog: alert: rules: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate checks every field and fills the defaults; the error names the
// rule and the field.
func (c *Config) Validate() error {
	names := map[string]bool{}
	for i := range c.Rules {
		r := &c.Rules[i]
		where := fmt.Sprintf("rules[%d]", i)
		if r.Name == "" {
			return fmt.Errorf("errlog: alert: rules: %s.name is required", where)
		}
		where = fmt.Sprintf("rule %q", r.Name)
		if names[r.Name] {
			return fmt.Errorf("errlog: alert: rules: %s: name is used twice", where)
		}
		names[r.Name] = true
		if len(r.Triggers) == 0 {
			return fmt.Errorf("errlog: alert: rules: %s: triggers: at least one is required", where)
		}
		for j, t := range r.Triggers {
			switch t.Type {
			case TriggerNew, TriggerRegression, TriggerEvery:
			case TriggerFrequency, TriggerUsers:
				if t.Count < 0 {
					return fmt.Errorf("errlog: alert: rules: %s: triggers[%d].count must be 0 or more", where, j)
				}
				w := time.Duration(t.Window)
				if w < MinWindow || w > MaxWindow {
					return fmt.Errorf("errlog: alert: rules: %s: triggers[%d].window must be 1m to 30d, not %s", where, j, w)
				}
			default:
				return fmt.Errorf("errlog: alert: rules: %s: triggers[%d].type %q is not new, regression, every, frequency or users", where, j, t.Type)
			}
		}
		if r.Interval == 0 {
			r.Interval = Duration(DefaultInterval)
		}
		if iv := time.Duration(r.Interval); iv < MinInterval || iv > MaxInterval {
			return fmt.Errorf("errlog: alert: rules: %s: interval must be 5m to 30d, not %s", where, iv)
		}
		if len(r.Actions) == 0 {
			return fmt.Errorf("errlog: alert: rules: %s: actions: at least one is required", where)
		}
		for j, a := range r.Actions {
			switch a.Type {
			case ActionMail:
				for _, to := range a.To {
					if _, err := netmail.ParseAddress(to); err != nil {
						return fmt.Errorf("errlog: alert: rules: %s: actions[%d].to %q is not a mail address: %v", where, j, to, err)
					}
				}
			case ActionWebhook:
				if err := checkURL(a.URL); err != nil {
					return fmt.Errorf("errlog: alert: rules: %s: actions[%d].url %w", where, j, err)
				}
				if a.Format != "" && a.Format != "json" && a.Format != "slack" {
					return fmt.Errorf("errlog: alert: rules: %s: actions[%d].format %q is not json or slack", where, j, a.Format)
				}
			case ActionTicket:
				if _, ok := c.Ticketers[a.Ticketer]; !ok {
					return fmt.Errorf("errlog: alert: rules: %s: actions[%d].ticketer %q is not in ticketers", where, j, a.Ticketer)
				}
			default:
				return fmt.Errorf("errlog: alert: rules: %s: actions[%d].type %q is not mail, webhook or ticket", where, j, a.Type)
			}
		}
	}
	for name, t := range c.Ticketers {
		if t.URL != "" || t.Type == "webhook" || t.Type == "jira" {
			if err := checkURL(t.URL); err != nil {
				return fmt.Errorf("errlog: alert: rules: ticketers.%s.url %w", name, err)
			}
		}
		switch t.Type {
		case "webhook":
			if t.URL == "" {
				return fmt.Errorf("errlog: alert: rules: ticketers.%s.url is required", name)
			}
		case "github":
			if strings.Count(t.Repo, "/") != 1 {
				return fmt.Errorf("errlog: alert: rules: ticketers.%s.repo must be owner/name", name)
			}
			if t.Token == "" {
				return fmt.Errorf("errlog: alert: rules: ticketers.%s.token is required", name)
			}
		case "jira":
			if t.URL == "" || t.Project == "" || t.Token == "" {
				return fmt.Errorf("errlog: alert: rules: ticketers.%s: url, project and token are required", name)
			}
		default:
			return fmt.Errorf("errlog: alert: rules: ticketers.%s.type %q is not webhook, github or jira", name, t.Type)
		}
	}
	return nil
}

// match reports whether the filter keeps the outcome's newest event.
func (f *Filter) match(level, env, release string, tags map[string]string) bool {
	in := func(list []string, v string) bool {
		if len(list) == 0 {
			return true
		}
		for _, x := range list {
			if strings.EqualFold(x, v) {
				return true
			}
		}
		return false
	}
	if !in(f.Level, level) || !in(f.Environment, env) || !in(f.Release, release) {
		return false
	}
	for k, v := range f.Tags {
		if tags[k] != v {
			return false
		}
	}
	return true
}
