package postmortem_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/postmortem"
)

// hostile is text a monitor or a responder might send, by mistake or not:
// it tries to end a table cell, close and open a link to a script, inject
// HTML, open a code span, start a heading on a new line and undo an escape.
const hostile = "# x | y ](javascript:alert(1)) <script>alert(1)</script> `code` [click](javascript:alert(2))\n# heading\r\n\\| ![img](http://evil.example/x.png) <http://evil.example> \u202egnp.exe"

func TestHostileTextStaysText(t *testing.T) {
	at := monday("10:00:00")
	inc := &escalation.Incident{
		ID: 13, Service: "checkout", Title: hostile, Status: escalation.StatusResolved, Priority: escalation.P1,
		Policy: hostile, CreatedAt: at, ResolvedAt: at.Add(time.Hour), ResolvedBy: hostile, Alerts: 1,
		Public: &escalation.Public{Title: hostile, Status: escalation.PublicResolved, StartedAt: at, UpdatedAt: at},
	}
	events := []escalation.Event{
		monitor(escalation.Event{At: at, Kind: escalation.EventTriggered, Message: hostile}),
		monitor(escalation.Event{At: at, Kind: escalation.EventAlertAttached, DedupKey: hostile, Message: hostile}),
		{At: at.Add(time.Minute), Kind: escalation.EventPageSent, Person: hostile, Channel: escalation.Channel(hostile), Provider: hostile},
		{At: at.Add(2 * time.Minute), Kind: escalation.EventAcknowledged, Actor: hostile, Via: hostile},
		{At: at.Add(3 * time.Minute), Kind: escalation.EventNote, Actor: "bob", Via: "slack", Message: hostile},
		{At: at.Add(4 * time.Minute), Kind: escalation.EventPublicUpdate, Actor: "bob", Via: "slack", Status: escalation.PublicStatus(hostile), Message: hostile},
		{At: at.Add(5 * time.Minute), Kind: escalation.EventKind(hostile), Actor: hostile, Message: hostile},
		{At: at.Add(time.Hour), Kind: escalation.EventResolved, Actor: hostile, Via: "slack", Message: hostile},
	}
	md := postmortem.Draft(inc, events, postmortem.Options{
		Company:  hostile,
		Services: map[string]string{"checkout": hostile},
		Location: time.FixedZone(hostile, 3600),
		Alerts: []*escalation.AlertRecord{{Service: hostile, Integration: hostile,
			Alert: escalation.Alert{DedupKey: hostile, Summary: hostile, StartsAt: at.Add(-10 * time.Minute)}}},
	})

	checkTables(t, md)
	if strings.Contains(md, "<script") || strings.Contains(md, "<http") {
		t.Error("HTML or an autolink from the text reached the draft")
	}
	if !strings.Contains(md, "&lt;script&gt;alert(1)&lt;/script&gt;") || !strings.Contains(md, "javascript:alert(1)") {
		t.Error("the hostile text is no longer readable as text")
	}
	if strings.Contains(md, "\u202e") {
		t.Error("a bidirectional override reached the draft")
	}
	tag := regexp.MustCompile(`<[A-Za-z/!?]`)
	for i, l := range strings.Split(md, "\n") {
		if l == "- [ ] _action_ (owner, issue)" {
			continue // the draft's own task list item
		}
		if strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "# Postmortem: ") && !strings.HasPrefix(l, "## ") {
			t.Errorf("line %d starts a heading: %s", i+1, l)
		}
		for _, loc := range tag.FindAllStringIndex(l, -1) {
			if !strings.HasPrefix(l[loc[0]:], "<br>") && !(loc[0] == 0 && strings.HasPrefix(l, "<!-- ")) {
				t.Errorf("line %d has a tag at %d: %s", i+1, loc[0], l)
			}
		}
		for j := 0; j < len(l); j++ {
			if c := l[j]; (c == '[' || c == ']' || c == '`') && !escaped(l, j) {
				t.Errorf("line %d has an unescaped %q at %d, which could open a link or a code span: %s", i+1, c, j, l)
			}
		}
	}
	if !strings.Contains(md, "**Alert began firing**") || !strings.Contains(md, "| Time to detect | 10m,") {
		t.Error("the hostile alert's start is not in the draft")
	}
	if n := strings.Count(md, "**Note** (internal)"); n != 1 {
		t.Errorf("the note takes %d timeline rows, want 1", n)
	}
}

// escaped reports whether the byte at i is preceded by an odd number of
// backslashes, which makes it literal.
func escaped(s string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}
