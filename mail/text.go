package mail

import (
	"fmt"
	"strings"
)

// text renders the plain-text body.
func (v *mailView) text() string {
	var b strings.Builder
	if v.Line != "" {
		b.WriteString(v.Line)
		b.WriteString("\n\n")
	}
	b.WriteString(v.Headline)
	if v.Link != "" {
		b.WriteString(" Details: " + v.Link)
	}
	b.WriteByte('\n')
	for _, n := range v.Notes {
		b.WriteString("Note: " + n + "\n")
	}
	if len(v.Summary) > 0 {
		b.WriteString("\nHeld back, by group:\n")
		for _, g := range v.Summary {
			fmt.Fprintf(&b, "  %6d × %s\n", g.Count, g.Title)
		}
		if v.SummaryMore != "" {
			b.WriteString("  " + v.SummaryMore + "\n")
		}
	}
	if len(v.Chain) > 0 {
		b.WriteString("\nError chain (oldest first):\n")
		for i, ex := range v.Chain {
			fmt.Fprintf(&b, "  %d. ", i+1)
			if ex.Type != "" {
				b.WriteString(ex.Type + ": ")
			}
			writeIndented(&b, ex.Value, "     ")
		}
	}
	if len(v.Stack) > 0 {
		b.WriteString("\nStack trace (most recent call first):\n")
		for _, f := range v.Stack {
			fmt.Fprintf(&b, "  %s\n      %s:%d\n", f.Function, f.File, f.Line)
			if f.Code != "" {
				b.WriteString("        " + f.Code + "\n")
			}
		}
	}
	if r := v.Request; r != nil {
		b.WriteString("\nRequest:\n  " + r.Method + " " + r.URL + "\n")
		if r.Query != "" {
			b.WriteString("  Query: " + r.Query + "\n")
		}
		writeRows(&b, "  Headers:\n", r.Headers)
		writeRows(&b, "  Cookies:\n", r.Cookies)
		writeRows(&b, "  Form:\n", r.Data)
		if r.Body != "" {
			b.WriteString("  Body:\n    ")
			writeIndented(&b, r.Body, "    ")
		}
		writeRows(&b, "  Environment:\n", r.Env)
	}
	writeCrumbs(&b, v.Breadcrumbs)
	for _, sec := range v.Sections {
		writeRows(&b, "\n"+sec.Name+":\n", sec.Rows)
	}
	if v.EventID != "" {
		b.WriteString("\nEvent ID: " + v.EventID + "\n")
	}
	if v.GroupKey != "" {
		b.WriteString("Group: " + v.GroupKey + "\n")
	}
	b.WriteString("\n-- \n" + v.Mailer + "\n")
	return b.String()
}

func writeRows(b *strings.Builder, title string, rows []mailKV) {
	if len(rows) == 0 {
		return
	}
	b.WriteString(title)
	indent := "    "
	if !strings.HasPrefix(title, "  ") {
		indent = "  "
	}
	for _, kv := range rows {
		b.WriteString(indent + kv.Key + ": ")
		if kv.Link != "" {
			kv.Value += " " + kv.Link
		}
		writeIndented(b, kv.Value, indent+"  ")
	}
}

// writeIndented writes s and a newline, indenting every line after the
// first.
func writeIndented(b *strings.Builder, s, indent string) {
	s = strings.TrimRight(s, "\n")
	b.WriteString(strings.ReplaceAll(s, "\n", "\n"+indent))
	b.WriteByte('\n')
}
