package sentryproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/errlog/errlog/event"
)

// Item types errlog sends or errlogd reads. Other types decode as items
// whose payload is left to the caller.
const (
	TypeEvent        = "event"
	TypeTransaction  = "transaction"
	TypeAttachment   = "attachment"
	TypeSession      = "session"
	TypeSessions     = "sessions"
	TypeUserReport   = "user_report"
	TypeClientReport = "client_report"
	TypeCheckIn      = "check_in"
	TypeLog          = "log"
)

// ContentType is the media type of an envelope body.
const ContentType = "application/x-sentry-envelope"

// Envelope is a Sentry envelope: a header and items
// (https://develop.sentry.dev/sdk/data-model/envelopes/).
type Envelope struct {
	Header Header
	Items  []Item
}

// Header is an envelope's header.
type Header struct {
	// EventID is the id of the event the envelope carries, if any.
	EventID string `json:"event_id,omitempty"`
	// DSN makes an envelope self-authenticating.
	DSN string `json:"dsn,omitempty"`
	// SentAt is when the envelope was sent (RFC 3339); servers use it to
	// correct the client's clock. errlog leaves it out: a spooled
	// envelope is sent long after it is encoded, and a stale sent_at
	// would shift its events' timestamps.
	SentAt string `json:"sent_at,omitempty"`
	// SDK names the client.
	SDK *event.SDK `json:"sdk,omitempty"`
	// Trace is the dynamic sampling context of tracing SDKs.
	Trace map[string]any `json:"trace,omitempty"`
}

// ItemHeader is an item's header. Encode always writes the length of the
// payload, whatever Length says.
type ItemHeader struct {
	Type           string `json:"type"`
	Length         int    `json:"length"`
	ContentType    string `json:"content_type,omitempty"`
	Filename       string `json:"filename,omitempty"`
	AttachmentType string `json:"attachment_type,omitempty"`
	ItemCount      int    `json:"item_count,omitempty"`
}

// Item is one item of an envelope.
type Item struct {
	Header  ItemHeader
	Payload []byte
}

// NewEventEnvelope returns the envelope of one event, whose JSON encoding
// is payload.
func NewEventEnvelope(eventID string, sdk *event.SDK, payload []byte) *Envelope {
	return &Envelope{
		Header: Header{EventID: eventID, SDK: sdk},
		Items:  []Item{{Header: ItemHeader{Type: TypeEvent}, Payload: payload}},
	}
}

// Encode returns e in the envelope format, every item with its length.
func (e *Envelope) Encode() ([]byte, error) {
	n := 256
	for _, it := range e.Items {
		n += len(it.Payload) + 64
	}
	buf := bytes.NewBuffer(make([]byte, 0, n))
	h, err := json.Marshal(e.Header)
	if err != nil {
		return nil, fmt.Errorf("sentryproto: envelope header: %w", err)
	}
	buf.Write(h)
	buf.WriteByte('\n')
	for i := range e.Items {
		ih := e.Items[i].Header
		ih.Length = len(e.Items[i].Payload)
		h, err := json.Marshal(ih)
		if err != nil {
			return nil, fmt.Errorf("sentryproto: item %d header: %w", i, err)
		}
		buf.Write(h)
		buf.WriteByte('\n')
		buf.Write(e.Items[i].Payload)
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
}

// itemHeader is ItemHeader as read: length may be absent.
type itemHeader struct {
	ItemHeader
	Length *int `json:"length"`
}

// Decode parses an envelope. An item with a length has exactly that many
// payload bytes (newlines included), then an optional newline; an item
// without one runs to the next newline or the end. Blank lines between
// items are skipped. Payloads alias b.
func Decode(b []byte) (*Envelope, error) {
	line, rest, _ := bytes.Cut(b, []byte{'\n'})
	if len(bytes.TrimSpace(line)) == 0 {
		return nil, errors.New("sentryproto: envelope has no header")
	}
	e := &Envelope{}
	if err := json.Unmarshal(line, &e.Header); err != nil {
		return nil, fmt.Errorf("sentryproto: envelope header: %w", err)
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
			return nil, fmt.Errorf("sentryproto: item %d header: %w", n, err)
		}
		if ih.Type == "" {
			return nil, fmt.Errorf("sentryproto: item %d has no type", n)
		}
		it := Item{Header: ih.ItemHeader}
		switch {
		case ih.Length != nil:
			l := *ih.Length
			if l < 0 || l > len(rest) {
				return nil, fmt.Errorf("sentryproto: item %d (%s) says length %d, but %d bytes are left: truncated envelope", n, ih.Type, l, len(rest))
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

// Events decodes the event items of e. An event without an event_id takes
// the envelope's.
func (e *Envelope) Events() ([]*event.Event, error) {
	var out []*event.Event
	for i := range e.Items {
		if e.Items[i].Header.Type != TypeEvent {
			continue
		}
		ev, err := e.Items[i].Event()
		if err != nil {
			return nil, fmt.Errorf("sentryproto: item %d: %w", i, err)
		}
		if ev.EventID == "" {
			ev.EventID = e.Header.EventID
		}
		out = append(out, ev)
	}
	return out, nil
}

// Event decodes an event item's payload.
func (it *Item) Event() (*event.Event, error) {
	ev := new(event.Event)
	if err := json.Unmarshal(it.Payload, ev); err != nil {
		return nil, err
	}
	return ev, nil
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

// ClientReport decodes a client_report item's payload. The timestamp may
// be RFC 3339 (with or without a zone: UTC) or Unix seconds.
func (it *Item) ClientReport() (*ClientReport, error) {
	var raw struct {
		Timestamp       json.RawMessage  `json:"timestamp"`
		DiscardedEvents []DiscardedEvent `json:"discarded_events"`
	}
	if err := json.Unmarshal(it.Payload, &raw); err != nil {
		return nil, fmt.Errorf("sentryproto: client_report: %w", err)
	}
	t, err := event.ParseTimestamp(raw.Timestamp)
	if err != nil {
		return nil, fmt.Errorf("sentryproto: client_report: %w", err)
	}
	return &ClientReport{Timestamp: t, DiscardedEvents: raw.DiscardedEvents}, nil
}
