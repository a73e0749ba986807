package postgres_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/postgres"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDeleteGroupUnderLoadTakesFeedback: SDKs send each user's feedback
// before its event (Sentry's feedback widget may), events keep coming
// into one group, and the group is deleted again and again meanwhile, as
// errlogd serving does (counts owed). Every feedback whose event was
// deleted must go with it (testDeleteGroupLateFeedback's promise): none
// may stay filed under no group, naming a deleted event, with the user's
// e-mail, shown nowhere and never deleted.
func TestDeleteGroupUnderLoadTakesFeedback(t *testing.T) {
	for _, owe := range []bool{false, true} {
		t.Run(map[bool]string{false: "counts", true: "owed"}[owe], func(t *testing.T) {
			ctx := context.Background()
			url, admin := adminDB(t)
			s, err := postgres.Open(ctx, url, postgres.Options{OweCounts: owe, Writer: store.WriterOptions{OnError: func(err error) { t.Log(err) }}})
			require.NoError(t, err)
			defer s.Close(ctx)
			prj, err := s.CreateProject(ctx, "app")
			require.NoError(t, err)

			var stop atomic.Bool
			var wg sync.WaitGroup
			for w := 0; w < 12; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for !stop.Load() {
						id := event.NewID()
						require.NoError(t, s.AddFeedback(ctx, &store.Feedback{ProjectID: prj.ID, EventID: string(id), Email: "ann@example.com", Comments: "it broke"}))
						ev := &event.Event{EventID: id, Level: event.LevelError, Logentry: &event.Logentry{Message: "boom"}, Fingerprint: []string{"boom"}}
						in, err := store.Prepare(prj, ev, nil, time.Now())
						require.NoError(t, err)
						require.NoError(t, s.Submit(ctx, in))
					}
				}()
			}
			for i := 0; i < 8; i++ {
				time.Sleep(300 * time.Millisecond)
				var g int64
				if err := admin.QueryRow(`SELECT id FROM event_groups`).Scan(&g); err == nil {
					assert.NoError(t, s.DeleteGroup(ctx, g))
				}
			}
			stop.Store(true)
			wg.Wait()
			var left int
			require.NoError(t, admin.QueryRow(`SELECT count(*) FROM feedback f WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.project_id = f.project_id AND e.event_id = f.event_id)`).Scan(&left))
			assert.Zero(t, left, "feedback left behind, naming a deleted event")
		})
	}
}
