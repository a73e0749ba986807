package event

import (
	"net/http"
	"strconv"
	"strings"
)

// Parameterize replaces the parts of a message that vary between
// occurrences of one error with placeholders, so that "user 123 not found"
// and "user 456 not found" are one group: emails, URLs, IP addresses,
// UUIDs, dates and times, durations, hexadecimal numbers (0x… and runs of
// eight or more hex digits with a digit among them), floats and integers
// become <email>, <url>, <ip>, <uuid>, <date>, <duration>, <hex>, <float>
// and <int>; so do the ids glued to a name after "_" or a letter, which
// temporary names carry ("upload_3829473622", "order_<uuid>",
// "tmp8421377"): a UUID, eight or more hex digits with a digit among
// them, or five or more digits after "_", six or more after a letter
// ("RFC3339", "cp1252" and "ES2015" name things, and stay). An HTTP status that stands alone ("HTTP 502",
// "status=404", "503 Service Unavailable") is kept: it names the failure,
// not an occurrence. The kinds and their order follow Sentry's message
// parameterization (but URLs go before emails, so that a URL with a user
// in it is one <url>), so that errlog and a Sentry server group messages
// nearly alike; GroupKey, mail throttling and errlogd use this one
// function.
func Parameterize(msg string) string { return parameterize(msg, Grouping) }

// parameterize is Parameterize as grouping v had it: glued ids are left
// before grouping 3.
func parameterize(msg string, v int) string {
	// Every placeholder needs a digit, an "@" or "://": most log messages,
	// constant strings, have none and cost one scan.
	if strings.IndexFunc(msg, isDigitRune) < 0 && !strings.Contains(msg, "@") && !strings.Contains(msg, "://") {
		return msg
	}
	// One pass per kind, in that order, each on the previous one's
	// output: placeholders have no digits, so a later pass never rewrites
	// an earlier one's. The matchers are written out by hand: Go's regexp
	// took 50 µs for a short message, and errlogd groups every event.
	msg = replaceSpans(msg, "url", findURLs(msg)) // before emails: "ssh://git@host/x" is one URL
	msg = replaceSpans(msg, "email", findEmails(msg))
	msg = replaceSpans(msg, "ip", findAt(msg, matchIP))
	if v >= 3 {
		// After the kinds that take in a word's inside (an email's local
		// part), before those that would cut a glued UUID to pieces.
		msg = replaceGlued(msg)
	}
	msg = replaceSpans(msg, "uuid", findAt(msg, matchUUID))
	msg = replaceSpans(msg, "date", findAt(msg, matchDate))
	msg = replaceSpans(msg, "duration", findAt(msg, matchDuration))
	msg = replaceSpans(msg, "hex", findAt(msg, matchHex))
	msg = replaceSpans(msg, "float", findAt(msg, matchFloat))
	msg = replaceSpans(msg, "int", findAt(msg, matchInt))
	return msg
}

// replaceGlued replaces the ids glued to a name (Parameterize): from a
// byte after "_" or a letter, a UUID, a run of eight or more hex digits
// with a digit (after "_" or a letter that is no hex digit, so that a
// word is not cut inside), or of five or more digits after "_", six or
// more after a letter, ending where the word does or at "_"; "sha256",
// "utf8", "x86_64" and "RFC3339" stay.
func replaceGlued(msg string) string {
	var b strings.Builder
	last := 0
	wordEnd, hexWord := 0, false // the alphanumeric word around i: all hex digits?
	for i := 1; i < len(msg); i++ {
		p := msg[i-1]
		if p != '_' && !isLetter(p) || !isHex(msg[i]) || (p == 'x' || p == 'X') && i >= 2 && msg[i-2] == '0' {
			continue // not glued, or 0x…, which the hex pass takes whole
		}
		if isHex(p) {
			if i >= wordEnd {
				start := i - 1
				for start > 0 && isAlnum(msg[start-1]) {
					start--
				}
				wordEnd = run(msg, i, isAlnum, 0)
				hexWord = run(msg, start, isHex, 0) == wordEnd
			}
			if hexWord {
				// Inside a word of hex digits only (a UUID's group, an
				// ObjectId, a SHA): no name to be glued to; the UUID and
				// hex passes take it whole.
				continue
			}
		}
		end, kind := -1, ""
		switch {
		case matchUUIDAt(msg, i) > 0:
			end, kind = matchUUIDAt(msg, i), "<uuid>"
		case p == '_' || !isHex(p):
			if j := run(msg, i, isHex, 0); j-i >= 8 && gluedEnd(msg, j) && strings.IndexFunc(msg[i:j], isDigitRune) >= 0 {
				end, kind = j, "<hex>"
				if strings.Trim(msg[i:j], "0123456789") == "" {
					kind = "<int>"
				}
				break
			}
			fallthrough
		default:
			if j := run(msg, i, isDigit, 0); j-i >= minGluedDigits(p) && gluedEnd(msg, j) {
				end, kind = j, "<int>"
			}
		}
		if end < 0 {
			continue
		}
		b.WriteString(msg[last:i])
		b.WriteString(kind)
		last = end
		i = end - 1
	}
	if last == 0 {
		return msg
	}
	b.WriteString(msg[last:])
	return b.String()
}

// minGluedDigits is how many digits after p make a glued id.
func minGluedDigits(p byte) int {
	if p == '_' {
		return 5
	}
	return 6
}

// gluedEnd reports whether a glued id may end at i: at the word's end or
// at "_".
func gluedEnd(msg string, i int) bool { return endsWord(msg, i) || msg[i] == '_' }

// matchUUIDAt matches 8-4-4-4-12 hex digits at i, inside a word, ending
// where gluedEnd says; -1 when there is none.
func matchUUIDAt(msg string, i int) int {
	if j := uuidEnd(msg, i); j > 0 && gluedEnd(msg, j) {
		return j
	}
	return -1
}

func isDigitRune(r rune) bool { return '0' <= r && r <= '9' }

type span struct{ start, end int }

// replaceSpans replaces each span of msg with the kind's placeholder.
func replaceSpans(msg, kind string, spans []span) string {
	if len(spans) == 0 {
		return msg
	}
	var b strings.Builder
	b.Grow(len(msg))
	last := 0
	for _, sp := range spans {
		text := msg[sp.start:sp.end]
		b.WriteString(msg[last:sp.start])
		last = sp.end
		switch kind {
		case "hex":
			switch {
			case strings.HasPrefix(text, "0x") || strings.HasPrefix(text, "0X"):
				b.WriteString("<hex>")
			case !strings.ContainsAny(text, "0123456789"):
				b.WriteString(text) // a word such as "deadbeef" or "facade"
			case strings.Trim(text, "0123456789") == "":
				b.WriteString("<int>")
			default:
				b.WriteString("<hex>")
			}
			continue
		case "int":
			if text[0] == '-' && sp.start > 0 && isWordChar(msg[sp.start-1]) {
				// "id-5": a hyphen inside a word is no minus sign.
				b.WriteByte('-')
				text = text[1:]
			}
			if isStatus(msg, sp.end-len(text), sp.end) {
				b.WriteString(text)
				continue
			}
		}
		b.WriteString("<" + kind + ">")
	}
	b.WriteString(msg[last:])
	return b.String()
}

// findAt returns the leftmost-first, non-overlapping matches of match,
// which returns the end of a match starting at i, or -1.
func findAt(msg string, match func(msg string, i int) int) []span {
	var out []span
	for i := 0; i < len(msg); {
		// Every match starts a word, or at a minus sign or "::".
		if c := msg[i]; isWordChar(c) && !startsWord(msg, i) || !isWordChar(c) && c != '-' && c != ':' {
			i++
			continue
		}
		if end := match(msg, i); end > i {
			out = append(out, span{i, end})
			i = end
			continue
		}
		i++
	}
	return out
}

// Character classes, ASCII as Go's regexp \b has them.
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isHex(c byte) bool    { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }
func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// startsWord reports a word boundary before msg[i], a word character.
func startsWord(msg string, i int) bool { return i == 0 || !isWordChar(msg[i-1]) }

// endsWord reports a word boundary at i, after a word character.
func endsWord(msg string, i int) bool { return i >= len(msg) || !isWordChar(msg[i]) }

// run returns the end of the run of bytes from i that satisfy ok, at most
// max of them (max <= 0: any number).
func run(msg string, i int, ok func(byte) bool, max int) int {
	j := i
	for j < len(msg) && ok(msg[j]) && (max <= 0 || j-i < max) {
		j++
	}
	return j
}

func isEmailLocal(c byte) bool {
	return isWordChar(c) || strings.IndexByte(".!#$%&'*+/=?^{|}~-", c) >= 0
}

func isLabel(c byte) bool { return isLetter(c) || isDigit(c) || c == '-' }

// findEmails finds local@domain.tld around each "@".
func findEmails(msg string) []span {
	var out []span
	from := 0
	for {
		k := strings.IndexByte(msg[from:], '@')
		if k < 0 {
			return out
		}
		at := from + k
		start := at
		for start > from && isEmailLocal(msg[start-1]) {
			start--
		}
		end := run(msg, at+1, isLabel, 0)
		labels := 0
		for end > at+1 && end+1 < len(msg) && msg[end] == '.' && isLabel(msg[end+1]) {
			end = run(msg, end+1, isLabel, 0)
			labels++
		}
		if start < at && labels > 0 {
			out = append(out, span{start, end})
			from = end
		} else {
			from = at + 1
		}
	}
}

// findURLs finds scheme://rest around each "://".
func findURLs(msg string) []span {
	var out []span
	from := 0
	for {
		k := strings.Index(msg[from:], "://")
		if k < 0 {
			return out
		}
		sep := from + k
		start := sep
		for start > from && (isLetter(msg[start-1]) || isDigit(msg[start-1]) || strings.IndexByte("+.-", msg[start-1]) >= 0) {
			start--
		}
		for start < sep && !isLetter(msg[start]) {
			start++
		}
		end := sep + 3
		for end < len(msg) && msg[end] > ' ' && strings.IndexByte("\"'<>()[]{}", msg[end]) < 0 {
			end++
		}
		if start < sep && startsWord(msg, start) && end > sep+3 {
			out = append(out, span{start, end})
			from = end
		} else {
			from = sep + 3
		}
	}
}

// matchIP matches an IPv4 address, or an IPv6 one written in full or
// with "::".
func matchIP(msg string, i int) int {
	if end := matchIPv4(msg, i); end > 0 {
		return end
	}
	return matchIPv6(msg, i)
}

func matchIPv4(msg string, i int) int {
	if !isDigit(msg[i]) || !startsWord(msg, i) {
		return -1
	}
	j := i
	for part := 0; part < 4; part++ {
		if part > 0 {
			if j >= len(msg) || msg[j] != '.' {
				return -1
			}
			j++
		}
		k := run(msg, j, isDigit, 3)
		if k == j {
			return -1
		}
		j = k
	}
	if !endsWord(msg, j) {
		return -1
	}
	return j
}

func matchIPv6(msg string, i int) int {
	if !(isHex(msg[i]) && startsWord(msg, i) || msg[i] == ':' && strings.HasPrefix(msg[i:], "::") && (i == 0 || !isWordChar(msg[i-1]) && msg[i-1] != ':')) {
		return -1
	}
	j, groups, colons, double := i, 0, 0, false
	lastEnd := -1 // end of the last hex group
	for j < len(msg) {
		if groups > 8 {
			// No address has more groups: stop here, not at the end of a
			// run of "1:1:1:…", which made Parameterize quadratic.
			return -1
		}
		if k := run(msg, j, isHex, 4); k > j {
			if k < len(msg) && isHex(msg[k]) {
				return -1 // a group of five hex digits or more
			}
			groups++
			j, lastEnd = k, k
			if j < len(msg) && msg[j] == ':' {
				continue
			}
			break
		}
		if msg[j] != ':' {
			break
		}
		if j+1 < len(msg) && msg[j+1] == ':' {
			if double {
				break
			}
			double = true
			colons += 2
			j += 2
			lastEnd = j
			continue
		}
		colons++
		j++
	}
	switch {
	case groups == 8 && colons == 7 && !double:
	case double && groups >= 1 && groups <= 7:
	default:
		return -1
	}
	if lastEnd < 0 || (lastEnd > 0 && isWordChar(msg[lastEnd-1]) && !endsWord(msg, lastEnd)) {
		return -1
	}
	return lastEnd
}

// matchUUID matches 8-4-4-4-12 hex digits.
func matchUUID(msg string, i int) int {
	if !isHex(msg[i]) || !startsWord(msg, i) {
		return -1
	}
	if j := uuidEnd(msg, i); j > 0 && endsWord(msg, j) {
		return j
	}
	return -1
}

// uuidEnd returns the end of 8-4-4-4-12 hex digits at i, or -1.
func uuidEnd(msg string, i int) int {
	j := i
	for n, width := range [...]int{8, 4, 4, 4, 12} {
		if n > 0 {
			if j >= len(msg) || msg[j] != '-' {
				return -1
			}
			j++
		}
		if run(msg, j, isHex, width) != j+width {
			return -1
		}
		j += width
	}
	return j
}

// digits returns the end of exactly n digits at i, or -1.
func digits(msg string, i, n int) int {
	if run(msg, i, isDigit, n) == i+n {
		return i + n
	}
	return -1
}

// lit returns the end of s at i, or -1.
func lit(msg string, i int, s string) int {
	if strings.HasPrefix(msg[i:], s) {
		return i + len(s)
	}
	return -1
}

var (
	weekdays = []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
	months   = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
)

func oneOf(msg string, i int, words []string) int {
	for _, w := range words {
		if e := lit(msg, i, w); e > 0 {
			return e
		}
	}
	return -1
}

// matchDate matches ISO 8601 dates and times (Go's time.Time.String
// too), RFC 1123 dates, syslog's "Jan 2 15:04:05" and a time of day with
// seconds.
func matchDate(msg string, i int) int {
	c := msg[i]
	if !isWordChar(c) || !startsWord(msg, i) {
		return -1
	}
	if isDigit(c) {
		if e := matchISODate(msg, i); e > 0 {
			return e
		}
		if e := matchClock(msg, i, 1, true); e > 0 && endsWord(msg, e) {
			return e
		}
		return -1
	}
	if e := matchRFC1123(msg, i); e > 0 {
		return e
	}
	return matchSyslog(msg, i)
}

// matchClock matches H[H]:MM, then :SS (required when seconds), then a
// fraction.
func matchClock(msg string, i, minHour int, seconds bool) int {
	j := run(msg, i, isDigit, 2)
	if j-i < minHour || j >= len(msg) || msg[j] != ':' {
		return -1
	}
	if j = digits(msg, j+1, 2); j < 0 {
		return -1
	}
	if j < len(msg) && msg[j] == ':' {
		if k := digits(msg, j+1, 2); k > 0 {
			j = k
			if j+1 < len(msg) && (msg[j] == '.' || msg[j] == ',') && isDigit(msg[j+1]) {
				j = run(msg, j+1, isDigit, 0)
			}
		} else if seconds {
			return -1
		}
	} else if seconds {
		return -1
	}
	return j
}

func matchISODate(msg string, i int) int {
	j := digits(msg, i, 4)
	if j < 0 || lit(msg, j, "-") < 0 {
		return -1
	}
	if j = digits(msg, j+1, 2); j < 0 || lit(msg, j, "-") < 0 {
		return -1
	}
	if j = digits(msg, j+1, 2); j < 0 {
		return -1
	}
	if j+1 < len(msg) && (msg[j] == 'T' || msg[j] == ' ') && isDigit(msg[j+1]) {
		if k := matchClock(msg, j+1, 2, false); k > 0 {
			j = k
			k = j
			if k < len(msg) && msg[k] == ' ' {
				k++
			}
			if e := matchZone(msg, k); e > 0 {
				j = e
				if j+2 < len(msg) && msg[j] == ' ' && isUpperRun(msg, j+1) {
					j = run(msg, j+1, isUpper, 5)
				}
			}
		}
	}
	if !endsWord(msg, j) && msg[j-1] != 'Z' {
		return -1
	}
	return j
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }

// isUpperRun reports 2 to 5 capitals at i, then a word boundary.
func isUpperRun(msg string, i int) bool {
	e := run(msg, i, isUpper, 0)
	return e-i >= 2 && e-i <= 5 && endsWord(msg, e)
}

// matchZone matches "Z" or "+hh:mm", "-hhmm".
func matchZone(msg string, i int) int {
	if i >= len(msg) {
		return -1
	}
	if msg[i] == 'Z' {
		return i + 1
	}
	if msg[i] != '+' && msg[i] != '-' {
		return -1
	}
	j := digits(msg, i+1, 2)
	if j < 0 {
		return -1
	}
	if j < len(msg) && msg[j] == ':' {
		j++
	}
	return digits(msg, j, 2)
}

func matchRFC1123(msg string, i int) int {
	j := oneOf(msg, i, weekdays)
	if j < 0 {
		return -1
	}
	if j < len(msg) && msg[j] == ',' {
		j++
	}
	if j = lit(msg, j, " "); j < 0 {
		return -1
	}
	k := run(msg, j, isDigit, 2)
	if k == j || lit(msg, k, " ") < 0 {
		return -1
	}
	if j = oneOf(msg, k+1, months); j < 0 || lit(msg, j, " ") < 0 {
		return -1
	}
	if j = digits(msg, j+1, 4); j < 0 {
		return -1
	}
	if j+1 < len(msg) && msg[j] == ' ' && isDigit(msg[j+1]) {
		if k := matchClock(msg, j+1, 2, false); k > 0 {
			j = k
		}
	}
	if j+1 < len(msg) && msg[j] == ' ' {
		if isUpperRun(msg, j+1) {
			j = run(msg, j+1, isUpper, 5)
		} else if e := matchZone(msg, j+1); e > 0 && msg[j+1] != 'Z' {
			j = e
		}
	}
	return j
}

func matchSyslog(msg string, i int) int {
	j := oneOf(msg, i, months)
	if j < 0 || j >= len(msg) || msg[j] != ' ' {
		return -1
	}
	for j < len(msg) && msg[j] == ' ' {
		j++
	}
	k := run(msg, j, isDigit, 2)
	if k == j {
		return -1
	}
	j = k
	if j < len(msg) && msg[j] == ',' {
		j++
	}
	if j = lit(msg, j, " "); j < 0 {
		return -1
	}
	if y := digits(msg, j, 4); y > 0 && lit(msg, y, " ") > 0 {
		j = y + 1
	}
	if e := matchClock(msg, j, 2, false); e > 0 && endsWord(msg, e) {
		return e
	}
	return -1
}

// number matches \d+(\.\d+)? at i.
func number(msg string, i int) int {
	j := run(msg, i, isDigit, 0)
	if j == i {
		return -1
	}
	if j+1 < len(msg) && msg[j] == '.' && isDigit(msg[j+1]) {
		j = run(msg, j+1, isDigit, 0)
	}
	return j
}

var (
	shortUnits = []string{"ns", "us", "µs", "ms", "s", "m", "h"}
	longUnits  = []string{"milliseconds", "millisecond", "seconds", "second", "secs", "sec",
		"minutes", "minute", "mins", "min", "hours", "hour", "days", "day"}
)

// matchDuration matches Go's durations ("1h2m3.5s", "250ms") and "30
// seconds".
func matchDuration(msg string, i int) int {
	if !isDigit(msg[i]) || !startsWord(msg, i) {
		return -1
	}
	j := i
	for n := 0; ; n++ {
		k := number(msg, j)
		if k < 0 {
			break
		}
		u := oneOf(msg, k, shortUnits)
		if u < 0 {
			break
		}
		j = u
		if j < len(msg) && isDigit(msg[j]) {
			continue
		}
		if endsWord(msg, j) {
			return j
		}
		break
	}
	k := number(msg, i)
	if k < len(msg) && msg[k] == ' ' {
		k++
	}
	if u := oneOf(msg, k, longUnits); u > 0 && endsWord(msg, u) {
		return u
	}
	return -1
}

// matchHex matches 0x… and runs of eight or more hex digits; Parameterize
// keeps those without a digit (words) and calls all-digit ones <int>.
func matchHex(msg string, i int) int {
	if !isHex(msg[i]) || !startsWord(msg, i) {
		return -1
	}
	if i+2 < len(msg) && msg[i] == '0' && (msg[i+1] == 'x' || msg[i+1] == 'X') && isHex(msg[i+2]) {
		if j := run(msg, i+2, isHex, 0); endsWord(msg, j) {
			return j
		}
	}
	j := run(msg, i, isHex, 0)
	if j-i >= 8 && endsWord(msg, j) {
		return j
	}
	return -1
}

// signed returns the start of the digits of a number at i: after a minus
// sign, or at a word boundary.
func signed(msg string, i int) int {
	if msg[i] == '-' && i+1 < len(msg) && isDigit(msg[i+1]) {
		return i + 1
	}
	if isDigit(msg[i]) && startsWord(msg, i) {
		return i
	}
	return -1
}

// matchFloat matches -?\d+\.\d+([eE][+-]?\d+)? between word boundaries.
func matchFloat(msg string, i int) int {
	d := signed(msg, i)
	if d < 0 {
		return -1
	}
	j := run(msg, d, isDigit, 0)
	if j+1 >= len(msg) || msg[j] != '.' || !isDigit(msg[j+1]) {
		return -1
	}
	j = run(msg, j+1, isDigit, 0)
	if j < len(msg) && (msg[j] == 'e' || msg[j] == 'E') {
		k := j + 1
		if k < len(msg) && (msg[k] == '+' || msg[k] == '-') {
			k++
		}
		if e := run(msg, k, isDigit, 0); e > k {
			j = e
		}
	}
	if !endsWord(msg, j) {
		return -1
	}
	return j
}

// matchInt matches -?\d+ between word boundaries.
func matchInt(msg string, i int) int {
	d := signed(msg, i)
	if d < 0 {
		return -1
	}
	j := run(msg, d, isDigit, 0)
	if !endsWord(msg, j) {
		return -1
	}
	return j
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
