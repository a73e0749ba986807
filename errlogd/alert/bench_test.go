package alert

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/sqlite"
	"github.com/errlog/errlog/event"
	errmail "github.com/errlog/errlog/mail"
)

// BenchmarkCommit: what the rules cost each commit (one event per
// commit, 50 groups, SQLite): no notifier, the default rule, and three
// rules with frequency and users triggers reading the counts.
func BenchmarkCommit(b *testing.B) {
	three := `
rules:
  - {name: new, triggers: [{type: new}, {type: regression}], actions: [{type: webhook, url: "http://127.0.0.1:9/"}]}
  - {name: freq, triggers: [{type: frequency, count: 1000, window: 1h}], actions: [{type: webhook, url: "http://127.0.0.1:9/"}]}
  - {name: users, triggers: [{type: users, count: 1000, window: 1d}], filter: {environment: [production]}, actions: [{type: webhook, url: "http://127.0.0.1:9/"}]}
`
	for _, c := range []struct {
		name  string
		rules string
		on    bool
	}{{"none", "", false}, {"default", "", true}, {"three-rules", three, true}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "b.db"), sqlite.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close(ctx)
			if c.on {
				var cfg *Config
				if c.rules != "" {
					if cfg, err = ParseConfig([]byte(c.rules)); err != nil {
						b.Fatal(err)
					}
				}
				n, err := New(st.DB, cfg, Options{Manual: true, Mail: errmail.Options{Addr: "127.0.0.1:9", From: "a@example.com", To: []string{"b@example.com"}}})
				if err != nil {
					b.Fatal(err)
				}
				defer n.Close()
			}
			p, _ := st.CreateProject(ctx, "p")
			now := time.Now()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ev := &event.Event{EventID: event.NewID(), Timestamp: now, Level: event.LevelError, Environment: "production",
					Exception: []event.Exception{{Value: fmt.Sprintf("e%d failed", i%50)}}, User: &event.User{ID: fmt.Sprint(i % 7)}}
				in, err := store.Prepare(p, ev, nil, now)
				if err != nil {
					b.Fatal(err)
				}
				if err := st.Submit(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReloadRulesUnchanged: what each sender poll pays to learn that
// no project's rules changed (one one-row query), with 100 stored rules.
func BenchmarkReloadRulesUnchanged(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "b.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close(ctx)
	n, err := New(st.DB, nil, Options{Manual: true})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	p, err := st.CreateProject(ctx, "p")
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		r := Rule{Name: fmt.Sprintf("r%d", i), Triggers: []Trigger{{Type: TriggerNew}}, Actions: []Action{{Type: ActionWebhook, URL: "http://127.0.0.1:9/"}}}
		if _, err := n.SaveRule(ctx, p.ID, 0, r); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := n.ReloadRules(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
