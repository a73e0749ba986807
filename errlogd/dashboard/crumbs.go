package dashboard

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/errlog/errlog/event"
)

// crumbView is one breadcrumb as the event page lists it, as error mail
// does: time, level, category, message and data, oldest first.
type crumbView struct {
	Time     string // "15:04:05.000" UTC; "" when the SDK sent none
	Exact    string // the full date, as the time's title
	Level    string
	Category string
	Type     string // Sentry's breadcrumb type, when not "default"
	Message  string
	Data     []kv
}

// maxCrumbValue bounds one data value on the page (the JSON download has
// it whole).
const maxCrumbValue = 500

func crumbsOf(ev *event.Event) []crumbView {
	if ev == nil {
		return nil
	}
	out := make([]crumbView, 0, len(ev.Breadcrumbs))
	for _, b := range ev.Breadcrumbs {
		c := crumbView{Level: string(b.Level), Category: b.Category, Message: b.Message}
		if c.Level == "" {
			c.Level = "info" // Sentry's default for a breadcrumb
		}
		if b.Type != "" && b.Type != "default" {
			c.Type = b.Type
		}
		if !b.Timestamp.IsZero() {
			c.Time = b.Timestamp.UTC().Format("15:04:05.000")
			c.Exact = b.Timestamp.UTC().Format("2006-01-02 15:04:05.000 UTC")
		}
		for k, v := range b.Data {
			s, ok := v.(string)
			if !ok {
				js, _ := json.Marshal(v)
				s = string(js)
			}
			c.Data = append(c.Data, kv{k, shorten(strings.TrimSpace(s), maxCrumbValue)})
		}
		sort.Slice(c.Data, func(i, j int) bool { return c.Data[i].K < c.Data[j].K })
		out = append(out, c)
	}
	return out
}
