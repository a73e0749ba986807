package alert

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// docs/mail.md: "At most 20 alert mails an hour; what the cap holds back
// goes out as one digest when the hour allows." Alerts held back by the
// cap, arriving more than MailDelay after the last mail, must go out as
// one digest, not as a full mail of the first and a digest of the rest a
// window later.
func TestCapHeldBackGoesAsOneDigest(t *testing.T) {
	f := newFixture(t, nil, func(o *Options) { o.MailDelay = time.Minute; o.MaxMailsPerHour = 1 })
	f.send("first", nil)
	f.run()
	require.Len(t, f.smtp.Mails(), 1)
	f.clk.Add(10 * time.Minute) // well past the window: capped now, not gathered
	for i := 0; i < 3; i++ {
		f.send(fmt.Sprintf("held%d", i), nil)
	}
	f.run()
	require.Len(t, f.smtp.Mails(), 1, "capped")
	f.clk.Add(time.Hour) // the hour allows one more mail
	f.run()
	mails := f.smtp.Mails()
	require.Len(t, mails, 2)
	assert.Equal(t, "[errlog] ERROR: 3 errors to look at", mails[1].Header.Get("Subject"), "the held-back alerts as one digest")
}

// A digest lists groups: one group whose rule fired several times while
// the mails were held (the window, the hourly cap) is one group to look
// at, not "3 errors to look at" / "3 groups were new, regressed or
// frequent", listing it three times.
func TestDigestCountsGroupsOnce(t *testing.T) {
	cfg := &Config{Rules: []Rule{{Name: "every", Triggers: []Trigger{{Type: TriggerEvery}},
		Interval: Duration(5 * time.Minute), Actions: []Action{{Type: ActionMail}}}}}
	f := newFixture(t, cfg, func(o *Options) { o.MailDelay = 30 * time.Minute; o.MaxMailsPerHour = 1 })
	f.send("checkout", nil)
	f.run()
	require.Len(t, f.smtp.Mails(), 1)
	for i := 0; i < 3; i++ {
		f.clk.Add(6 * time.Minute)
		f.send("checkout", nil)
		f.run()
	}
	require.Len(t, f.smtp.Mails(), 1, "held")
	f.clk.Add(time.Hour)
	f.run()
	mails := f.smtp.Mails()
	require.Len(t, mails, 2)
	body := mailBody(t, mails[1])
	t.Logf("subject %q", mails[1].Header.Get("Subject"))
	assert.NotContains(t, mails[1].Header.Get("Subject"), "3 errors to look at", "one group")
	assert.Equal(t, 1, strings.Count(body, "Content-Type: text/html"), "parts")
	_, text, _ := strings.Cut(body, "Content-Type: text/plain")
	text, _, _ = strings.Cut(text, "Content-Type: text/html")
	assert.Equal(t, 1, strings.Count(text, "checkout failed"), "the group listed once in the text part:\n%s", text)
}
