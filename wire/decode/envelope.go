package decode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/wire"
)

// itemHeader is wire.ItemHeader as read: length may be absent.
type itemHeader struct {
	wire.ItemHeader
	Length *int `json:"length"`
}

// Envelope parses an envelope. An item with a length has exactly that many
// payload bytes (newlines included), then an optional newline; an item
// without one runs to the next newline or the end. Blank lines between
// items are skipped. Payloads alias b.
func Envelope(b []byte) (*wire.Envelope, error) {
	line, rest, _ := bytes.Cut(b, []byte{'\n'})
	if len(bytes.TrimSpace(line)) == 0 {
		return nil, errors.New("wire: envelope has no header")
	}
	e := &wire.Envelope{}
	if err := json.Unmarshal(line, &e.Header); err != nil {
		return nil, fmt.Errorf("wire: envelope header: %w", err)
	}
	for n := 0; ; n++ {
		for len(rest) > 0 && (rest[0] == '\n' || rest[0] == '\r' || rest[0] == ' ' || rest[0] == '\t') {
			rest = rest[1:]
		}
		if len(rest) == 0 {
			return e, nil
		}
		line, rest, _ = bytes.Cut(rest, []byte{'\n'})
		var ih itemHeader
		if err := json.Unmarshal(line, &ih); err != nil {
			return nil, fmt.Errorf("wire: item %d header: %w", n, err)
		}
		if ih.Type == "" {
			return nil, fmt.Errorf("wire: item %d has no type", n)
		}
		it := wire.Item{Header: ih.ItemHeader}
		switch {
		case ih.Length != nil:
			l := *ih.Length
			if l < 0 || l > len(rest) {
				return nil, fmt.Errorf("wire: item %d (%s) says length %d, but %d bytes are left: truncated envelope", n, ih.Type, l, len(rest))
			}
			it.Payload, rest = rest[:l:l], rest[l:]
			it.Header.Length = l
		default:
			var payload []byte
			payload, rest, _ = bytes.Cut(rest, []byte{'\n'})
			it.Payload = payload[:len(payload):len(payload)]
			it.Header.Length = len(payload)
		}
		e.Items = append(e.Items, it)
	}
}

// Events decodes the event items of e, leniently (see Event). An event
// without an event_id takes the envelope's.
func Events(e *wire.Envelope) ([]*event.Event, error) {
	var out []*event.Event
	for i := range e.Items {
		if e.Items[i].Header.Type != wire.TypeEvent {
			continue
		}
		ev, err := ItemEvent(&e.Items[i])
		if err != nil {
			return nil, fmt.Errorf("wire: item %d: %w", i, err)
		}
		if ev.EventID == "" {
			ev.EventID = e.Header.EventID
		}
		out = append(out, ev)
	}
	return out, nil
}

// ItemEvent decodes an event item's payload, leniently (see Event).
func ItemEvent(it *wire.Item) (*event.Event, error) {
	return Event(it.Payload)
}

// ClientReport is the payload of a client_report item: what an SDK
// discarded, and why.
type ClientReport struct {
	Timestamp       time.Time        `json:"timestamp"`
	DiscardedEvents []DiscardedEvent `json:"discarded_events"`
}

// DiscardedEvent counts the items of one category discarded for one
// reason ("queue_overflow", "ratelimit_backoff", "network_error", …).
type DiscardedEvent struct {
	Reason   string `json:"reason"`
	Category string `json:"category"`
	Quantity int64  `json:"quantity"`
}

// ItemClientReport decodes a client_report item's payload. The timestamp may
// be RFC 3339 (with or without a zone: UTC) or Unix seconds.
func ItemClientReport(it *wire.Item) (*ClientReport, error) {
	var raw struct {
		Timestamp       json.RawMessage  `json:"timestamp"`
		DiscardedEvents []DiscardedEvent `json:"discarded_events"`
	}
	if err := json.Unmarshal(it.Payload, &raw); err != nil {
		return nil, fmt.Errorf("wire: client_report: %w", err)
	}
	t, err := Timestamp(raw.Timestamp)
	if err != nil {
		return nil, fmt.Errorf("wire: client_report: %w", err)
	}
	return &ClientReport{Timestamp: t, DiscardedEvents: raw.DiscardedEvents}, nil
}
