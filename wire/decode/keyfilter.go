package decode

import (
	"bytes"
	"strconv"
	"strings"
)

// KeyFilter is a fast, conservative test of an event's object keys
// against a list of words, for a server that scrubs events by key: every
// key that contains one of the words, compared as errlog compares mask
// keys (case ignored; "-", "_", "." and " " skipped, so that "api_key"
// is found in X-Api-Key and apiKey), passes; so do a few others. It looks
// at each key's bytes once, without allocating, inside the scan Summary
// makes anyway (SummaryKeys); what passes is for the caller to check
// exactly (errlog.Masker.Key, whose normalisation normalizeWord follows).
//
// It keeps three successive letters of each word, normalised (a word of
// fewer, whole): a key passes when any three successive letters of it,
// normalised, are kept. Of a word's letters, the three kept are those
// that the fewest keys of a list of common, harmless ones hold (the
// schema's, HTTP headers'), so that "access_key" does not pass Accept.
// The three are hashed five bits a letter, so that case is ignored; a
// digit hashes like a letter, which only lets a few more keys pass.
type KeyFilter struct {
	bits [1 << 15 / 64]uint64
	all  bool // a word of one letter: every key passes
}

// harmless are keys found in most events: a word's letters found in the
// fewest of them are the ones a key must hold to pass.
var harmless = strings.Fields(`Accept Accept-Encoding Accept-Language User-Agent Content-Type
Content-Length Host Referer Origin Connection Cache-Control X-Forwarded-For X-Forwarded-Proto
X-Real-Ip X-Request-Id Sec-Fetch-Mode Sec-Fetch-Site Sec-Ch-Ua Upgrade-Insecure-Requests
Pragma If-None-Match category data level timestamp type message method status_code url
reason filename abs_path function raw_function module lineno colno in_app context_line
pre_context post_context vars package platform instruction_addr symbol values value
stacktrace frames mechanism handled synthetic exception request query_string headers env
REMOTE_ADDR SERVER_NAME SERVER_PORT contexts os runtime device trace trace_id span_id
parent_span_id op status name version build kernel_version arch num_cpu memory_size
free_memory boot_time user id ip_address email username geo country_code city region
extra tags sdk integrations packages breadcrumbs server_name environment release dist
logger transaction fingerprint logentry formatted params event_id start_timestamp
description app app_start_time browser culture locale timezone thread_id current crashed
main self args kwargs exc_info response location`)

// NewKeyFilter returns a filter of words. An empty word is ignored.
func NewKeyFilter(words []string) *KeyFilter {
	f := new(KeyFilter)
	var common []uint32 // the three-letter hashes of harmless keys
	for _, k := range harmless {
		var h uint32
		for _, c := range normalizeWord(k) {
			if h = (h<<5 | uint32(c&31)) & (1<<15 - 1); h >= 1<<10 {
				common = append(common, h)
			}
		}
	}
	for _, w := range words {
		n := normalizeWord(w)
		switch len(n) {
		case 0:
		case 1:
			f.all = true
		case 2:
			// Any letter, or none, before the two.
			for x := uint32(0); x < 32; x++ {
				f.set(x<<10 | uint32(n[0]&31)<<5 | uint32(n[1]&31))
			}
		default:
			best, fewest := uint32(0), -1
			for i := 0; i+3 <= len(n); i++ {
				h := uint32(n[i]&31)<<10 | uint32(n[i+1]&31)<<5 | uint32(n[i+2]&31)
				c := 0
				for _, x := range common {
					if x == h {
						c++
					}
				}
				if fewest < 0 || c < fewest {
					best, fewest = h, c
				}
			}
			f.set(best)
		}
	}
	return f
}

// normalizeWord is w without the bytes keys are compared without.
func normalizeWord(w string) []byte {
	var n []byte
	for i := 0; i < len(w); i++ {
		if c := w[i]; !keySeparator(c) && c != '\t' {
			n = append(n, c)
		}
	}
	return n
}

func (f *KeyFilter) set(h uint32) { f.bits[h>>6] |= 1 << (h & 63) }

func keySeparator(c byte) bool { return c == '-' || c == '_' || c == '.' || c == ' ' }

// Match reports whether key may contain one of f's words.
func (f *KeyFilter) Match(key string) bool {
	return f.match([]byte(key))
}

// match is Match on the raw bytes of a key between its quotes; a key with
// an escape passes (its text is not its bytes).
func (f *KeyFilter) match(key []byte) bool {
	if f.all {
		return len(key) > 0
	}
	var h uint32
	for _, c := range key {
		x := keyCode[c]
		if x >= 32 {
			if x == keyEscape {
				return true
			}
			continue
		}
		h = (h<<5 | uint32(x)) & (1<<15 - 1)
		if f.bits[h>>6]>>(h&63)&1 != 0 {
			return true
		}
	}
	return false
}

// mentions reports whether the raw JSON b (a request: its URL, query,
// form data and headers) may name one of f's words with a value, in a key
// or in a value: "?access_token=…", "password=…" in a form body,
// ["X-Api-Key", "…"] among headers sent as pairs. "sort=token" and
// "/api/tokens" name none.
func (f *KeyFilter) mentions(b []byte) bool {
	if f.all {
		return len(b) > 0
	}
	var h uint32
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch keyCode[c] {
		case keySkip:
			continue
		case keyEscape:
			if i+5 < len(b) && b[i+1] == 'u' {
				// Encoders escape "&", "<", ">" (Go's: "page=2\u0026sort=x")
				// and what is not ASCII: none is in a name, and breaks it.
				// An escaped letter or digit ("pass\u0077ord") is.
				r, err := strconv.ParseUint(string(b[i+2:i+6]), 16, 32)
				if err == nil && r < 0x80 && nameByte[r] {
					return true
				}
				h = 0
				i += 5
				continue
			}
		}
		h = (h<<5 | uint32(c&31)) & (1<<15 - 1)
		if f.bits[h>>6]>>(h&63)&1 != 0 && namesValue(b, i) {
			return true
		}
	}
	return false
}

// urlPassword reports whether the raw JSON b holds a URL with a password
// ("https://user:pw@host/", its slashes escaped or not): a secret no name
// announces.
func urlPassword(b []byte) bool {
	for len(b) > 0 {
		i, n := bytes.Index(b, []byte("://")), 3
		if j := bytes.Index(b, []byte(`:\/\/`)); j >= 0 && (i < 0 || j < i) {
			i, n = j, 5
		}
		if i < 0 {
			return false
		}
		b = b[i+n:]
		// The authority ends at the path, query or fragment, or with the
		// string; a colon before an "@" in it is the password's.
		colon := false
	authority:
		for j, c := range b {
			switch c {
			case ':':
				colon = true
			case '@':
				if colon {
					return true
				}
				break authority
			case '/', '\\', '?', '#', '"', ' ':
				b = b[j:]
				break authority
			}
		}
	}
	return false
}

// namesValue reports whether the name holding b[i] is given a value: it
// is followed by "=" or ":" (a query's or a form's parameter, a header
// line, a key of JSON, escaped or not), or it is the first string of a
// [name, value] pair.
func namesValue(b []byte, i int) bool {
	j := i + 1
	for j < len(b) && nameByte[b[j]] {
		j++
	}
	for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
		j++
	}
	if j < len(b) && (b[j] == '=' || b[j] == ':') {
		return true
	}
	if j < len(b) && b[j] == '"' && j+1 < len(b) && b[j+1] == ':' ||
		j+2 < len(b) && b[j] == '\\' && b[j+1] == '"' && b[j+2] == ':' {
		return true
	}
	k := i
	for k >= 0 && nameByte[b[k]] {
		k--
	}
	if k < 1 || b[k] != '"' || j >= len(b) || b[j] != '"' {
		return false
	}
	for k--; k >= 0 && (b[k] == ' ' || b[k] == '\t' || b[k] == '\n' || b[k] == '\r'); k-- {
	}
	return k >= 0 && b[k] == '['
}

// nameByte marks the bytes of a parameter's or a header's name.
var nameByte = func() (t [256]bool) {
	for c := range t {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.'
	}
	return t
}()

const (
	keySkip   = 32 // a separator
	keyEscape = 33 // a backslash
)

// keyCode is each byte's five bits in the hash, or keySkip or keyEscape.
var keyCode = func() (t [256]uint8) {
	for c := range t {
		t[c] = uint8(c & 31)
	}
	for _, c := range "-_. " {
		t[c] = keySkip
	}
	t['\\'] = keyEscape
	return t
}()
