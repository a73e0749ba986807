package mail

import (
	_ "embed"
	"sort"
	"strings"

	"github.com/errlog/errlog/event"
)

// The breadcrumbs in mail: one short line each, oldest first, in both
// parts. The HTML is a block of its own (templates/breadcrumbs.html).

// maxMailCrumbValue bounds one value on a mail's breadcrumb line.
const maxMailCrumbValue = 120

// mailCrumb is one breadcrumb line of a mail.
type mailCrumb struct {
	Time, Level, Category, Message, Data string
}

func mailCrumbs(ev *event.Event) []mailCrumb {
	out := make([]mailCrumb, 0, len(ev.Breadcrumbs))
	for _, b := range ev.Breadcrumbs {
		m := mailCrumb{Level: crumbLabel(b.Level), Message: b.Message}
		if !b.Timestamp.IsZero() {
			m.Time = b.Timestamp.UTC().Format("15:04:05.000")
		}
		if b.Category != "log" {
			m.Category = b.Category
		}
		keys := make([]string, 0, len(b.Data))
		for k := range b.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var d strings.Builder
		for i, k := range keys {
			if i > 0 {
				d.WriteByte(' ')
			}
			d.WriteString(k + "=" + clip(strings.Join(strings.Fields(valueText(b.Data[k])), " "), maxMailCrumbValue))
		}
		m.Data = d.String()
		out = append(out, m)
	}
	return out
}

// writeCrumbs writes the text part's breadcrumbs section.
func writeCrumbs(b *strings.Builder, crumbs []mailCrumb) {
	if len(crumbs) == 0 {
		return
	}
	b.WriteString("\nBreadcrumbs (oldest first):\n")
	for _, c := range crumbs {
		b.WriteString("  " + c.Time + " " + c.Level)
		if c.Category != "" {
			b.WriteString(" [" + c.Category + "]")
		}
		b.WriteString(" " + strings.Join(strings.Fields(c.Message), " "))
		if c.Data != "" {
			b.WriteString("  " + c.Data)
		}
		b.WriteByte('\n')
	}
}

// crumbsHTMLSource defines the "breadcrumbs" block of the HTML mail.
//
//go:embed templates/breadcrumbs.html
var crumbsHTMLSource string

// crumbLabel is the label of a breadcrumb's level on its line, WARN
// rather than WARNING so that the lines align.
func crumbLabel(l event.Level) string {
	if l == event.LevelWarning {
		return "WARN"
	}
	return strings.ToUpper(string(l))
}
