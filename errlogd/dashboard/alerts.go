package dashboard

import (
	"net/http"
	"strconv"
	"time"

	"github.com/errlog/errlog/errlogd/alert"
)

// alertView is the group page's alerts section: the group's notification
// history and its ticket.
type alertView struct {
	History   []alert.Notification
	Ticket    *alert.Ticket
	Ticketers []string
	State     *alert.GroupState
	Muted     bool
}

func (s *server) groupAlerts(r *http.Request, groupID int64) (*alertView, error) {
	n := s.opts.Alerts
	if n == nil {
		return nil, nil
	}
	v := &alertView{Ticketers: n.Ticketers()}
	var err error
	if v.History, err = n.History(r.Context(), groupID, 20); err != nil {
		return nil, err
	}
	if v.Ticket, err = n.Ticket(r.Context(), groupID); err != nil {
		return nil, err
	}
	if v.State, err = n.State(r.Context(), groupID); err != nil {
		return nil, err
	}
	if g, err := s.st.Group(r.Context(), groupID); err == nil {
		v.Muted = v.State.Muted(n.Now(), g.Count)
	}
	return v, nil
}

// muteGroup mutes a group's alerts for a time ("for": 1h, 24h, 168h), or
// until it is seen N more times ("more"), or unmutes it ("for" empty and
// no "more").
func (s *server) muteGroup(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if s.opts.Alerts == nil {
		return errNotFound
	}
	var until time.Time
	var more int64
	if v := r.PostFormValue("for"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > 30*24*time.Hour {
			return badRequest("Mute for %q: give a duration up to 720h.", v)
		}
		until = s.opts.Alerts.Now().Add(d)
	}
	if v := r.PostFormValue("more"); v != "" {
		if more, err = strconv.ParseInt(v, 10, 64); err != nil || more <= 0 {
			return badRequest("Mute until %q more: give a positive number.", v)
		}
	}
	if err := s.opts.Alerts.Mute(r.Context(), id, until, more); err != nil {
		return err
	}
	http.Redirect(w, r, s.prefix+"/groups/"+strconv.FormatInt(id, 10)+"#alerts", http.StatusSeeOther)
	return nil
}

// ackGroup acknowledges a group (ack=1) or withdraws it (ack=0).
func (s *server) ackGroup(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if s.opts.Alerts == nil {
		return errNotFound
	}
	if err := s.opts.Alerts.Acknowledge(r.Context(), id, r.PostFormValue("ack") == "1"); err != nil {
		return err
	}
	http.Redirect(w, r, s.prefix+"/groups/"+strconv.FormatInt(id, 10)+"#alerts", http.StatusSeeOther)
	return nil
}

// createTicket is the group page's "create ticket" button: a group gets
// one ticket, ever; pressing it again shows the one it has.
func (s *server) createTicket(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if s.opts.Alerts == nil {
		return errNotFound
	}
	if _, err := s.opts.Alerts.CreateTicket(r.Context(), id, r.PostFormValue("ticketer")); err != nil {
		// The failure is stored on the ticket and shown on the page.
		s.opts.Logger.WarnContext(r.Context(), "errlog: dashboard: ticket", "group", id, "err", err)
	}
	http.Redirect(w, r, s.prefix+"/groups/"+strconv.FormatInt(id, 10)+"#alerts", http.StatusSeeOther)
	return nil
}

type alertsPage struct {
	Failures []alert.Notification
}

func (p *alertsPage) PageTitle() string { return "Alert failures" }

// alertFailures lists the outbox's notifications that failed.
func (s *server) alertFailures(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Alerts == nil {
		return errNotFound
	}
	f, err := s.opts.Alerts.Failures(r.Context(), 200)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "alerts", &alertsPage{Failures: f})
	return nil
}
