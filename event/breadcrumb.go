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

// UnmarshalJSON decodes a breadcrumb from any Sentry SDK: the timestamp
// as an RFC 3339 string or as seconds since the epoch.
func (b *Breadcrumb) UnmarshalJSON(data []byte) error {
	*b = Breadcrumb{}
	var w struct {
		*breadcrumbAlias
		Timestamp json.RawMessage `json:"timestamp"`
	}
	w.breadcrumbAlias = (*breadcrumbAlias)(b)
	if err := json.Unmarshal(data, &w); err != nil {
		return fmt.Errorf("event: breadcrumb: %w", err)
	}
	t, err := ParseTimestamp(w.Timestamp)
	if err != nil {
		return fmt.Errorf("event: breadcrumb: %w", err)
	}
	b.Timestamp = t
	return nil
}

type breadcrumbList struct {
	Values []Breadcrumb `json:"values"`
}

// decodeBreadcrumbs reads breadcrumbs as {"values": […]}, the schema's
// form, or as a bare list, which some SDKs send.
func decodeBreadcrumbs(raw json.RawMessage) ([]Breadcrumb, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var list []Breadcrumb
	if raw[0] == '[' {
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, fmt.Errorf("event: breadcrumbs: %w", err)
		}
		return list, nil
	}
	var wrapped breadcrumbList
	if err := json.Unmarshal(raw, &wrapped); err != nil {
		return nil, fmt.Errorf("event: breadcrumbs: %w", err)
	}
	return wrapped.Values, nil
}
