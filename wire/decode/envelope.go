package decode

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/errlog/errlog/event"
	"github.com/errlog/errlog/wire"
)

// Envelope parses a whole envelope held in memory, with Reader: items
// with or without a length, blank lines between them skipped.
func Envelope(b []byte) (*wire.Envelope, error) {
	r := NewReader(bufio.NewReaderSize(bytes.NewReader(b), 64<<10))
	h, err := r.Header()
	if err != nil {
		return nil, fmt.Errorf("wire: %w", err)
	}
	e := &wire.Envelope{Header: *h}
	for {
		ih, err := r.Next()
		if errors.Is(err, io.EOF) {
			return e, nil
		}
		if err != nil {
			return nil, fmt.Errorf("wire: %w", err)
		}
		p, err := r.Payload(math.MaxInt64)
		if err != nil {
			return nil, fmt.Errorf("wire: %w", err)
		}
		ih.Length = len(p)
		e.Items = append(e.Items, wire.Item{Header: ih, Payload: p})
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
		ev, err := Event(e.Items[i].Payload)
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

// UserReport is the payload of a user_report item: what a user wrote
// about an event (the browser SDK's captureUserFeedback, the crash
// report modal).
type UserReport struct {
	EventID  string
	Name     string
	Email    string
	Comments string
}

// ItemUserReport decodes a user_report item's payload as leniently as an
// event: a number where a string belongs is its text, any other value
// of the wrong type is left out. It fails only for a payload that is not
// a JSON object.
func ItemUserReport(payload []byte) (*UserReport, error) {
	var u UserReport
	var r reader
	err := scanObject(payload, func(key, val []byte) {
		switch k := string(key); k {
		case "event_id":
			r.str(k, val, &u.EventID)
		case "name":
			r.str(k, val, &u.Name)
		case "email":
			r.str(k, val, &u.Email)
		case "comments":
			r.str(k, val, &u.Comments)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("wire: user_report: %w", err)
	}
	return &u, nil
}

// EventType returns the top-level "type" of an event payload ("error",
// "transaction", …), "" if it has none or is not a JSON object. Old SDKs
// posted transactions to the store endpoint with "type":"transaction",
// which Relay reads as a transaction item.
func EventType(payload []byte) string {
	var typ string
	_ = scanObject(payload, func(key, val []byte) {
		if string(key) == "type" && len(val) > 0 && val[0] == '"' {
			typ = unquote(val[1 : len(val)-1])
		}
	})
	return typ
}
