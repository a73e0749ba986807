package errlog

import (
	"strings"
)

// This file is the second half of masking: values that are secrets
// whatever key they are under, recognised by their shape, as Sentry's
// data scrubber does. A deny-list of key names is never complete (a card
// number logged as "ref", a token in an error's text, a password in a
// connection URL), so every text that leaves the process is also scanned
// for:
//
//   - card numbers: 13 to 19 digits, optionally grouped by spaces or
//     dashes, with a card network's prefix and a valid Luhn check digit;
//   - PEM private keys (-----BEGIN … PRIVATE KEY----- to its END line);
//   - JSON Web Tokens (eyJ….eyJ….signature);
//   - bearer tokens ("Bearer <token>") and basic credentials ("Basic
//     <base64 of user:password>");
//   - AWS access key ids (AKIA…, ASIA…: 20 characters) and Google API keys
//     (AIza…: 39);
//   - the tokens of services that give them a prefix of their own, so that
//     scanners find them: GitHub (ghp_…, github_pat_…), GitLab (glpat-…),
//     Slack (xoxb-…), Stripe (sk_live_…, whsec_…), npm, PyPI, Hugging
//     Face, Sentry, Shopify, DigitalOcean, OpenAI and Anthropic (sk-…);
//   - the password of a URL (scheme://user:password@host), and its secret
//     query parameters (?api_key=…) and fragment parameters
//     (#access_token=…), by the rules of the request's query;
//   - the credentials of a command line ("--password x", "mysql -px",
//     "curl -u user:x"; flagmask.go).
//
// mayHoldSecret decides in one pass, without allocating, whether a text
// needs the scan at all; nearly every text does not.

// minSecretLen is the length of the shortest text that can hold one of the
// shapes above ("a://:p@h" has 8 bytes; a card number 13).
const minSecretLen = 8

// Classes of the bytes that can start or continue a recognised shape;
// every other byte is 0 and costs one table look-up.
const (
	clsDigit = 1 + iota
	clsSep   // ' ', a card number's group separator
	clsDash  // '-': a separator, or -----BEGIN
	clsColon // "://"
	clsE     // "eyJ"
	clsB     // "bearer"
	clsA     // "AKIA"…
	clsQuery // '?' or '#': a URL's query or fragment ("/p?sig=…"), when a '=' follows
	clsUnder // '_': the end of a token's prefix ("ghp_")
)

var secretByte = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = clsDigit
	}
	t[' '], t['-'], t[':'], t['e'], t['B'], t['b'], t['A'], t['?'], t['#'], t['_'] = clsSep, clsDash, clsColon, clsE, clsB, clsB, clsA, clsQuery, clsQuery, clsUnder
	return t
}()

// mayHoldSecret reports whether s may hold a secret of a recognised shape.
// A false answer is certain; a true one means scrub must look.
func (m *masker) mayHoldSecret(s string) bool {
	if len(s) < minSecretLen {
		return false
	}
	digits := 0    // digits in the current run of digits, spaces and dashes
	query := false // a '?' or '#' was seen (and no '=' after it, or this returned)
	for i := 0; i < len(s); i++ {
		switch secretByte[s[i]] {
		case 0:
			digits = 0
		case clsDigit:
			if digits++; digits >= 13 {
				return true
			}
		case clsSep:
			if digits == 0 {
				continue
			}
		case clsDash:
			if strings.HasPrefix(s[i:], "-----BEGIN") || i > 0 && beforeTokenEnd[s[i-1]] && tokenAt(s, i) > 0 || m.flagMayHoldSecret(s, i) {
				return true
			}
		case clsUnder:
			if i > 0 && beforeTokenEnd[s[i-1]] && tokenAt(s, i) > 0 {
				return true
			}
			digits = 0
		case clsColon:
			if i+2 < len(s) && s[i+1] == '/' && s[i+2] == '/' {
				return true
			}
			digits = 0
		case clsE:
			if i+2 < len(s) && s[i+1] == 'y' && s[i+2] == 'J' {
				return true
			}
			digits = 0
		case clsB:
			if len(s)-i >= 7 && strings.EqualFold(s[i:i+6], "bearer") || len(s)-i >= 14 && strings.EqualFold(s[i:i+6], "basic ") {
				return true
			}
			digits = 0
		case clsA:
			if awsKeyAt(s, i) || googleKeyAt(s, i) {
				return true
			}
			digits = 0
		case clsQuery:
			if !query {
				query = true
				if strings.IndexByte(s[i+1:], '=') >= 0 {
					return true
				}
			}
			digits = 0
		}
	}
	return false
}

// scrub returns s with every secret of a recognised shape replaced by the
// mask; s itself, without allocating, when it holds none.
func (m *masker) scrub(s string) string {
	if !m.mayHoldSecret(s) {
		return s
	}
	return m.shapes(s, true)
}

// shapes masks every secret of a recognised shape in s, and the queries of
// the URLs in it with queries.
func (m *masker) shapes(s string, queries bool) string {
	s = maskPEM(s, m.with)
	s = maskURLPasswords(s, m.with)
	if queries {
		s = m.maskURLQueries(s)
	}
	s = maskJWTs(s, m.with)
	s = maskBearer(s, m.with)
	s = maskBasic(s, m.with)
	s = maskAWSKeys(s, m.with)
	s = maskTokens(s, m.with)
	s = m.maskFlags(s)
	return maskCards(s, m.with)
}

// scrubValue is scrubText for a query parameter's decoded value, but for
// the queries of the URLs in it (maskParam): one level, not one per URL
// nested in another's query.
func (m *masker) scrubValue(s string) string {
	if m.mayHoldSecret(s) {
		s = m.shapes(s, false)
	}
	if m.namesSecret(s) {
		s = m.maskKeyValues(s)
	}
	return s
}

// scrubText is scrub for free text that may also name a secret: an
// error's text, a message, a string attr. "password=hunter2", "token: abc"
// and `"secret":"x"` have the value after a masked key replaced too.
func (m *masker) scrubText(s string) string {
	s = m.scrub(s)
	if m.namesSecret(s) {
		s = m.maskKeyValues(s)
	}
	return s
}

// namesSecret reports whether free text may name a secret before its
// value ("password=…", "token: …"): it has a '=' or ':' and mentions a
// mask key. Most texts have neither separator and cost two byte scans.
func (m *masker) namesSecret(s string) bool {
	return (strings.IndexByte(s, '=') >= 0 || strings.IndexByte(s, ':') >= 0) && m.mentionsKey(s)
}

// edits builds a text from s with spans of it replaced, each after the
// one before: one copy however many spans (replacing them one by one
// copied s each time, and a long text holding many secrets took seconds).
type edits struct {
	s    string
	b    strings.Builder
	last int // the end of the last span replaced
	n    int // spans replaced
}

// replace replaces s[i:j], which starts at or after the last span's end.
func (e *edits) replace(i, j int, with string) {
	if e.n == 0 {
		e.b.Grow(len(e.s) + len(with))
	}
	e.n++
	e.b.WriteString(e.s[e.last:i])
	e.b.WriteString(with)
	e.last = j
}

// result is s with the spans replaced; s itself when there was none.
func (e *edits) result() string {
	if e.n == 0 {
		return e.s
	}
	e.b.WriteString(e.s[e.last:])
	return e.b.String()
}

// maskPEM masks PEM private key blocks, from their BEGIN line to the end
// of their END line (or of the text, when it was cut before it).
func maskPEM(s, with string) string {
	ed := edits{s: s}
	from := 0
	for {
		i := strings.Index(s[from:], "-----BEGIN ")
		if i < 0 {
			return ed.result()
		}
		i += from
		hdrEnd := strings.Index(s[i+11:], "-----")
		if hdrEnd < 0 {
			return ed.result()
		}
		label := s[i+11 : i+11+hdrEnd]
		if !strings.HasSuffix(label, "PRIVATE KEY") {
			from = i + 11
			continue
		}
		j := len(s)
		if e := strings.Index(s[i:], "-----END "); e >= 0 {
			if k := strings.Index(s[i+e+9:], "-----"); k >= 0 {
				j = i + e + 9 + k + 5
			}
		}
		ed.replace(i, j, with)
		from = j
	}
}

// maskURLPasswords masks the password in every scheme://user:password@
// of s.
func maskURLPasswords(s, with string) string {
	ed := edits{s: s}
	from := 0
	for {
		i := strings.Index(s[from:], "://")
		if i < 0 {
			return ed.result()
		}
		i += from + 3
		from = i
		// The user info ends at '@', before any '/', '?', '#' or space.
		end := -1
		colon := -1
		for k := i; k < len(s); k++ {
			c := s[k]
			if c == '@' {
				end = k
				break
			}
			if c == '/' || c == '?' || c == '#' || c == ' ' || c == '\n' || c == '\t' || c == '"' || c == '\'' || c == '<' || c == '>' {
				break
			}
			if c == ':' && colon < 0 {
				colon = k
			}
		}
		if end < 0 || colon < 0 || colon+1 == end || s[colon+1:end] == with {
			continue
		}
		ed.replace(colon+1, end, with)
		from = end
	}
}

// maskURLQueries masks the secret parameters of the query of every URL
// in s, absolute (scheme://…?query) or from the root of a host
// (/path?query, as a request line or a redirect names it), by the rules
// of the request's query string (maskQuery: Mask.Keys and Mask.Params),
// keeping the others: "https://h/p?api_key=k&page=2" is
// "https://h/p?api_key=**************&page=2", and the parameters of its
// fragment alike (OAuth's "#access_token=…"). A URL ends at white space,
// a quote, '<', '>' or a backslash; a comma does not end it (a value may
// hold one), so that a secret value is never cut short.
func (m *masker) maskURLQueries(s string) string {
	ed := edits{s: s}
	for from := 0; ; {
		q := strings.IndexAny(s[from:], "?#")
		if q < 0 {
			return ed.result()
		}
		q += from
		start := q
		for start > from && !endsURL(s[start-1]) {
			start--
		}
		if u := s[start:q]; !strings.HasPrefix(u, "/") && !strings.Contains(u, "://") {
			from = q + 1
			continue
		}
		end := q + 1
		for end < len(s) && !endsURL(s[end]) {
			end++
		}
		from = end
		qe := q // the fragment's '#', or end
		if s[q] == '?' {
			qe = end
			if h := strings.IndexByte(s[q+1:end], '#'); h >= 0 {
				qe = q + 1 + h
			}
			if mq := m.maskQuery(s[q+1 : qe]); mq != s[q+1:qe] {
				ed.replace(q+1, qe, mq)
			}
		}
		// A fragment of parameters (OAuth's #access_token=…) by the same
		// rules.
		if qe < end && strings.IndexByte(s[qe+1:end], '=') >= 0 {
			if mf := m.maskQuery(s[qe+1 : end]); mf != s[qe+1:end] {
				ed.replace(qe+1, end, mf)
			}
		}
	}
}

// endsURL reports whether c ends a URL in free text.
func endsURL(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '`', '<', '>', '\\':
		return true
	}
	return false
}

func isB64URL(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// maskJWTs masks JSON Web Tokens: three base64url segments, the first two
// JSON objects (so starting with "eyJ").
func maskJWTs(s, with string) string {
	ed := edits{s: s}
	from := 0
	for {
		i := strings.Index(s[from:], "eyJ")
		if i < 0 {
			return ed.result()
		}
		i += from
		from = i + 3
		if i > 0 && isB64URL(s[i-1]) {
			continue
		}
		j, dots := i, 0
		for j < len(s) && (isB64URL(s[j]) || s[j] == '.') {
			if s[j] == '.' {
				dots++
			}
			j++
		}
		if dots != 2 {
			continue
		}
		second := strings.IndexByte(s[i:j], '.') + i + 1
		if !strings.HasPrefix(s[second:], "eyJ") {
			continue
		}
		ed.replace(i, j, with)
		from = j
	}
}

func isTokenByte(c byte) bool {
	return isB64URL(c) || c == '.' || c == '~' || c == '+' || c == '/' || c == '='
}

// maskBearer masks the token after "Bearer " (any case). A token is at
// least 16 characters, or 8 with a digit, so that "bearer authentication"
// is left alone.
func maskBearer(s, with string) string {
	ed := edits{s: s}
	for from := 0; from+6 < len(s); {
		i := indexFold(s[from:], "bearer")
		if i < 0 {
			return ed.result()
		}
		i += from
		from = i + 6
		if i > 0 && isWordByte(s[i-1]) {
			continue
		}
		j := i + 6
		if j >= len(s) || (s[j] != ' ' && s[j] != '\t' && s[j] != '=' && s[j] != ':') {
			continue
		}
		for j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '=' || s[j] == ':') {
			j++
		}
		k, digit := j, false
		for k < len(s) && isTokenByte(s[k]) {
			digit = digit || isDigit(s[k])
			k++
		}
		if n := k - j; n < 8 || n < 16 && !digit || s[j:k] == with {
			continue
		}
		ed.replace(j, k, with)
		from = k
	}
	return ed.result()
}

// indexFold is strings.Index ignoring case, for a lower-case ASCII sub.
// Only where sub's first byte is, in either case, is the text compared: a
// window of len(sub) bytes that folds to ASCII is ASCII. Each case's next
// position is found by strings.IndexByte, and kept until passed. Compared
// at every position, a 400 KB value took the caller of slog.Error 7.5 ms
// with the masker's four searches.
func indexFold(s, sub string) int {
	if len(sub) == 0 {
		return 0
	}
	lo, up := sub[0], sub[0]
	if 'a' <= lo && lo <= 'z' {
		up = lo - ('a' - 'A')
	}
	last := len(s) - len(sub) // the last position sub can start at
	nextLo, nextUp := -1, -1  // the next position of each, at or after i; -1 to look
	for i := 0; i <= last; {
		if nextLo < i && nextLo != len(s) {
			nextLo = nextIndex(s, i, lo)
		}
		if nextUp < i && nextUp != len(s) {
			nextUp = nextIndex(s, i, up)
		}
		j := min(nextLo, nextUp)
		if j > last {
			return -1
		}
		if strings.EqualFold(s[j:j+len(sub)], sub) {
			return j
		}
		i = j + 1
	}
	return -1
}

// nextIndex is the position of the first c in s at or after from, len(s)
// when there is none.
func nextIndex(s string, from int, c byte) int {
	if j := strings.IndexByte(s[from:], c); j >= 0 {
		return from + j
	}
	return len(s)
}

// awsPrefixes are the prefixes of AWS access key ids (and of the other
// unique ids of IAM) that are credentials.
var awsPrefixes = [...]string{"AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AIPA", "ANPA", "ANVA", "AROA", "APKA"}

// awsKeyAt reports whether an AWS access key id starts at s[i]: a prefix
// and 16 upper-case letters or digits, not inside a longer word.
func awsKeyAt(s string, i int) bool {
	if len(s)-i < 20 || i > 0 && isWordByte(s[i-1]) {
		return false
	}
	ok := false
	for _, p := range awsPrefixes {
		if s[i:i+4] == p {
			ok = true
			break
		}
	}
	if !ok {
		return false
	}
	for k := i + 4; k < i+20; k++ {
		if c := s[k]; !isUpper(c) && !isDigit(c) {
			return false
		}
	}
	return i+20 == len(s) || !isWordByte(s[i+20])
}

func maskAWSKeys(s, with string) string {
	ed := edits{s: s}
	for i := 0; i+20 <= len(s); i++ {
		if s[i] != 'A' {
			continue
		}
		if awsKeyAt(s, i) {
			ed.replace(i, i+20, with)
			i += 19
		} else if googleKeyAt(s, i) {
			ed.replace(i, i+39, with)
			i += 38
		}
	}
	return ed.result()
}

// maskCards masks card numbers: runs of 13 to 19 digits, grouped or not by
// single spaces or dashes, that start with a card network's prefix and
// pass the Luhn check. Longer runs of digits (ids, timestamps) are left.
func maskCards(s, with string) string {
	ed := edits{s: s}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) || i > 0 && (isWordByte(s[i-1]) || s[i-1] == '.') {
			continue
		}
		var digits [19]byte
		n, j, end := 0, i, i
		for j < len(s) {
			c := s[j]
			if isDigit(c) {
				if n == len(digits) {
					n++ // too long: not a card
					break
				}
				digits[n] = c
				n++
				j++
				end = j
				continue
			}
			if (c == ' ' || c == '-') && j+1 < len(s) && isDigit(s[j+1]) && isDigit(s[j-1]) {
				j++
				continue
			}
			break
		}
		if n >= 13 && n <= 19 && (end == len(s) || !isWordByte(s[end])) && cardPrefix(digits[:n]) && luhn(digits[:n]) {
			ed.replace(i, end, with)
			i = end - 1
			continue
		}
		i = max(i, end-1)
	}
	return ed.result()
}

// cardPrefix reports whether d starts as a card of a major network does,
// with a length that network issues.
func cardPrefix(d []byte) bool {
	n := len(d)
	p2 := int(d[0]-'0')*10 + int(d[1]-'0')
	p4 := p2*100 + int(d[2]-'0')*10 + int(d[3]-'0')
	switch {
	case d[0] == '4': // Visa
		return n == 13 || n == 16 || n == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720: // Mastercard
		return n == 16
	case p2 == 34 || p2 == 37: // American Express
		return n == 15
	case p4 == 6011, p2 == 65, p4 >= 6440 && p4 <= 6499: // Discover
		return n >= 16
	case p2 == 35: // JCB
		return n >= 16
	case p2 == 36 || p2 == 38 || p2 == 39 || p4 >= 3000 && p4 <= 3059: // Diners Club
		return n >= 14
	case p2 == 62: // UnionPay
		return n >= 16
	}
	return false
}

// luhn reports whether the digits pass the Luhn check.
func luhn(d []byte) bool {
	sum := 0
	for i := range d {
		x := int(d[len(d)-1-i] - '0')
		if i%2 == 1 {
			if x *= 2; x > 9 {
				x -= 9
			}
		}
		sum += x
	}
	return sum%10 == 0
}

// maskKeyValues masks, in free text, the value after a masked key:
// "password=hunter2", "token: abc", `"secret": "x"`, "pwd='x'". The
// value ends at white space, a quote, '&', ',', ';' or a closing bracket.
func (m *masker) maskKeyValues(s string) string {
	ed := edits{s: s}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '=' && c != ':' {
			continue
		}
		if c == ':' && strings.HasPrefix(s[i:], "://") {
			continue
		}
		// The key: the word before the separator, past spaces and a
		// closing quote ("password = x", `"token" : "x"`), and after the
		// last value masked (a value is no key).
		k := i
		for k > ed.last && i-k < 4 && (s[k-1] == ' ' || s[k-1] == '\t') {
			k--
		}
		if k > ed.last && (s[k-1] == '"' || s[k-1] == '\'') {
			k--
		}
		ke := k
		for k > ed.last && (isWordByte(s[k-1]) || s[k-1] == '-' || s[k-1] == '_' || s[k-1] == '.') {
			k--
		}
		if k == ke || !m.hides(catNone, s[k:ke]) {
			continue
		}
		// The value: past spaces and an opening quote.
		v := i + 1
		for v < len(s) && (s[v] == ' ' || s[v] == '\t') {
			v++
		}
		var quote byte
		if v < len(s) && (s[v] == '"' || s[v] == '\'') {
			quote = s[v]
			v++
		}
		e := v
		for e < len(s) {
			c := s[e]
			if quote != 0 && c == quote || quote == 0 && (c == ' ' || c == '\t' || c == '\n' || c == '"' || c == '\'' || c == '&' || c == ',' || c == ';' || c == ')' || c == '}' || c == ']') {
				break
			}
			e++
		}
		if e == v || s[v:e] == m.with || m.proseWord(s[v:e]) {
			continue
		}
		// "Authorization: Basic …", "Proxy-Authorization: Digest
		// username=…, response=…": the scheme is kept, and its
		// credentials are the rest of the line (after an authorization
		// key only: "auth: token expired for ann" is prose).
		if quote == 0 && e < len(s) && (s[e] == ' ' || s[e] == '\t') && authScheme(s[v:e]) && indexFold(s[k:ke], "authorization") >= 0 {
			v = e + 1
			for e = v; e < len(s) && s[e] != '\n' && s[e] != '\r'; e++ {
			}
			if e == v || s[v:e] == m.with {
				i = e - 1
				continue
			}
		}
		ed.replace(v, e, m.with)
		i = e - 1
	}
	return ed.result()
}

// proseWord reports whether the value after a mask key is a word of prose
// that says how the secret is, not what it is ("auth: failed",
// "token: expired.", "checking token: OK", "auth: token expired"): a word
// of proseWords, or a mask key's own name, with a final '.', '!' or ':'.
// A credential that is one of these words is not one.
func (m *masker) proseWord(v string) bool {
	v = strings.TrimRight(v, ".!:")
	if len(v) == 0 || len(v) > 12 {
		return false
	}
	var buf [12]byte
	for i := 0; i < len(v); i++ {
		c := v[i]
		if isUpper(c) {
			c += 'a' - 'A'
		} else if !isLower(c) && c != '\'' {
			return false
		}
		buf[i] = c
	}
	return proseWords[string(buf[:len(v)])] || m.matchKey(v)
}

// proseWords follow a mask key in log messages where no secret does.
var proseWords = func() map[string]bool {
	t := map[string]bool{}
	for _, w := range strings.Fields(`failed failure fails expired expires invalid missing denied ok none null
nil empty required rejected revoked refreshed rotated not no yes the a an is was are attempt error
errors timeout unauthorized forbidden true false unknown disabled enabled valid set unset changed
updated reset mismatch incorrect wrong accepted granted ignored skipped pending success succeeded
done started retrying retry too has have had for of from to in on with without using via by must
should cannot can't could will would`) {
		t[w] = true
	}
	return t
}()

// A tokenPrefix is the prefix a service gives its secret tokens, and the
// least number of token characters after it (fewer is a name that starts
// alike: "sk-learn", "hf_home").
type tokenPrefix struct {
	p    string
	tail int
	// alnum: the token is letters and digits only, so that a snake_case
	// name after the prefix (npm_config_…, hf_hub_download) is none.
	alnum bool
	// mixed: the tail has a digit and an upper-case letter (sk-learn-…
	// has neither).
	mixed bool
}

// tokenPrefixes are the prefixes of secret tokens, by their last byte
// ('_' is 0, '-' 1) and the one before it, so that a '_' in a text is
// checked against one or two.
var tokenPrefixes = func() (t [2][256][]tokenPrefix) {
	for _, p := range []tokenPrefix{
		{"ghp_", 30, true, false}, {"gho_", 30, true, false}, {"ghu_", 30, true, false}, {"ghs_", 30, true, false}, {"ghr_", 30, true, false}, {"github_pat_", 30, false, false}, // GitHub
		{"glpat-", 20, false, false}, {"gldt-", 20, false, false}, {"glrt-", 20, false, false}, // GitLab
		{"xoxb-", 10, false, false}, {"xoxp-", 10, false, false}, {"xoxa-", 10, false, false}, {"xoxr-", 10, false, false}, {"xoxs-", 10, false, false}, {"xoxe-", 10, false, false}, {"xapp-", 10, false, false}, // Slack
		{"sk_live_", 16, true, false}, {"rk_live_", 16, true, false}, {"sk_test_", 16, true, false}, {"rk_test_", 16, true, false}, {"whsec_", 24, true, false}, // Stripe
		{"npm_", 30, true, false}, {"pypi-", 50, false, false}, {"hf_", 30, true, false}, // npm, PyPI, Hugging Face
		{"sntrys_", 30, false, false}, {"sntryu_", 30, true, false}, // Sentry
		{"shpat_", 30, true, false}, {"shpss_", 30, true, false}, {"shpca_", 30, true, false}, {"shppa_", 30, true, false}, // Shopify
		{"dop_v1_", 32, true, false}, {"doo_v1_", 32, true, false}, // DigitalOcean
		{"sk-", 32, false, true}, // OpenAI (sk-proj-…), Anthropic (sk-ant-…)
	} {
		last, before := 0, p.p[len(p.p)-2]
		if p.p[len(p.p)-1] == '-' {
			last = 1
		}
		t[last][before] = append(t[last][before], p)
	}
	return t
}()

// beforeTokenEnd holds the bytes that come before the '_' or '-' ending a
// token's prefix: mayHoldSecret's test before tokenAt's.
var beforeTokenEnd = func() (t [256]bool) {
	for c := range t {
		t[c] = tokenPrefixes[0][c] != nil || tokenPrefixes[1][c] != nil
	}
	return t
}()

// tokenAt reports where the token whose prefix ends at s[i] (its '_' or
// '-') ends, or 0 when none does: the prefix starts a word, and at least
// its tail of token characters follow.
func tokenAt(s string, i int) int {
	if i == 0 {
		return 0
	}
	last := 0
	if s[i] == '-' {
		last = 1
	}
	for _, p := range tokenPrefixes[last][s[i-1]] {
		start := i + 1 - len(p.p)
		if start < 0 || s[start:i+1] != p.p || !wordStart(s, start) {
			continue
		}
		j, digit, upper := i+1, false, false
		for j < len(s) && (isAlnum(s[j]) || !p.alnum && (s[j] == '-' || s[j] == '_')) {
			digit, upper = digit || isDigit(s[j]), upper || isUpper(s[j])
			j++
		}
		if j-(i+1) >= p.tail && (!p.mixed || digit && upper) && (j == len(s) || !isB64URL(s[j])) {
			return j
		}
	}
	return 0
}

// wordStart reports whether s[i] starts a word: the text's start, a byte
// no token holds, or an escape ("\\n", "%20": JSON or URL-encoded text
// glues a token to it).
func wordStart(s string, i int) bool {
	switch {
	case i == 0 || !isB64URL(s[i-1]):
		return true
	case i >= 2 && s[i-2] == '\\' && (s[i-1] == 'n' || s[i-1] == 't' || s[i-1] == 'r'):
		return true
	case i >= 3 && s[i-3] == '%' && isHex(s[i-2]) && isHex(s[i-1]):
		return true
	}
	return false
}

func isHex(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// maskTokens masks the part after the prefix of every prefixed token
// (tokenPrefixes): "ghp_**************" still says what leaked.
func maskTokens(s, with string) string {
	ed := edits{s: s}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '_' && c != '-' {
			continue
		}
		if j := tokenAt(s, i); j > 0 {
			ed.replace(i+1, j, with)
			i = j - 1
		}
	}
	return ed.result()
}

// googleKeyAt reports whether a Google API key starts at s[i]: "AIza" and
// 35 base64url characters, not inside a longer word.
func googleKeyAt(s string, i int) bool {
	const n = 39
	if len(s)-i < n || s[i:i+4] != "AIza" || !wordStart(s, i) {
		return false
	}
	for k := i + 4; k < i+n; k++ {
		if !isB64URL(s[k]) {
			return false
		}
	}
	return i+n == len(s) || !isB64URL(s[i+n])
}

// maskBasic masks the credentials after "Basic " (any case): a base64
// text of at least 8 characters that decodes to "user:password". The
// decoding check leaves "basic validation" and "Basic auth failed" alone.
func maskBasic(s, with string) string {
	ed := edits{s: s}
	for from := 0; from+6 < len(s); {
		i := indexFold(s[from:], "basic ")
		if i < 0 {
			break
		}
		i += from
		from = i + 6
		if i > 0 && isWordByte(s[i-1]) {
			continue
		}
		j := i + 6
		k := j
		for k < len(s) && (isAlnum(s[k]) || s[k] == '+' || s[k] == '/' || s[k] == '=') {
			k++
		}
		if k-j < 8 || k < len(s) && isWordByte(s[k]) || !credentials(s[j:k]) {
			continue
		}
		ed.replace(j, k, with)
		from = k
	}
	return ed.result()
}

// credentials reports whether b64 is the base64 of "user:password":
// text with a colon and no control character but tab (RFC 7617 allows
// UTF-8). It decodes as it reads, without
// allocating.
func credentials(b64 string) bool {
	b64 = strings.TrimRight(b64, "=")
	if len(b64)%4 == 1 {
		return false
	}
	colon := false
	var acc uint32
	for i := 0; i < len(b64); i++ {
		v := b64Value(b64[i])
		if v < 0 {
			return false
		}
		acc = acc<<6 | uint32(v)
		if i%4 == 3 || i == len(b64)-1 {
			n := i%4 + 1                 // characters in this group
			bits := uint(6 * n)          // of which whole bytes:
			for k := n - 1; k > 0; k-- { // n-1 bytes
				c := byte(acc >> (bits - 8*uint(n-k)))
				if c < ' ' && c != '\t' || c == 0x7f {
					return false
				}
				colon = colon || c == ':'
			}
			acc = 0
		}
	}
	return colon
}

// b64Value is the value of a standard base64 character, or -1.
func b64Value(c byte) int {
	switch {
	case isUpper(c):
		return int(c - 'A')
	case isLower(c):
		return int(c-'a') + 26
	case isDigit(c):
		return int(c-'0') + 52
	case c == '+':
		return 62
	case c == '/':
		return 63
	}
	return -1
}

func isAlnum(c byte) bool { return isLower(c) || isUpper(c) || isDigit(c) }

// authScheme reports whether w names an HTTP authentication scheme, whose
// credentials follow it.
func authScheme(w string) bool {
	for _, a := range [...]string{"basic", "bearer", "digest", "token", "negotiate", "ntlm", "hoba", "mutual", "vapid", "scram-sha-1", "scram-sha-256", "aws4-hmac-sha256", "apikey"} {
		if strings.EqualFold(w, a) {
			return true
		}
	}
	return false
}
