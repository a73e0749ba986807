package alert

import (
	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/event"
)

// traceLine is what an error mail's headline says of the event's trace:
// " Trace: URL" with Options.TraceURL, else "".
func (n *Notifier) traceLine(ev *event.Event) string {
	if ev == nil || n.opts.TraceURL == "" {
		return ""
	}
	span, _ := ev.Contexts["trace"]["span_id"].(string)
	if link := store.TraceLink(n.opts.TraceURL, store.TraceID(ev), span); link != "" {
		return " Trace: " + link
	}
	return ""
}
