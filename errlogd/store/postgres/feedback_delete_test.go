package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/errlogd/store/postgres"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFeedbackBesideDeleteGroup: a user's feedback on an event arrives
// (at one errlogd process) while the event's group is being deleted (at
// another). AddFeedback reads the event's group, then inserts; the
// delete's transaction commits between the two (the INSERT is held in a
// BEFORE trigger, as a busy server holds it). The feedback must not stay
// behind, filed under a group that no longer exists: shown nowhere,
// never deleted, a user's name, e-mail and words kept after the group
// was deleted.
func TestFeedbackBesideDeleteGroup(t *testing.T) {
	ctx := context.Background()
	url, admin := adminDB(t)
	s, err := postgres.Open(ctx, url, postgres.Options{})
	require.NoError(t, err)
	defer s.Close(ctx)
	prj, err := s.CreateProject(ctx, "app")
	require.NoError(t, err)
	ev := &event.Event{EventID: event.NewID(), Level: event.LevelError, Logentry: &event.Logentry{Message: "boom"}, Fingerprint: []string{"boom"}}
	in, err := store.Prepare(prj, ev, nil, time.Now())
	require.NoError(t, err)
	require.NoError(t, s.Submit(ctx, in))
	stored, err := s.EventByEventID(ctx, prj.ID, ev.EventID)
	require.NoError(t, err)

	_, err = admin.Exec(`CREATE FUNCTION slow_feedback() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(1); RETURN NEW; END $$`)
	require.NoError(t, err)
	_, err = admin.Exec(`CREATE TRIGGER slow_feedback BEFORE INSERT ON feedback FOR EACH ROW EXECUTE FUNCTION slow_feedback()`)
	require.NoError(t, err)

	done := make(chan error, 1)
	go func() {
		done <- s.AddFeedback(ctx, &store.Feedback{ProjectID: prj.ID, EventID: string(ev.EventID), Name: "Ann", Email: "ann@example.com", Comments: "it broke"})
	}()
	time.Sleep(300 * time.Millisecond) // AddFeedback has read the group and waits in the trigger
	require.NoError(t, s.DeleteGroup(ctx, stored.GroupID))
	require.NoError(t, <-done)

	var orphans int
	require.NoError(t, admin.QueryRow(`SELECT count(*) FROM feedback f WHERE f.group_id <> 0 AND NOT EXISTS (SELECT 1 FROM event_groups g WHERE g.id = f.group_id)`).Scan(&orphans))
	assert.Zero(t, orphans, "feedback filed under the deleted group")
}
