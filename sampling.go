package errlog

import (
	"fmt"
	"maps"
	"math/rand"
	"slices"

	"github.com/errlog/errlog/event"
)

// Sampling and BeforeSend, as Sentry's SDKs have them, but for every event
// sink at once: an event is kept or left out once, before mail, tracker,
// notifiers and sinks see it, so that they all agree on what happened.

// initSampling resolves Options.SampleRate.
func (c *core) initSampling() {
	c.sampleRate = 1
	c.random = rand.Float64
	switch r := c.opts.SampleRate; {
	case r == 0:
	case r > 0 && r <= 1:
		c.sampleRate = r
	default:
		c.onError(&DeliveryError{Sink: "handler", Op: "configure",
			Err: fmt.Errorf("Options.SampleRate %v is not in [0, 1]: every event is kept", r)})
	}
}

// keep decides whether the next event is built and delivered.
func (c *core) keep() bool {
	return c.sampleRate >= 1 || c.random() < c.sampleRate
}

// beforeSend runs Options.BeforeSend on ev, if set, and counts what it
// drops. A panic drops the event and is reported: BeforeSend may exist to
// remove something that must not leave the process.
func (c *core) beforeSend(ev *event.Event) (out *event.Event) {
	f := c.opts.BeforeSend
	if f == nil {
		return ev
	}
	defer func() {
		if p := recover(); p != nil {
			out = nil
			c.lostReported()
			c.onError(&DeliveryError{Sink: "handler", Op: "before send",
				Err: fmt.Errorf("Options.BeforeSend panicked; the event %s was dropped: %v", ev.EventID, p)})
		}
	}()
	ownShared(ev)
	if out = f(ev); out == nil {
		c.discarded.Add(1)
	}
	return out
}

// ownShared gives ev copies of what it shares with other events, so that
// BeforeSend may change ev as it documents: the process's modules and
// contexts (every event's), the request (every event of a request), its
// user, and the scope's tags and fingerprint. A change reached every later
// event, and raced with a sink still encoding an earlier one. Values
// inside extra and the request's data are shared as logged.
func ownShared(ev *event.Event) {
	ev.Modules = maps.Clone(ev.Modules)
	if ev.Contexts != nil {
		cs := make(map[string]map[string]any, len(ev.Contexts))
		for k, v := range ev.Contexts {
			cs[k] = maps.Clone(v)
		}
		ev.Contexts = cs
	}
	if r := ev.Request; r != nil {
		rc := *r
		rc.Headers, rc.Cookies, rc.Env = maps.Clone(r.Headers), maps.Clone(r.Cookies), maps.Clone(r.Env)
		if d, ok := r.Data.(map[string]any); ok {
			rc.Data = maps.Clone(d)
		}
		ev.Request = &rc
	}
	if u := ev.User; u != nil {
		uc := *u
		uc.Data = maps.Clone(u.Data)
		ev.User = &uc
	}
	ev.Tags = maps.Clone(ev.Tags)
	ev.Extra = maps.Clone(ev.Extra)
	ev.Fingerprint = slices.Clone(ev.Fingerprint)
}

// Discarded returns how many events were left out by choice: by
// Options.SampleRate or by Options.BeforeSend returning nil. They are not
// losses, which Dropped and OnDeliveryError report.
func (h *Handler) Discarded() uint64 { return h.c.discarded.Load() }
