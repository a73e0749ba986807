package event

// groupKeyV1 is grouping 1, errlogd's key until grouping 2: kept so that
// a store filled by it can map its groups to the new keys (see
// GroupKeyOf). It is the key errlogd stored, which differs from the
// client's mail key of that time for fingerprints with variables: errlogd
// hashed "{{ default }}" and "{{ message }}" as the keys they stand for.
func (e *Event) groupKeyV1() string { return e.groupKey1(&keysV1) }

// groupKey1 is groupKeyV1 remembering keys in c (nil: none).
func (e *Event) groupKey1(c *keyCache) string {
	fp := e.Fingerprint
	templated := false
	for _, s := range fp {
		if isVar(s, "default") || isVar(s, "message") {
			templated = true
			break
		}
	}
	if !templated {
		return e.clientKeyV1(c)
	}
	parts := make([]string, len(fp))
	for i, s := range fp {
		switch {
		case isVar(s, "default"):
			d := *e
			d.Fingerprint = nil
			parts[i] = d.clientKeyV1(c)
		case isVar(s, "message"):
			m := Event{Logentry: &Logentry{Message: e.Message()}}
			parts[i] = m.clientKeyV1(c)
		default:
			parts[i] = s
		}
	}
	if len(fp) == 1 && isVar(fp[0], "default") {
		return parts[0]
	}
	cp := *e
	cp.Fingerprint = parts
	return cp.clientKeyV1(c)
}

// clientKeyV1 is grouping 1's key as the client computed it.
func (e *Event) clientKeyV1(c *keyCache) string {
	var buf [512]byte
	b := buf[:0]
	if len(e.Fingerprint) > 0 && !(len(e.Fingerprint) == 1 && isVar(e.Fingerprint[0], "default")) {
		b = appendParts(b, "fingerprint")
		for _, p := range e.Fingerprint {
			switch {
			case isVar(p, "default"):
				b = e.appendDefaultV1(b)
			case isVar(p, "message"):
				b = appendParts(b, "message", parameterize(e.Message(), 1))
			default:
				b = appendParts(b, p)
			}
		}
	} else {
		b = e.appendDefaultV1(b)
	}
	return c.hash(b, 1)
}

// appendDefaultV1 appends grouping 1's default components: the exception
// types and the in-app frames' module and function; the message when
// there is no exception or no in-app frame.
func (e *Event) appendDefaultV1(b []byte) []byte {
	if len(e.Exception) == 0 {
		return appendParts(b, "message", e.Logger, parameterize(e.Message(), 1))
	}
	b = appendParts(b, "exception")
	inApp := false
	for _, ex := range e.Exception {
		b = appendParts(b, ex.Type)
		if ex.Stacktrace == nil {
			continue
		}
		for _, f := range ex.Stacktrace.Frames {
			if f.InApp {
				inApp = true
				b = appendParts(b, f.Module, f.Function)
			}
		}
	}
	if !inApp {
		b = appendParts(b, e.Logger, parameterize(e.Message(), 1))
	}
	return b
}
