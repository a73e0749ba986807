package wire

import (
	"bytes"
	"encoding/json"
	"fmt"

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
		return nil, fmt.Errorf("wire: envelope header: %w", err)
	}
	buf.Write(h)
	buf.WriteByte('\n')
	for i := range e.Items {
		ih := e.Items[i].Header
		ih.Length = len(e.Items[i].Payload)
		h, err := json.Marshal(ih)
		if err != nil {
			return nil, fmt.Errorf("wire: item %d header: %w", i, err)
		}
		buf.Write(h)
		buf.WriteByte('\n')
		buf.Write(e.Items[i].Payload)
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
}
