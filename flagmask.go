package errlog

import "strings"

// Credentials on a command line: an error that quotes the command it ran
// ("mysqldump -uapp -pS3cr3t shop: exit status 2", "curl -u admin:hunter2
// https://…", "vault login -token s.abc") carries them in shapes that
// name no key with '=' or ':'. maskFlags masks:
//
//   - the value after a flag whose name is a mask key ("--password
//     hunter2", "-token abc", "--client-secret x"), but not a flag that
//     names where a secret is or how it is given ("--password-file f",
//     "--password-stdin", "--token-url u", "--no-password"), nor a value
//     that is another flag;
//   - mysql's, mariadb's and sshpass's "-pSECRET", sshpass's "-p SECRET"
//     and redis-cli's "-a SECRET";
//   - curl's "-u user:password" (--user, --proxy-user, -U): the password.
//
// Those of the tools are masked only on a line that names the tool: "-p"
// is a port, "-a" all and "-u" a user elsewhere. ("--password=x" is
// maskKeyValues'.)

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
// mentions a secret, or it is a tool's short flag on the tool's line.
// maskFlags decides.
func flagMayHoldSecret(s string, i int) bool {
	name, _, ok := flagAt(s, i)
	if !ok {
		return false
	}
	if len(name) >= 3 {
		for _, w := range [...]string{"pass", "pwd", "secret", "token", "auth", "key", "cred"} {
			if indexFold(name, w) >= 0 {
				return true
			}
		}
	}
	switch name[0] {
	case 'p', 'a', 'u', 'U':
		return toolOnLine(s, i) != ""
	}
	return name == "user" || name == "proxy-user"
}

// toolOnLine names the tool among mysql, mariadb, sshpass, redis-cli and
// curl that s names on the line before i; "" for none.
func toolOnLine(s string, i int) string {
	line := s[strings.LastIndexByte(s[:i], '\n')+1 : i]
	for _, t := range [...]string{"mysql", "mariadb", "sshpass", "redis-cli", "curl"} {
		if strings.Contains(line, t) {
			return t
		}
	}
	return ""
}

// flagNotSecret are the ends of flag names that say where a secret is or
// how it is given, not what it is.
var flagNotSecret = [...]string{"file", "path", "dir", "stdin", "prompt", "env", "cmd", "command", "url", "uri",
	"endpoint", "type", "method", "mode", "name", "id", "length", "ttl", "expiry", "header", "policy", "store"}

// secretFlag says whether a flag so named takes a secret as its value.
func (m *masker) secretFlag(name string) bool {
	if len(name) > 40 || strings.HasPrefix(name, "no-") || strings.HasPrefix(name, "no_") || !m.matchKey(name) {
		return false
	}
	lower := strings.ToLower(name)
	for _, end := range flagNotSecret {
		if strings.HasSuffix(lower, end) && len(lower) > len(end) {
			return false
		}
	}
	return true
}

// flagValue returns where the value after a flag ending at e starts and
// ends: past white space, within quotes if it is quoted. ok is false when
// nothing follows, or another flag does.
func flagValue(s string, e int) (v, ve int, ok bool) {
	v = e
	for v < len(s) && (s[v] == ' ' || s[v] == '\t') {
		v++
	}
	if v == e || v == len(s) || s[v] == '-' || s[v] == '\n' {
		return 0, 0, false
	}
	return valueAt(s, v)
}

// valueAt returns the bounds of the value starting at v: to the matching
// quote if it opens with one, else to white space or a closing quote.
func valueAt(s string, v int) (int, int, bool) {
	if q := s[v]; q == '"' || q == '\'' {
		if j := strings.IndexByte(s[v+1:], q); j > 0 {
			return v + 1, v + 1 + j, true
		}
		return 0, 0, false
	}
	ve := v
	for ve < len(s) && s[ve] != ' ' && s[ve] != '\t' && s[ve] != '\n' && s[ve] != '\r' && s[ve] != '"' && s[ve] != '\'' {
		ve++
	}
	return v, ve, ve > v
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
		var v, ve int
		switch tool := ""; {
		case m.secretFlag(name):
			if v, ve, ok = flagValue(s, e); !ok {
				continue
			}
			if m.proseWord(s[v:ve]) {
				continue
			}
		case !long && name[0] == 'p' && i+2 < len(s) && s[i+2] != ' ' && s[i+2] != '\t' && s[i+2] != '\n':
			// "-pS3cr3t": the value is glued to the flag (a
			// password may hold any byte the name stopped at).
			if tool = toolOnLine(s, i); tool != "mysql" && tool != "mariadb" && tool != "sshpass" {
				continue
			}
			if v, ve, ok = valueAt(s, i+2); !ok {
				continue
			}
		case !long && (name == "p" && toolOnLine(s, i) == "sshpass" || name == "a" && toolOnLine(s, i) == "redis-cli"):
			if v, ve, ok = flagValue(s, e); !ok {
				continue
			}
		case (!long && (name == "u" || name == "U") || long && (name == "user" || name == "proxy-user")) && toolOnLine(s, i) == "curl":
			if v, ve, ok = flagValue(s, e); !ok {
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
