package alert

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/errlog/errlog/errlogd/store"
)

// An event's title, culprit and level are written by whoever holds a DSN
// (every browser application ships one), so each medium gets them
// escaped for its own markup: a title must not page a Slack channel,
// mention a GitHub team, show a disguised link or load an image.

// zwsp is a zero-width space: put after an "@" or between "](" it keeps
// the text as it reads while no renderer sees a mention or a link.
const zwsp = "\u200b"

// slackText escapes s for the text of a Slack or Mattermost message. Slack
// reads "<...>" as a link, a mention ("<@U1>") or a broadcast
// ("<!channel>"), and wants &, < and > escaped as entities; Mattermost
// also reads a plain "@channel", "@all", "@here" or "@user", and Markdown
// links and images ("[text](url)", "![](url)").
func slackText(s string) string {
	s = oneLine(s)
	s = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
	return defuse(s)
}

// defuse breaks mentions and Markdown links without changing how the
// text reads.
func defuse(s string) string {
	return strings.NewReplacer("@", "@"+zwsp, "](", "]"+zwsp+"(").Replace(s)
}

// oneLine replaces control characters (newlines included) by spaces: a
// title is one line in every medium, and a newline would let it start a
// Markdown block (a heading, a quote, a fence).
func oneLine(s string) string {
	if strings.IndexFunc(s, isControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, s)
}

func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r == '\u2028' || r == '\u2029'
}

// ticketFacts are a ticket's lines of untrusted text.
func ticketFacts(g *store.Group) string {
	return fmt.Sprintf("%s\n\nCulprit: %s\nLevel: %s", oneLine(g.Title), oneLine(g.Culprit), oneLine(g.Level))
}

func ticketSeen(g *store.Group) string {
	return fmt.Sprintf("Seen %d times, first %s, last %s.", g.Count, g.FirstSeen.Format(time.RFC3339), g.LastSeen.Format(time.RFC3339))
}

// githubBody is a GitHub issue's Markdown body: the event's text in a
// fenced code block, where GitHub renders no mention, link, image or
// HTML; the fence is longer than any run of backticks in the text, so
// the text cannot close it.
func githubBody(g *store.Group, link string) string {
	facts := ticketFacts(g)
	fence := strings.Repeat("`", max(3, longestRun(facts, '`')+1))
	s := fence + "text\n" + facts + "\n" + fence + "\n\n" + ticketSeen(g) + "\n"
	if link != "" {
		s += "\n" + link + "\n"
	}
	return s
}

func longestRun(s string, c byte) int {
	best, n := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			n++
			best = max(best, n)
		} else {
			n = 0
		}
	}
	return best
}

// noformatTag matches what would end Jira's {noformat} block, in any case.
var noformatTag = regexp.MustCompile(`(?i)\{noformat`)

// jiraBody is a Jira issue's description in Jira's wiki markup (REST API
// v2): the event's text in a {noformat} block, where Jira renders no
// markup, link, mention ([~user]) or macro; a "{noformat" in the text is
// broken so that it cannot end the block.
func jiraBody(g *store.Group, link string) string {
	facts := noformatTag.ReplaceAllString(ticketFacts(g), "{ noformat")
	s := "{noformat}\n" + facts + "\n{noformat}\n\n" + ticketSeen(g) + "\n"
	if link != "" {
		s += "\n" + link + "\n"
	}
	return s
}

// plainTitle is an issue's title (GitHub) or summary (Jira): plain text
// for both, on one line (Jira refuses a summary with a newline).
func plainTitle(s string) string {
	return truncate(strings.TrimSpace(oneLine(s)), 250)
}
