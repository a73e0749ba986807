package mail

import (
	_ "embed"
	"html/template"
	"strings"
)

// mailWrapRun is the longest run of characters without a place to break
// that the HTML part shows; longer ones (URLs, tokens, paths) get a <wbr>,
// since the CSS that would wrap them (word-break, overflow-wrap) is
// ignored by most mail clients.
const mailWrapRun = 40

// mailText escapes s for the HTML part, keeps its line breaks (<br>:
// white-space is unsupported in Outlook and Gmail's app) and lets long
// runs break.
func mailText(s string) template.HTML {
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	run := 0
	start := 0
	flush := func(end int) {
		b.WriteString(template.HTMLEscapeString(s[start:end]))
		start = end
	}
	for i, r := range s {
		switch {
		case r == '\n':
			flush(i)
			b.WriteString("<br>\n")
			start = i + 1
			run = 0
		case r == ' ' || r == '\t':
			run = 0
		default:
			run++
			if run > mailWrapRun {
				flush(i)
				b.WriteString("<wbr>")
				run = 1
			}
		}
	}
	flush(len(s))
	return template.HTML(b.String())
}

// mailHTMLSource is the HTML part's template, parsed once into mailHTML.
//
//go:embed templates/mail.html
var mailHTMLSource string

var mailHTML = template.Must(template.New("mail.html").Funcs(template.FuncMap{
	"text": mailText,
	"dict": func(kv ...any) map[string]any {
		m := make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
}).Parse(mailHTMLSource + crumbsHTMLSource))
