package decode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/bits"
	"strconv"

	"github.com/errlog/errlog/event"
)

// scanObject validates the JSON object b and calls f with the raw bytes
// of each top-level member's key (between its quotes) and value. It is
// encoding/json's validity check without its cost: one pass, no
// per-byte function calls, nothing decoded, so that an event is checked
// whole but only the fields errlogd needs are decoded.
func scanObject(b []byte, f func(key, val []byte)) error {
	return scanObjectKeys(b, nil, f)
}

// scanObjectKeys is scanObject that also sets k.hit when one of the keys
// at any depth passes k.filter (k nil: no key is looked at).
func scanObjectKeys(b []byte, k *keyWatch, f func(key, val []byte)) error {
	s := scanner{b: b, keys: k}
	s.ws()
	if s.i >= len(b) || b[s.i] != '{' {
		return errors.New("not a JSON object")
	}
	s.i++
	s.ws()
	if s.i < len(b) && b[s.i] == '}' {
		s.i++
		return s.end()
	}
	for {
		s.ws()
		key, err := s.key()
		if err != nil {
			return err
		}
		if k != nil && !k.hit && k.filter.match(key) {
			k.hit = true
		}
		s.ws()
		if s.i >= len(b) || b[s.i] != ':' {
			return s.fail("':' after object key")
		}
		s.i++
		s.ws()
		vs := s.i
		if k != nil && (string(key) == "modules" || string(key) == "_meta") {
			// Package names, not data: "golang-jwt/jwt" names no secret;
			// and Relay's remarks on fields, named as the fields are.
			s.keys = nil
		}
		err = s.value(1)
		s.keys = k
		if err != nil {
			return err
		}
		if k != nil && !k.hit && (string(key) == "request" || string(key) == "sentry.interfaces.Http") {
			// A request's secrets are as often in its values (a URL's
			// query, a form body, a URL's password) as under its keys.
			if k.request.mentions(b[vs:s.i]) || urlPassword(b[vs:s.i]) {
				k.reqStart, k.reqEnd = vs, s.i
			}
		}
		f(key, b[vs:s.i])
		s.ws()
		if s.i >= len(b) {
			return s.fail("'}'")
		}
		switch b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return s.end()
		default:
			return s.fail("',' or '}'")
		}
	}
}

// keyText is the text of an object key from its bytes between the quotes:
// a key is matched by what it says, as any JSON reader does, so that
// "event\u005fid" is event_id. Keys with escapes are rare; the others are
// returned as they are, without a copy.
func keyText(raw []byte) []byte {
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw
	}
	return []byte(unquote(raw))
}

// special marks the bytes a string scan must stop at: the quote, the
// backslash and control characters.
var special = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// specialMask marks, in the high bit of each of the eight bytes of v,
// the special ones: a quote, a backslash or a control character, each
// found by the borrow a zero (or, for control characters, a smaller)
// byte leaves in the subtraction ("determine if a word has a byte less
// than n", Bit Twiddling Hacks). The lowest mark is exact, so it is the
// first special byte; a borrow may mark bytes above it too.
func specialMask(v uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q := v ^ (ones * '"')
	bs := v ^ (ones * '\\')
	return ((q-ones)&^q | (bs-ones)&^bs | (v-ones*0x20)&^v) & highs
}

// plainEnd returns the offset of the first special byte at or after i, or
// of the first of the buffer's last seven bytes if there is none before
// them. It is small enough to inline: the call to scanString, which
// spills every register the caller holds, cost more than most strings'
// scan (half of those in an event are under 8 bytes).
func plainEnd(b []byte, i int) int {
	for i+8 <= len(b) {
		if m := specialMask(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	return i
}

type scanner struct {
	b       []byte
	i       int
	lenient bool // see mismatch
	full    bool // read frames' source lines too
	errs    *[]event.ProcessingError
	where   string // the top-level field read, for errs
	// dropElem is set by a list element that is not an object, for into
	// to drop it.
	dropElem bool
	keys     *keyWatch // nil: keys are not looked at
}

// keyWatch is a KeyFilter and whether a key passed it.
type keyWatch struct {
	filter  *KeyFilter
	request *KeyFilter // for the request's names and values
	hit     bool
	// reqStart, reqEnd are the request's bytes when they name a secret
	// with a value; reqEnd 0 when they do not.
	reqStart, reqEnd int
	// known holds keys of up to 15 bytes that passed nothing, as two
	// words (the second with the length in its top byte), by a hash of
	// them: an event repeats a few keys hundreds of times (each frame's
	// and breadcrumb's), and comparing two words is cheaper than hashing
	// the key's letters again.
	known [64][2]uint64
}

// check gives the key b[i:j] (the bytes between its quotes) to k's filter,
// unless it is known to pass nothing.
func (k *keyWatch) check(b []byte, i, j int) {
	n := j - i
	if n > 15 || i+16 > len(b) {
		k.hit = k.filter.match(b[i:j])
		return
	}
	w1 := binary.LittleEndian.Uint64(b[i:])
	w2 := binary.LittleEndian.Uint64(b[i+8:])
	if n < 8 {
		w1 &= 1<<(8*n) - 1
		w2 = 0
	} else {
		w2 &= 1<<(8*(n-8)) - 1
	}
	w2 |= uint64(n) << 56
	e := &k.known[((w1^w2*0x9E3779B97F4A7C15)*0x9E3779B97F4A7C15)>>58]
	if e[0] == w1 && e[1] == w2 {
		return
	}
	if k.hit = k.filter.match(b[i:j]); !k.hit {
		*e = [2]uint64{w1, w2}
	}
}

const maxDepth = 1000

func (s *scanner) fail(want string) error { return failAt(s.b, s.i, want) }

func failAt(b []byte, i int, want string) error {
	if i >= len(b) {
		return errors.New("unexpected end of JSON, want " + want)
	}
	return errors.New("invalid JSON at offset " + strconv.Itoa(i) + ": want " + want)
}

func (s *scanner) end() error {
	s.ws()
	if s.i != len(s.b) {
		return s.fail("end of input")
	}
	return nil
}

func (s *scanner) ws() { s.i = ws(s.b, s.i) }

// spaces has bit c set for each JSON whitespace byte c.
const spaces uint64 = 1<<' ' | 1<<'\t' | 1<<'\n' | 1<<'\r'

// ws returns the offset of the first byte at or after i that is not
// whitespace. It is small enough to inline: SDKs send JSON without
// whitespace, and a call per token cost more than the test.
func ws(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && spaces>>b[i]&1 != 0 {
		i++
	}
	return i
}

func (s *scanner) value(depth int) error {
	var err error
	s.i, err = skipValue(s.b, s.i, depth, s.keys)
	return err
}

// skipValue validates the value at b[i:], at nesting depth, and returns
// the offset after it, or the offset of the error. It walks nested
// values with a stack of bits, not by recursion, and keeps its offset
// in a local, not in a scanner: most of an event is values nobody reads
// (breadcrumbs, modules), so this loop is most of Summary's time. With
// k, each object key is given to k's filter until one passes.
func skipValue(b []byte, i, depth int, k *keyWatch) (int, error) {
	// inArray has bit d-base set when the container holding the values
	// at depth d (base < d ≤ maxDepth) is a list, clear when an object.
	var inArray [maxDepth/64 + 1]uint64
	base := depth
	var err error
value:
	if depth > maxDepth {
		return i, errors.New("JSON nested too deep")
	}
	if i >= len(b) {
		return i, failAt(b, i, "a value")
	}
	switch c := b[i]; {
	case c == '"':
		if j := plainEnd(b, i+1); j < len(b) && b[j] == '"' {
			i = j + 1
		} else if i, err = scanString(b, i); err != nil {
			return i, err
		}
	case c == '{':
		i = ws(b, i+1)
		if i < len(b) && b[i] == '}' {
			i++
			break
		}
		depth++
		inArray[(depth-base)/64] &^= 1 << ((depth - base) % 64)
		goto member
	case c == '[':
		i = ws(b, i+1)
		if i < len(b) && b[i] == ']' {
			i++
			break
		}
		depth++
		inArray[(depth-base)/64] |= 1 << ((depth - base) % 64)
		goto value
	case c == '-' || c >= '0' && c <= '9':
		if i, err = scanNumber(b, i); err != nil {
			return i, err
		}
	case c == 't':
		if len(b)-i < 4 || string(b[i:i+4]) != "true" {
			return i, failAt(b, i, "true")
		}
		i += 4
	case c == 'f':
		if len(b)-i < 5 || string(b[i:i+5]) != "false" {
			return i, failAt(b, i, "false")
		}
		i += 5
	case c == 'n':
		if len(b)-i < 4 || string(b[i:i+4]) != "null" {
			return i, failAt(b, i, "null")
		}
		i += 4
	default:
		return i, failAt(b, i, "a value")
	}
	// A value ended: the one asked for, or one in a container.
	for depth > base {
		i = ws(b, i)
		if inArray[(depth-base)/64]>>((depth-base)%64)&1 != 0 {
			if i >= len(b) {
				return i, failAt(b, i, "']'")
			}
			if b[i] == ']' {
				i++
				depth--
				continue
			}
			if b[i] != ',' {
				return i, failAt(b, i, "',' or ']'")
			}
			i = ws(b, i+1)
			goto value
		}
		if i >= len(b) {
			return i, failAt(b, i, "'}'")
		}
		if b[i] == '}' {
			i++
			depth--
			continue
		}
		if b[i] != ',' {
			return i, failAt(b, i, "',' or '}'")
		}
		i++
		goto member
	}
	return i, nil
member:
	i = ws(b, i)
	if i >= len(b) || b[i] != '"' {
		return i, failAt(b, i, "a string")
	}
	if j := plainEnd(b, i+1); j < len(b) && b[j] == '"' {
		if k != nil && !k.hit {
			k.check(b, i+1, j)
		}
		i = j + 1
	} else {
		start := i
		if i, err = scanString(b, i); err != nil {
			return i, err
		}
		if k != nil && !k.hit && k.filter.match(b[start+1:i-1]) {
			k.hit = true
		}
	}
	i = ws(b, i)
	if i >= len(b) || b[i] != ':' {
		return i, failAt(b, i, "':'")
	}
	i = ws(b, i+1)
	goto value
}

func digits(b []byte, i int) (int, int) {
	start := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i, i - start
}

func (s *scanner) number() error {
	var err error
	s.i, err = scanNumber(s.b, s.i)
	return err
}

// scanNumber validates the number at b[i:], which starts with '-' or a
// digit, and returns the offset after it.
func scanNumber(b []byte, i int) (int, error) {
	var n int
	if b[i] == '-' {
		i++
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if i, n = digits(b, i); n == 0 {
		return i, failAt(b, i, "a digit")
	}
	if i < len(b) && b[i] == '.' {
		if i, n = digits(b, i+1); n == 0 {
			return i, failAt(b, i, "a digit")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i, n = digits(b, i); n == 0 {
			return i, failAt(b, i, "a digit")
		}
	}
	return i, nil
}

// key scans the object key at s and returns its text (keyText).
func (s *scanner) key() ([]byte, error) {
	b, start := s.b, s.i
	if start < len(b) && b[start] == '"' {
		// Most keys are plain bytes up to the quote: no escape to decode
		// and no call to scanString.
		if j := plainEnd(b, start+1); j < len(b) && b[j] == '"' {
			s.i = j + 1
			return b[start+1 : j], nil
		}
	}
	if err := s.scanStr(); err != nil {
		return nil, err
	}
	return keyText(b[start+1 : s.i-1]), nil
}

func (s *scanner) scanStr() error {
	var err error
	s.i, err = scanString(s.b, s.i)
	return err
}

// scanString validates the string at b[i:] and returns the offset after
// its closing quote.
func scanString(b []byte, i int) (int, error) {
	if i >= len(b) || b[i] != '"' {
		return i, failAt(b, i, "a string")
	}
	i++
	for {
		// Escapes are rare: the common case is plain bytes, eight at a
		// time. (Finding the special byte in the word, not one by one,
		// made Summary of a 50 KB event 7% faster: 73.9 – 87.4 µs
		// against 79.6 – 91.8.)
		i = plainEnd(b, i)
		for i < len(b) && !special[b[i]] {
			i++
		}
		if i >= len(b) {
			return i, failAt(b, i, "'\"'")
		}
		switch b[i] {
		case '"':
			return i + 1, nil
		case '\\':
			i++
			if i >= len(b) {
				return i, failAt(b, i, "an escape")
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if len(b)-i < 5 {
					return i, failAt(b, i, "4 hex digits")
				}
				for _, h := range b[i+1 : i+5] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return i, failAt(b, i, "4 hex digits")
					}
				}
				i += 5
			default:
				return i, failAt(b, i, "an escape")
			}
		default: // the other special bytes, control characters
			return i, failAt(b, i, "no control character in a string")
		}
	}
}
