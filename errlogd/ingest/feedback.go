package ingest

import (
	"context"
	"net/http"
	"strings"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/wire/decode"
)

// typeFeedback is the item type of Sentry's feedback (captureFeedback,
// the feedback widget): an event whose contexts.feedback holds it.
const typeFeedback = "feedback"

// feedback stores a user_report item ({event_id, name, email, comments})
// or a feedback item. Feedback on an event is shown with its group;
// feedback on none (the widget, on its own) is stored as an event of
// its own too, "User feedback: …", so that it is listed.
func (h *Handler) feedback(ctx context.Context, p *store.Project, typ string, payload []byte, envelopeID, sentAt string) (string, error) {
	f := &store.Feedback{ProjectID: p.ID, Received: h.opts.Now()}
	if typ != typeFeedback {
		r, err := decode.ItemUserReport(payload)
		if err != nil {
			return "", refuse(http.StatusBadRequest, "errlog: ingest: %v", err)
		}
		f.EventID, f.Name, f.Email, f.Comments = r.EventID, r.Name, r.Email, r.Comments
		if f.EventID == "" {
			f.EventID = envelopeID
		}
		return "", h.addFeedback(ctx, p, f, false)
	}
	ev, err := decode.Event(payload)
	if err != nil {
		return "", refuse(http.StatusBadRequest, "errlog: ingest: feedback: %v", err)
	}
	fb := ev.Contexts["feedback"]
	str := func(k string) string { s, _ := fb[k].(string); return s }
	f.Comments, f.Email, f.Name, f.URL = str("message"), str("contact_email"), str("name"), str("url")
	if h.opts.Scrub != nil {
		f.URL = h.opts.Scrub.masker.Text(f.URL) // "?token=…" of the page
	}
	f.EventID = str("associated_event_id")
	if f.EventID != "" {
		return "", h.addFeedback(ctx, p, f, false)
	}
	msg := strings.TrimSpace(f.Comments)
	if msg == "" {
		msg = "(empty)"
	}
	ev.Logentry = &event.Logentry{Formatted: "User feedback: " + msg}
	if ev.Level == "" {
		ev.Level = event.LevelInfo
	}
	var scrub decode.Found
	if h.opts.Scrub != nil {
		_, scrub, _ = h.opts.Scrub.summary(payload) // payload decoded above
	}
	id, err := h.submit(ctx, p, ev, payload, nil, envelopeID, sentAt, scrub)
	if err != nil {
		return "", err
	}
	f.EventID = id
	return id, h.addFeedback(ctx, p, f, true) // its event took p's rate limit
}

// addFeedback stores f. Feedback without comments has nothing to show: it
// is skipped, not refused (an SDK passes what the user typed through, and
// drops the envelope it was refused with); a feedback item's own event is
// stored all the same. Feedback counts against p's rate limit as an event
// does (a public browser DSN could fill the feedback table), unless its
// own event took it (limited).
func (h *Handler) addFeedback(ctx context.Context, p *store.Project, f *store.Feedback, limited bool) error {
	if strings.TrimSpace(f.Comments) == "" {
		h.skipped.Add(1)
		return nil
	}
	if !limited {
		if err := h.allow(p); err != nil {
			return err
		}
	}
	if err := h.st.AddFeedback(ctx, f); err != nil {
		return h.storeDown("store feedback", err)
	}
	return nil
}
