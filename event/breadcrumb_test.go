package event_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/errlog/errlog/event"
)

func TestBreadcrumbsSchemaAndRoundTrip(t *testing.T) {
	ev := fullEvent()
	ev.Breadcrumbs = []event.Breadcrumb{
		{Timestamp: time.Date(2024, 2, 29, 23, 59, 58, 500000000, time.FixedZone("CET", 3600)), Type: "default", Category: "log",
			Level: event.LevelInfo, Message: "cart loaded", Data: map[string]any{"items": 3.0, "user": "ann"}},
		{Type: "default", Category: "payments", Level: event.LevelWarning, Message: "retrying"},
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	validate(t, b)
	s := string(b)
	for _, want := range []string{
		`"breadcrumbs":{"values":[{`,
		`"timestamp":"2024-02-29T22:59:58.500000Z"`,
		`"category":"log","level":"info","message":"cart loaded"`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("encoded event lacks %s:\n%s", want, s)
		}
	}
	if strings.Count(s, `"timestamp"`) != 2 {
		t.Errorf("a breadcrumb without a time has no timestamp: %s", s)
	}
	var back event.Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Breadcrumbs) != 2 || back.Breadcrumbs[0].Message != "cart loaded" ||
		!back.Breadcrumbs[0].Timestamp.Equal(ev.Breadcrumbs[0].Timestamp) || back.Breadcrumbs[0].Data["user"] != "ann" ||
		back.Breadcrumbs[1].Level != event.LevelWarning || !back.Breadcrumbs[1].Timestamp.IsZero() {
		t.Errorf("round trip: %+v", back.Breadcrumbs)
	}
}
