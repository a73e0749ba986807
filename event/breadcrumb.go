package event

import (
	"encoding/json"
	"fmt"
	"time"
)

// Breadcrumb is one thing that happened before an event: for errlog, a
// record logged below ErrorLevel in the same scope (a request) or, for
// code without one, in the same process. Sentry shows them as the trail
// that led to the error.
type Breadcrumb struct {
	// Timestamp is when the record was logged.
	Timestamp time.Time `json:"-"`
	// Type is Sentry's breadcrumb type: "default" for a log record.
	Type string `json:"type,omitempty"`
	// Category is the record's "logger" attribute, else "log".
	Category string `json:"category,omitempty"`
	// Level is the record's level.
	Level Level `json:"level,omitempty"`
	// Message is the record's message.
	Message string `json:"message,omitempty"`
	// Data holds the record's attributes, masked.
	Data map[string]any `json:"data,omitempty"`
}

type breadcrumbAlias Breadcrumb

// breadcrumbWire is a Breadcrumb as it travels: the timestamp in UTC, or
// none when unknown.
type breadcrumbWire struct {
	*breadcrumbAlias
	Timestamp string `json:"timestamp,omitempty"`
}

// MarshalJSON encodes b in the Sentry schema, its timestamp in UTC.
func (b Breadcrumb) MarshalJSON() ([]byte, error) {
	w := breadcrumbWire{breadcrumbAlias: (*breadcrumbAlias)(&b)}
	if !b.Timestamp.IsZero() {
		w.Timestamp = b.Timestamp.UTC().Format(timeLayout)
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes what MarshalJSON encodes: the timestamp in RFC
// 3339, or none. Numeric timestamps from other SDKs are read by the
// server's lenient decoder, wire/decode.
func (b *Breadcrumb) UnmarshalJSON(data []byte) error {
	*b = Breadcrumb{}
	w := breadcrumbWire{breadcrumbAlias: (*breadcrumbAlias)(b)}
	if err := json.Unmarshal(data, &w); err != nil {
		return fmt.Errorf("event: breadcrumb: %w", err)
	}
	if w.Timestamp != "" {
		t, err := time.Parse(time.RFC3339Nano, w.Timestamp)
		if err != nil {
			return fmt.Errorf("event: breadcrumb: timestamp %q is not RFC 3339", w.Timestamp)
		}
		b.Timestamp = t.UTC()
	}
	return nil
}

type breadcrumbList struct {
	Values []Breadcrumb `json:"values"`
}
