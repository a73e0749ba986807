package errlog

import "strings"

// Credentials on a command line: an error that quotes the command it ran
// ("mysqldump -uapp -pS3cr3t shop: exit status 2", "curl -u admin:hunter2
// https://…", "vault login -token s.abc") carries them in shapes that
// name no key with '=' or ':'. maskFlags masks:
//
//   - the value after a flag whose name is a mask key ("--password
//     hunter2", "-token abc", "--client-secret=x"), but not a flag that
//     names where a secret is or how it is given, or counts something
//     ("--password-file f", "--password-stdin", "--token-url u",
//     "--no-password", "--max-tokens 4096"), nor a next word shaped as
//     a flag ("--host", "-U"; flagShaped);
//   - mysql's (mysqldump's…), mariadb's and sshpass's "-pSECRET",
//     sshpass's "-p SECRET" and redis-cli's "-a SECRET";
//   - curl's "-u user:password", "-uuser:password", "--user=…" (and
//     --proxy-user, -U): the password;
//   - htpasswd's password with -b ("htpasswd -bc file user password",
//     "htpasswd -nb user password").
//
// Arguments may be quoted one by one, as %q of a []string and JSON print
// them ("--password" "hunter2"; escaped: \"--password\" \"hunter2\"), and
// a quoted value never closed (a text cut short) is masked to the end of
// its line. Those of the tools are masked only on a line that names the
// tool as a word: "-p" is a port, "-a" all and "-u" a user elsewhere.

// flagAt reports whether s[i] ('-') starts a flag: at the start of s or
// after white space or an opening quote. It returns the flag's name (up
// to '=', white space or a quote) and where it ends.
func flagAt(s string, i int) (name string, end int, ok bool) {
	if i > 0 {
		if c := s[i-1]; c != ' ' && c != '\t' && c != '\n' && c != '"' && c != '\'' && c != '[' && c != '(' {
			return "", 0, false
		}
	}
	n := i + 1
	if n < len(s) && s[n] == '-' {
		n++
	}
	e := n
	for e < len(s) && (isWordByte(s[e]) || s[e] == '-' || s[e] == '_' || s[e] == '.') {
		e++
	}
	if e == n || !isWordByte(s[n]) {
		return "", 0, false
	}
	return s[n:e], e, true
}

// flagMayHoldSecret is mayHoldSecret's test of a flag at s[i]: its name
// is a mask key's (the masker's keys, so a key the user added too), or
// it is a tool's short flag on the tool's line. maskFlags decides.
func (m *masker) flagMayHoldSecret(s string, i int) bool {
	name, _, ok := flagAt(s, i)
	if !ok {
		return false
	}
	if m.secretFlag(name) {
		return true
	}
	if s[i+1] != '-' && htpasswdBatch(name) && toolInCommand(s, i, "htpasswd") {
		return true
	}
	switch name[0] {
	case 'p':
		return toolOnLine(s, i, "mysql", "mariadb", "sshpass")
	case 'a':
		return toolOnLine(s, i, "redis-cli")
	case 'u', 'U':
		return toolOnLine(s, i, "curl")
	}
	return false
}

// toolOnLine reports whether the line of s before i names one of tools
// as a word: at its start, or after a path's '/', and followed by what
// cannot continue a name ("mysql-backup.sh" and "mysql-01" are not
// mysql; "mysqldump", "mysqladmin" and "mysql.exe" are).
func toolOnLine(s string, i int, tools ...string) bool {
	return toolIn(s[strings.LastIndexByte(s[:i], '\n')+1:i], tools...)
}

// toolInCommand is toolOnLine within the command s[i] is part of: from
// the last ';', '|' or '&' before it ("htpasswd -c f u; sort -b x" is
// not htpasswd's -b).
func toolInCommand(s string, i int, tools ...string) bool {
	return toolIn(s[strings.LastIndexAny(s[:i], "\n;|&")+1:i], tools...)
}

func toolIn(line string, tools ...string) bool {
	for _, t := range tools {
		for from := 0; ; {
			j := strings.Index(line[from:], t)
			if j < 0 {
				break
			}
			j += from
			from = j + len(t)
			if j > 0 && (isWordByte(line[j-1]) || line[j-1] == '-' || line[j-1] == '.' || line[j-1] == '_') {
				continue
			}
			if from < len(line) {
				c := line[from]
				if exe := strings.HasPrefix(line[from:], ".exe"); exe && (from+4 == len(line) || !isWordByte(line[from+4])) {
					return true
				}
				if c == '-' || c == '.' || c == '_' || isWordByte(c) && (t != "mysql" || c >= '0' && c <= '9') {
					continue
				}
			}
			return true
		}
	}
	return false
}

// flagNotSecret are the ends of flag names that say where a secret is or
// how it is given, not what it is.
var flagNotSecret = [...]string{"file", "path", "dir", "stdin", "prompt", "env", "cmd", "command", "url", "uri",
	"endpoint", "type", "method", "mode", "name", "id", "length", "ttl", "expiry", "header", "policy", "store",
	"count", "limit", "size", "provider", "helper", "tokenizer"}

// flagNotSecretPrefix are the starts of flag names that count or bound
// what follows ("--max-tokens 4096").
var flagNotSecretPrefix = [...]string{"no-", "no_", "max-", "max_", "min-", "min_", "num-", "num_"}

// secretFlag says whether a flag so named takes a secret as its value.
func (m *masker) secretFlag(name string) bool {
	if len(name) > 40 || !m.matchKey(name) {
		return false
	}
	lower := strings.ToLower(name)
	for _, p := range flagNotSecretPrefix {
		if strings.HasPrefix(lower, p) {
			return false
		}
	}
	for _, end := range flagNotSecret {
		if strings.HasSuffix(lower, end) {
			return false
		}
	}
	return true
}

// flagValue returns where the value after the flag at s[i:e] starts and
// ends: past '=' or white space, within quotes if it is quoted; when the
// flag is quoted on its own, the next quoted item (`"--password"
// "hunter2"`, as %q prints a command's arguments, or JSON's
// `"--password","hunter2"`). ok is false when nothing follows, or
// another flag does.
func flagValue(s string, i, e int) (v, ve int, ok bool) {
	if q := quoteBefore(s, i); q != "" && strings.HasPrefix(s[e:], q) {
		v = e + len(q)
		for v < len(s) && (s[v] == ' ' || s[v] == '\t' || s[v] == ',') {
			v++
		}
		if !strings.HasPrefix(s[v:], q) || v+len(q) < len(s) && s[v+len(q)] == '-' && flagShaped(s, v+len(q)) {
			return 0, 0, false
		}
		return valueAt(s, v)
	}
	if e < len(s) && s[e] == '=' {
		return valueAt(s, e+1)
	}
	v = e
	for v < len(s) && (s[v] == ' ' || s[v] == '\t') {
		v++
	}
	if v == e || v == len(s) || s[v] == '\n' || s[v] == '-' && flagShaped(s, v) {
		return 0, 0, false
	}
	return valueAt(s, v)
}

// flagShaped reports whether the word at s[v] ('-') reads as the next
// flag rather than the value of the one before: "--host", "--host=db",
// "-U", "-xv", a short flag with a number glued to it ("-p5432", "-j4"),
// or "-" or "--" alone. Anything else starting with '-' is the value: a
// password or an URL-safe base64 token may start with it, and Go's flag
// package and getopt both take the next word as a required value whatever
// it starts with ("-token -Yx9_aQ7", "--password -hunter2x").
func flagShaped(s string, v int) bool {
	// word: the word ends at s[j] (white space, a quote, the end).
	word := func(j int) bool {
		return j == len(s) || strings.IndexByte(" \t\r\n\"'", s[j]) >= 0 || escapedQuoteAt(s, j)
	}
	lower := func(j int) bool { return j < len(s) && s[j] >= 'a' && s[j] <= 'z' }
	digit := func(j int) bool { return j < len(s) && s[j] >= '0' && s[j] <= '9' }
	j := v + 1
	if j < len(s) && s[j] == '-' {
		j++
		if !lower(j) {
			return word(j) // "--" alone
		}
		for lower(j) || digit(j) || j < len(s) && s[j] == '-' {
			j++
		}
		return word(j) || s[j] == '='
	}
	letters := 0
	for j < len(s) && (lower(j) || s[j] >= 'A' && s[j] <= 'Z') && letters < 3 {
		j++
		letters++
	}
	switch {
	case letters == 0:
		return word(j) // "-" alone
	case letters == 1 && digit(j):
		for digit(j) {
			j++
		}
		return word(j)
	case letters <= 2:
		return word(j) || s[j] == '='
	}
	return false
}

// quoteBefore returns the quote that opens the item at s[i] (" or ', or
// \" and \' in an escaped string); "" when none does.
func quoteBefore(s string, i int) string {
	if i == 0 || s[i-1] != '"' && s[i-1] != '\'' {
		return ""
	}
	if i >= 2 && s[i-2] == '\\' {
		return s[i-2 : i]
	}
	return s[i-1 : i]
}

// escapedQuoteAt reports whether s[j:] starts with \" or \'.
func escapedQuoteAt(s string, j int) bool {
	return s[j] == '\\' && j+1 < len(s) && (s[j+1] == '"' || s[j+1] == '\'')
}

// valueAt returns the bounds of the value starting at v: to the matching
// quote if it opens with one (\" to the next \"), or to the end of the
// line if that quote is never closed (a text cut short); else to white
// space, a quote, or a comma that ends a clause (", " or at the end: a
// password may hold one).
func valueAt(s string, v int) (int, int, bool) {
	if v >= len(s) {
		return 0, 0, false
	}
	q := ""
	if c := s[v]; c == '"' || c == '\'' {
		q = s[v : v+1]
	} else if escapedQuoteAt(s, v) {
		q = s[v : v+2]
	}
	ve := v
	if q != "" {
		v += len(q)
		if j := strings.Index(s[v:], q); j >= 0 {
			return v, v + j, j > 0
		}
		for ve = v; ve < len(s) && s[ve] != '\n' && s[ve] != '\r'; ve++ {
		}
		return v, ve, ve > v
	}
	for ve < len(s) && s[ve] != ' ' && s[ve] != '\t' && s[ve] != '\n' && s[ve] != '\r' && s[ve] != '"' && s[ve] != '\'' && !escapedQuoteAt(s, ve) &&
		!(s[ve] == ',' && (ve+1 == len(s) || s[ve+1] == ' ' || s[ve+1] == '\n')) {
		ve++
	}
	return v, ve, ve > v
}

// htpasswdBatch reports whether a short flag so named is htpasswd's -b
// (batch: the password is an argument), alone or among others ("-bc",
// "-nbB"), and not with -i (read from standard input) or -D (delete).
func htpasswdBatch(name string) bool {
	if len(name) > 8 {
		return false
	}
	batch := false
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == 'b':
			batch = true
		case c == 'i' || c == 'D' || !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'):
			return false
		}
	}
	return batch
}

// htpasswdPassword finds, after htpasswd's flags at s[i:e], its
// password: the third argument (file, user, password), the second with
// -n (no file). Its flags -C and -r take a value (the next word when
// the cluster ends with them: "-bC 10"). It stops at the end of the
// command (a new line, ';', '|', '&', a closing bracket).
func htpasswdPassword(s string, i, e int, noFile bool) (v, ve int, ok bool) {
	skipValue := strings.IndexByte("Cr", s[e-1]) >= 0
	if q := quoteBefore(s, i); q != "" && strings.HasPrefix(s[e:], q) {
		e += len(q) // the flag quoted on its own: past its closing quote
	}
	want := 3
	if noFile {
		want = 2
	}
	for j := e; j < len(s); {
		switch c := s[j]; c {
		case ' ', '\t', ',':
			j++
			continue
		case '\n', '\r', ']', ';', '|', '&', ')':
			return 0, 0, false
		}
		start := j
		v, ve, ok = valueAt(s, j)
		quoted := v > start
		last := false // the word ends the command
		if !quoted {
			if k := strings.IndexAny(s[v:ve], ";|&])"); k >= 0 {
				ve, last = v+k, true
			}
		}
		switch {
		case !ok && quoted && strings.HasPrefix(s[v:], s[start:v]):
			// An empty quoted item: an argument (an empty file name).
			j = v + (v - start)
			if want--; want == 0 {
				return 0, 0, false
			}
			continue
		case !ok || ve == v:
			return 0, 0, false
		}
		j = ve
		if quoted {
			j += v - start // past the closing quote
		}
		switch {
		case skipValue:
			skipValue = false
		case s[v] == '-' && (flagShaped(s, v) || htpasswdFlags(s[v+1:ve])):
			skipValue = strings.IndexByte("Cr", s[ve-1]) >= 0
		default:
			if want--; want == 0 {
				return v, ve, true
			}
		}
		if last {
			return 0, 0, false
		}
	}
	return 0, 0, false
}

// htpasswdFlags reports whether f (after its '-') is a cluster of
// htpasswd's options.
func htpasswdFlags(f string) bool {
	if f == "" || len(f) > 8 {
		return false
	}
	for i := 0; i < len(f); i++ {
		if strings.IndexByte("bcnmBdspiDv25Cr", f[i]) < 0 {
			return false
		}
	}
	return true
}

// maskFlags masks the credentials of the command lines in s.
func (m *masker) maskFlags(s string) string {
	if !strings.Contains(s, "-") {
		return s
	}
	ed := edits{s: s}
	for i := 0; i < len(s); i++ {
		if s[i] != '-' || i < ed.last {
			continue
		}
		name, e, ok := flagAt(s, i)
		if !ok {
			continue
		}
		long := e-len(name)-i == 2
		// glued: "-pS3cr3t", the value right after a short flag's
		// letter (a password may hold any byte the name stopped at),
		// but not the quote that closes a flag quoted on its own.
		glued := !long && i+2 < len(s) && s[i+2] != ' ' && s[i+2] != '\t' && s[i+2] != '\n' && s[i+2] != '=' &&
			!(quoteBefore(s, i) != "" && strings.HasPrefix(s[i+2:], quoteBefore(s, i)))
		var v, ve int
		switch {
		case m.secretFlag(name):
			if v, ve, ok = flagValue(s, i, e); !ok {
				continue
			}
			if m.proseWord(s[v:ve]) {
				continue
			}
		case glued && name[0] == 'p' && toolOnLine(s, i, "mysql", "mariadb", "sshpass"):
			if v, ve, ok = valueAt(s, i+2); !ok {
				continue
			}
		case !long && htpasswdBatch(name) && toolInCommand(s, i, "htpasswd"):
			if v, ve, ok = htpasswdPassword(s, i, e, strings.IndexByte(name, 'n') >= 0); !ok {
				continue
			}
		case !long && (name == "p" && toolOnLine(s, i, "sshpass") || name == "a" && toolOnLine(s, i, "redis-cli")):
			if v, ve, ok = flagValue(s, i, e); !ok {
				continue
			}
		case (!long && (name[0] == 'u' || name[0] == 'U') || long && (name == "user" || name == "proxy-user")) && toolOnLine(s, i, "curl"):
			if glued && !long {
				v, ve, ok = valueAt(s, i+2)
			} else {
				v, ve, ok = flagValue(s, i, e)
			}
			if !ok {
				continue
			}
			c := strings.IndexByte(s[v:ve], ':')
			if c < 0 {
				continue // the password is prompted for
			}
			v += c + 1
			if v == ve {
				continue
			}
		default:
			continue
		}
		if s[v:ve] == m.with {
			continue
		}
		ed.replace(v, ve, m.with)
		i = ve - 1
	}
	return ed.result()
}
