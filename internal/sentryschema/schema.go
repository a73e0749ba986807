// Package sentryschema validates events against the Sentry event JSON
// Schema, for tests: errlog's tracker tests check every event it sends,
// errlogd's what it accepts and stores.
//
// event.schema.json is the Sentry v7 event schema (draft-07) from
// github.com/getsentry/sentry-data-schemas, file relay/event.schema.json,
// commit 6d2c435b8ce3a67e2065f38374bb437f274d0a6c, MIT licensed (LICENSE
// beside it). It is embedded so that tests need nothing outside the
// repository.
package sentryschema

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed event.schema.json
var schemaJSON []byte

// uuid is what Relay accepts as an event id: 32 lower-case hex digits
// (the form SDKs send) or the dashed form. The schema says format "uuid",
// which a strict validator reads as dashed only.
var uuid = regexp.MustCompile(`^(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)

// rfc3339UTC is how errlog writes timestamps. The schema allows any
// string; Relay wants RFC 3339 in UTC.
var rfc3339UTC = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z$`)

var compiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	c.RegisterFormat(&jsonschema.Format{Name: "uuid", Validate: func(v any) error {
		if s, ok := v.(string); ok && !uuid.MatchString(s) {
			return errors.New("not 32 lower-case hex digits nor a dashed UUID")
		}
		return nil
	}})
	if err := c.AddResource("event.schema.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("event.schema.json")
})

// Validate checks one JSON-encoded event against the Sentry event schema,
// and that its timestamp, if a string, is RFC 3339 in UTC ("…Z").
func Validate(event []byte) error {
	sch, err := compiled()
	if err != nil {
		return fmt.Errorf("sentryschema: compiling the schema: %w", err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(event))
	if err != nil {
		return fmt.Errorf("sentryschema: %w", err)
	}
	if err := sch.Validate(v); err != nil {
		return fmt.Errorf("sentryschema: %w", err)
	}
	var ts struct {
		Timestamp json.RawMessage `json:"timestamp"`
	}
	if json.Unmarshal(event, &ts) == nil && len(ts.Timestamp) > 0 && ts.Timestamp[0] == '"' {
		var s string
		if json.Unmarshal(ts.Timestamp, &s) != nil || !rfc3339UTC.MatchString(s) {
			return fmt.Errorf("sentryschema: timestamp %s is not RFC 3339 in UTC", ts.Timestamp)
		}
	}
	return nil
}
