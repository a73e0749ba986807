package alert

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/errlog/errlog/errlogd/store"
	"github.com/errlog/errlog/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostile is an event title written to abuse every medium an alert goes
// to: Slack broadcasts, mentions and disguised links, Markdown mentions,
// links, images and HTML, Jira mentions, links and macros, and a newline
// to start a block.
const hostile = "``` ```` {noformat} <!channel> <@U1> <https://evil.example|Open> & @channel @all @acme/x [click](https://evil.example) " +
	"![px](https://evil.example/p.png) [~admin] [pwn|https://evil.example] !https://evil.example/i.png! <img src=x onerror=alert(1)>\n# h"

// capture is a receiver that records every request body per path.
type capture struct {
	mu     sync.Mutex
	bodies map[string][]string
}

func (c *capture) server(t *testing.T, answer string) *httptest.Server {
	c.bodies = map[string][]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.bodies[r.URL.Path] = append(c.bodies[r.URL.Path], string(b))
		c.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func (c *capture) get(path string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bodies[path]
}

func sendHostile(f *fixture) {
	f.send("hostile", func(e *event.Event) {
		e.Exception[0].Type = "Error"
		e.Exception[0].Value = hostile
	})
}

// TestSlackEscapesTitle: a title cannot page a channel, mention anyone or
// show a disguised link in Slack or Mattermost; it still reads as sent.
func TestSlackEscapesTitle(t *testing.T) {
	var c capture
	srv := c.server(t, "ok")
	f := newFixture(t, rules(t, `
rules:
  - name: slack
    triggers: [{type: new}]
    actions: [{type: webhook, url: "`+srv.URL+`/slack", format: slack}]
`), nil)
	sendHostile(f)
	f.run()
	bodies := c.get("/slack")
	require.Len(t, bodies, 1)
	var m map[string]string
	require.NoError(t, json.Unmarshal([]byte(bodies[0]), &m))
	text := m["text"]
	// The one link is ours, to the group.
	assert.Equal(t, 1, strings.Count(text, "<"), text)
	assert.Contains(t, text, "<https://errors.example.com/dev/error/groups/")
	for _, bad := range []string{"<!channel>", "<@U1", "<https://evil", "@channel", "@all", "@acme", "](", "\n#"} {
		assert.NotContains(t, text, bad)
	}
	assert.Contains(t, text, "&lt;!channel&gt;")
	assert.Contains(t, text, "&amp;")
	assert.Contains(t, strings.ReplaceAll(text, zwsp, ""), "@channel @all", "the title still reads as sent")
}

// TestTicketsEscapeTitle: GitHub gets the text in a fence it cannot
// close (no mention, link, image or HTML renders); Jira in a {noformat}
// block it cannot end; both titles are one plain line.
func TestTicketsEscapeTitle(t *testing.T) {
	var gh, jira capture
	ghSrv := gh.server(t, `{"html_url": "https://github.com/acme/shop/issues/1"}`)
	jiraSrv := jira.server(t, `{"key": "OPS-1"}`)
	f := newFixture(t, rules(t, `
ticketers:
  gh: {type: github, url: "`+ghSrv.URL+`", repo: acme/shop, token: t}
  jira: {type: jira, url: "`+jiraSrv.URL+`", token: t, project: OPS}
rules:
  - name: tickets
    triggers: [{type: new}]
    actions: [{type: mail}]
`), nil)
	sendHostile(f)
	page, err := f.st.ListGroups(ctx, store.GroupQuery{})
	require.NoError(t, err)
	require.Len(t, page.Groups, 1)
	gid := page.Groups[0].ID
	_, err = f.n.CreateTicket(ctx, gid, "gh")
	require.NoError(t, err)

	var issue struct{ Title, Body string }
	require.Len(t, gh.get("/repos/acme/shop/issues"), 1)
	require.NoError(t, json.Unmarshal([]byte(gh.get("/repos/acme/shop/issues")[0]), &issue))
	assert.NotContains(t, issue.Title, "\n")
	// Everything the event wrote is inside one fence longer than any
	// backtick run in it; outside is only our own text.
	fence := strings.Repeat("`", 5)
	before, rest, ok := strings.Cut(issue.Body, fence+"text\n")
	require.True(t, ok, issue.Body)
	assert.Empty(t, before)
	inside, after, ok := strings.Cut(rest, "\n"+fence+"\n")
	require.True(t, ok, issue.Body)
	assert.Contains(t, inside, "@channel @all @acme/x [click](https://evil.example)")
	assert.NotContains(t, inside, "\n#", "the newline became a space")
	assert.NotContains(t, after, "evil")
	assert.NotContains(t, after, "@")
	assert.Contains(t, after, "/groups/")

	// Jira, for the same kind of group.
	sendHostileNamed(f, "jira")
	page, err = f.st.ListGroups(ctx, store.GroupQuery{})
	require.NoError(t, err)
	require.Len(t, page.Groups, 2)
	if page.Groups[0].ID != gid {
		gid = page.Groups[0].ID
	} else {
		gid = page.Groups[1].ID
	}
	tk, err := f.n.CreateTicket(ctx, gid, "jira")
	require.NoError(t, err)
	require.Equal(t, "created", tk.State, tk.LastError)
	var ji struct {
		Fields struct{ Summary, Description string }
	}
	require.Len(t, jira.get("/rest/api/2/issue"), 1)
	require.NoError(t, json.Unmarshal([]byte(jira.get("/rest/api/2/issue")[0]), &ji))
	assert.NotContains(t, ji.Fields.Summary, "\n")
	d := ji.Fields.Description
	require.True(t, strings.HasPrefix(d, "{noformat}\n"), d)
	inside, after, ok = strings.Cut(strings.TrimPrefix(d, "{noformat}\n"), "\n{noformat}\n")
	require.True(t, ok, d)
	assert.NotContains(t, strings.ToLower(inside), "{noformat", "the title cannot end the block")
	assert.Contains(t, inside, "[~admin] [pwn|https://evil.example]")
	assert.NotContains(t, after, "evil")
	assert.NotContains(t, after, "[")
}

func sendHostileNamed(f *fixture, name string) {
	f.send(name, func(e *event.Event) {
		e.Exception[0].Type = "Error"
		e.Exception[0].Value = hostile + " " + name
	})
}

// TestEscapeMarkup: each medium's escaping on its own, including a title
// made of backticks for the GitHub fence.
func TestEscapeMarkup(t *testing.T) {
	assert.Equal(t, "a &lt;!channel&gt; &amp; @"+zwsp+"here [x]"+zwsp+"(u) line", slackText("a <!channel> & @here [x](u)\nline"))
	assert.Equal(t, 7, longestRun("a ``````` b ``", '`'))
	assert.Equal(t, "x { noformat} y { noformat}", noformatTag.ReplaceAllString("x {noformat} y {NoFormat}", "{ noformat"))
	assert.Equal(t, "a b", plainTitle("  a\nb\r\n"))
}

// TestMailLevelBounded: an event's level, as sent, can be anything (100
// KB of it, or a header injection); the alert mail shows the level as
// stored, one of the five.
func TestMailLevelBounded(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.send("level", func(e *event.Event) {
		e.Level = event.Level("<!channel>\r\nBcc: x@evil.example " + strings.Repeat("L", 100<<10))
	})
	f.run()
	mails := f.smtp.Mails()
	require.Len(t, mails, 1)
	subject := mails[0].Header.Get("Subject")
	assert.NotContains(t, subject, "LLLL")
	assert.NotContains(t, subject, "CHANNEL")
	assert.Contains(t, subject, "ERROR")
	assert.NotContains(t, mailBody(t, mails[0]), "LLLL")
	assert.Empty(t, mails[0].Header.Get("Bcc"))
}
