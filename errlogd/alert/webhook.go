package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/errlog/errlog/errlogd/store"
)

// Payload is the generic webhook's JSON body.
type Payload struct {
	Rule      string    `json:"rule"`
	Reason    string    `json:"reason"`
	ProjectID int64     `json:"project_id"`
	GroupID   int64     `json:"group_id"`
	Title     string    `json:"title"`
	Culprit   string    `json:"culprit"`
	Level     string    `json:"level"`
	Count     int64     `json:"count"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Link      string    `json:"link,omitempty"`
}

// Sign returns the X-Errlog-Signature value of body: "sha256=" and the
// hex HMAC-SHA256 of the body with secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature header against body, in constant time: what
// a receiver runs.
func Verify(secret string, body []byte, header string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(header))
}

func (n *Notifier) sendWebhook(ctx context.Context, x *Notification, now time.Time) error {
	g, err := n.db.Group(ctx, x.GroupID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted since: nothing to tell
	}
	if err != nil {
		return fmt.Errorf("group %d: %w", x.GroupID, err)
	}
	r := n.rule(ctx, g.ProjectID, x.Rule)
	a, ok := webhookAction(r, x.actionIndex)
	if !ok {
		return fmt.Errorf("rule %q action %d is no longer configured", x.Rule, x.actionIndex)
	}
	p := Payload{Rule: x.Rule, Reason: x.Reason, ProjectID: g.ProjectID, GroupID: g.ID, Title: g.Title, Culprit: g.Culprit,
		Level: g.Level, Count: g.Count, FirstSeen: g.FirstSeen, LastSeen: g.LastSeen, Link: n.link(g.ID)}
	var body []byte
	if a.Format == "slack" {
		level, title := slackText(g.Level), slackText(g.Title)
		text := fmt.Sprintf("*%s* %s error: %s", x.Reason, level, title)
		if p.Link != "" {
			text = fmt.Sprintf("*%s* %s error: <%s|%s>", x.Reason, level, p.Link, title)
		}
		text += fmt.Sprintf("\n%s · %d times", slackText(g.Culprit), g.Count)
		body, err = json.Marshal(map[string]string{"text": text})
	} else {
		body, err = json.Marshal(p)
	}
	if err != nil {
		return err
	}
	return n.post(ctx, a.URL, body, map[string]string{"X-Errlog-Signature": signIf(a.Secret, body)}, nil)
}

func signIf(secret string, body []byte) string {
	if secret == "" {
		return ""
	}
	return Sign(secret, body)
}

// post sends body as JSON; out, when set, receives the JSON answer. Its
// errors name the receiver by scheme and host only: a webhook's URL is
// often its secret (Slack's, Mattermost's), and errors are shown on the
// dashboard and kept in the outbox.
func (n *Notifier) post(ctx context.Context, rawURL string, body []byte, headers map[string]string, out any) error {
	where := "POST " + URLHost(rawURL)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: bad URL", where)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "errlogd")
	for k, v := range headers {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	client := *n.opts.HTTPClient
	client.CheckRedirect = sameHost(n.opts.HTTPClient.CheckRedirect)
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the whole URL
		}
		return fmt.Errorf("%s: %w", where, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s: %.200s", where, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			// Taken (2xx): trying again would raise it again.
			return &answerError{fmt.Errorf("%s: %s, but its answer: %w", where, resp.Status, err)}
		}
	}
	return nil
}

// answerError is a 2xx reply whose body could not be read: the receiver
// took the request, so it must not be sent again.
type answerError struct{ err error }

func (e *answerError) Error() string { return e.err.Error() }
func (e *answerError) Unwrap() error { return e.err }

func (n *Notifier) rule(ctx context.Context, projectID int64, name string) *Rule {
	for _, r := range n.rulesFor(ctx, projectID) {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// URLHost is rawURL's scheme and host, the rest elided: how a webhook's
// URL is shown, since the rest is often its secret (a Slack or Mattermost
// incoming webhook posts for whoever has it).
func URLHost(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return "(a webhook URL)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// sameHost wraps a client's redirect policy (next; nil: Go's default) so
// that a redirect stays on the host it started from, over http(s), and
// never from https to http. Go's client re-sends a POST's body on a 307
// or 308 with every header but Authorization, so a receiver that
// redirects elsewhere would get the alert and its X-Errlog-Signature.
func sameHost(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		from := via[0].URL
		if req.URL.Host != from.Host || (req.URL.Scheme != "https" && req.URL.Scheme != "http") || (from.Scheme == "https" && req.URL.Scheme != "https") {
			return fmt.Errorf("redirected from %s to %s://%s/…; not following a redirect to another host", URLHost(from.String()), req.URL.Scheme, req.URL.Host)
		}
		if req.Method != via[0].Method {
			// A 301, 302 or 303 turns the POST into a GET without its
			// body: the receiver's answer to that would mark the alert
			// sent though it never got it.
			status := ""
			if req.Response != nil {
				status = req.Response.Status + " "
			}
			return fmt.Errorf("redirected (%sto %s://%s/…), which would re-send the POST as a %s without its body; not following", status, req.URL.Scheme, req.URL.Host, req.Method)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
}

// checkURL reports whether s is an absolute http(s) URL with a host: the
// only kind webhooks and ticketers are sent to.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an http(s) URL")
	}
	return nil
}

// webhookAction is the webhook action i of r; when the rule was edited
// since (on the dashboard, unticking its mail moves its webhook from
// actions[1] to actions[0]) and i is no longer a webhook, the rule's only
// webhook.
func webhookAction(r *Rule, i int) (Action, bool) {
	if r == nil {
		return Action{}, false
	}
	if i < len(r.Actions) && r.Actions[i].Type == ActionWebhook {
		return r.Actions[i], true
	}
	var found []Action
	for _, a := range r.Actions {
		if a.Type == ActionWebhook {
			found = append(found, a)
		}
	}
	if len(found) == 1 {
		return found[0], true
	}
	return Action{}, false
}
