package event

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// Parameterize replaces the parts of a message that vary between
// occurrences of one error with placeholders, so that "user 123 not found"
// and "user 456 not found" are one group: emails, URLs, IP addresses,
// UUIDs, dates and times, durations, hexadecimal numbers (0x… and runs of
// eight or more hex digits with a digit among them), floats and integers
// become <email>, <url>, <ip>, <uuid>, <date>, <duration>, <hex>, <float>
// and <int>. An HTTP status that stands alone ("HTTP 502", "status=404",
// "503 Service Unavailable") is kept: it names the failure, not an
// occurrence. The kinds and their order follow Sentry's message
// parameterization, so that errlog and a Sentry server group messages
// alike; GroupKey, mail throttling and errlogd all use this one function.
func Parameterize(msg string) string {
	locs := paramRE.FindAllStringSubmatchIndex(msg, -1)
	if locs == nil {
		return msg
	}
	var b strings.Builder
	b.Grow(len(msg))
	last := 0
	for _, loc := range locs {
		start, end := loc[0], loc[1]
		kind := ""
		for i, name := range paramNames {
			if i > 0 && name != "" && loc[2*i] >= 0 {
				kind = name
				break
			}
		}
		text := msg[start:end]
		b.WriteString(msg[last:start])
		last = end
		switch kind {
		case "hex":
			digits := strings.ContainsAny(text, "0123456789")
			switch {
			case strings.HasPrefix(text, "0x") || strings.HasPrefix(text, "0X"):
				b.WriteString("<hex>")
			case !digits:
				b.WriteString(text) // a word such as "deadbeef" or "facade"
			case strings.Trim(text, "0123456789") == "":
				b.WriteString("<int>")
			default:
				b.WriteString("<hex>")
			}
			continue
		case "int":
			if text[0] == '-' && start > 0 && isWordChar(msg[start-1]) {
				// "id-5": a hyphen inside a word is no minus sign.
				b.WriteByte('-')
				text = text[1:]
			}
			if isStatus(msg, end-len(text), end) {
				b.WriteString(text)
				continue
			}
		}
		b.WriteString("<" + kind + ">")
	}
	b.WriteString(msg[last:])
	return b.String()
}

// isStatus reports whether the integer msg[start:end] is an HTTP status
// standing alone: after "HTTP", "status" or "code", or before its own
// status text.
func isStatus(msg string, start, end int) bool {
	if end-start != 3 {
		return false
	}
	n, err := strconv.Atoi(msg[start:end])
	if err != nil || n < 100 || n > 599 {
		return false
	}
	if text := http.StatusText(n); text != "" && strings.HasPrefix(strings.TrimLeft(msg[end:], " :-"), text) {
		return true
	}
	before := strings.TrimRight(msg[:start], " :=/")
	i := len(before)
	for i > 0 && isWordChar(before[i-1]) {
		i--
	}
	switch strings.ToLower(before[i:]) {
	case "http", "https", "status", "code", "statuscode", "status_code":
		return true
	}
	return false
}

func isWordChar(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// The patterns, tried in this order at each position of the message.
var paramPatterns = []struct{ name, re string }{
	{"email", `[a-zA-Z0-9.!#$%&'*+/=?^_{|}~-]+@[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)+`},
	{"url", `\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>()\[\]{}]+`},
	{"ip", `\b(?:\d{1,3}\.){3}\d{1,3}\b` +
		`|\b(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}\b` +
		`|\b(?:[0-9a-fA-F]{1,4}:){1,6}:(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,5})?` +
		`|::[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,6}\b`},
	{"uuid", `\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b`},
	{"date", `\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?: ?(?:Z|[+-]\d{2}:?\d{2})(?: [A-Z]{2,5}\b)?)?)?` +
		`|\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),? \d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}(?: \d{2}:\d{2}(?::\d{2})?)?(?: [A-Z]{2,5}\b| [+-]\d{4})?` +
		`|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2},? (?:\d{4} )?\d{2}:\d{2}(?::\d{2})?` +
		`|\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b`},
	{"duration", `\b\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h)(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))*\b` +
		`|\b\d+(?:\.\d+)? ?(?:milliseconds?|seconds?|secs?|minutes?|mins?|hours?|days?)\b`},
	{"hex", `\b0[xX][0-9a-fA-F]+\b|\b[0-9a-fA-F]{8,}\b`},
	{"float", `-?\b\d+\.\d+(?:[eE][+-]?\d+)?\b`},
	{"int", `-?\b\d+\b`},
}

var paramRE, paramNames = compileParams()

func compileParams() (*regexp.Regexp, []string) {
	var parts []string
	for _, p := range paramPatterns {
		parts = append(parts, "(?P<"+p.name+">"+p.re+")")
	}
	re := regexp.MustCompile(strings.Join(parts, "|"))
	return re, re.SubexpNames()
}
