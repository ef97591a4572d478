package postmortem_test

import (
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/postmortem"
)

// monday is Monday 16 March 2026 in UTC, an ordinary working day.
func monday(clock string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05", "2026-03-16 "+clock)
	if err != nil {
		panic(err)
	}
	return t
}

// sent is a page delivered to a person.
func sent(clock, person string, ch escalation.Channel) escalation.Event {
	return escalation.Event{At: monday(clock), Kind: escalation.EventPageSent, Person: person, Channel: ch, Provider: "twilio"}
}

func opened(clock string) escalation.Event {
	return monitor(escalation.Event{At: monday(clock), Kind: escalation.EventTriggered, Message: "P2 Disk full on db-1 on storage"})
}

func by(clock string, kind escalation.EventKind, actor, via string) escalation.Event {
	return escalation.Event{At: monday(clock), Kind: kind, Actor: actor, Via: via}
}

// summaryRow is the value of a row of the draft's summary table.
func summaryRow(t *testing.T, md, label string) string {
	t.Helper()
	for _, l := range strings.Split(md, "\n") {
		if v, ok := strings.CutPrefix(l, "| "+label+" | "); ok {
			return strings.TrimSuffix(v, " |")
		}
	}
	t.Fatalf("no %q row in\n%s", label, md)
	return ""
}

func TestComputedFigures(t *testing.T) {
	incident := func(status escalation.Status) *escalation.Incident {
		return &escalation.Incident{ID: 7, Service: "storage", Title: "Disk full on db-1", Status: status,
			Priority: escalation.P2, Policy: "storage-default", CreatedAt: monday("10:00:00"), Alerts: 1}
	}
	for _, tt := range []struct {
		name   string
		inc    func() *escalation.Incident
		events []escalation.Event
		opts   postmortem.Options
		want   map[string]string
		// says are phrases the draft must contain.
		says []string
	}{
		{
			name: "bob acknowledges after alice did not answer an SMS and a call",
			inc: func() *escalation.Incident {
				inc := incident(escalation.StatusResolved)
				inc.AcknowledgedAt, inc.AcknowledgedBy = monday("10:06:00"), "bob"
				inc.ResolvedAt, inc.ResolvedBy = monday("10:40:00"), "bob"
				return inc
			},
			events: []escalation.Event{
				opened("10:00:00"),
				sent("10:00:02", "alice", escalation.ChannelSMS),
				sent("10:03:02", "alice", escalation.ChannelVoice),
				{At: monday("10:05:00"), Kind: escalation.EventEscalated, Level: 2, Message: "policy storage-default level 2: paging bob"},
				sent("10:05:02", "bob", escalation.ChannelSMS),
				by("10:06:00", escalation.EventAcknowledged, "bob", "slack"),
				by("10:40:00", escalation.EventResolved, "bob", "slack"),
			},
			want: map[string]string{
				"Detected (first page)": "2026-03-16 10:00:02 UTC: SMS to alice, 2s after the start",
				"Acknowledged":          "2026-03-16 10:06:00 UTC by bob via Slack",
				"Time to acknowledge":   "6m",
				"Resolved":              "2026-03-16 10:40:00 UTC by bob via Slack",
				"Time to resolve":       "40m",
				"Duration":              "40m",
				"Paged without answer":  "alice (1 SMS, 1 voice call; 10:00–10:03 UTC)",
				"Escalation":            "highest level reached: 2; policy storage-default",
			},
			says: []string{"alice (1 SMS, 1 voice call; 10:00–10:03 UTC) was paged and did not answer before bob acknowledged."},
		},
		{
			name: "alice answers her first SMS",
			inc: func() *escalation.Incident {
				inc := incident(escalation.StatusResolved)
				inc.AcknowledgedAt, inc.AcknowledgedBy = monday("10:00:45"), "alice"
				inc.ResolvedAt, inc.ResolvedBy = monday("10:12:00"), "alice"
				return inc
			},
			events: []escalation.Event{
				opened("10:00:00"),
				sent("10:00:02", "alice", escalation.ChannelSMS),
				by("10:00:45", escalation.EventAcknowledged, "alice", escalation.ViaSMS),
				by("10:12:00", escalation.EventResolved, "alice", escalation.ViaSMS),
			},
			want: map[string]string{
				"Acknowledged":         "2026-03-16 10:00:45 UTC by alice via SMS reply",
				"Time to acknowledge":  "45s",
				"Time to resolve":      "12m",
				"Paged without answer": "nobody",
			},
			says: []string{"alice acknowledged by SMS reply 45s after the start."},
		},
		{
			name: "nobody acknowledges and the monitor resolves it",
			inc: func() *escalation.Incident {
				inc := incident(escalation.StatusResolved)
				inc.ResolvedAt, inc.ResolvedBy = monday("10:20:00"), "alertmanager"
				return inc
			},
			events: []escalation.Event{
				opened("10:00:00"),
				sent("10:00:02", "alice", escalation.ChannelSMS),
				sent("10:03:02", "alice", escalation.ChannelVoice),
				sent("10:06:02", "alice", escalation.ChannelVoice),
				monitor(escalation.Event{At: monday("10:20:00"), Kind: escalation.EventResolved, Message: "all alerts resolved"}),
			},
			want: map[string]string{
				"Acknowledged":         "never: it was resolved without an acknowledgement",
				"Time to acknowledge":  "never acknowledged",
				"Resolved":             "2026-03-16 10:20:00 UTC by alertmanager (monitor)",
				"Time to resolve":      "20m",
				"Paged without answer": "alice (1 SMS, 2 voice calls; 10:00–10:06 UTC)",
			},
			says: []string{
				"was paged and did not answer before alertmanager (monitor) resolved it.",
				"alice was paged and nobody acknowledged.",
			},
		},
		{
			name: "still open: nobody has answered yet",
			inc: func() *escalation.Incident {
				inc := incident(escalation.StatusTriggered)
				inc.UpdatedAt, inc.Firing = monday("10:30:02"), 1
				return inc
			},
			events: []escalation.Event{
				opened("10:00:00"),
				sent("10:00:02", "alice", escalation.ChannelSMS),
				sent("10:30:02", "alice", escalation.ChannelVoice),
			},
			want: map[string]string{
				"Acknowledged":         "not yet: nobody has acknowledged",
				"Time to acknowledge":  "not acknowledged yet",
				"Resolved":             "not yet: the incident is still open (triggered) as of the last timeline entry, 2026-03-16 10:30:02 UTC",
				"Duration":             "still open: at least 30m 2s, to the last timeline entry",
				"Time to resolve":      "not resolved yet",
				"Paged without answer": "alice (1 SMS, 1 voice call; 10:00–10:30 UTC); nobody has answered yet",
				"Alerts":               "1 alert, 1 still firing",
			},
			says: []string{
				"storage was affected from 2026-03-16 10:00:00 UTC, and the incident is still open.",
				"still paging; no answer yet from alice",
			},
		},
		{
			name: "still open: acknowledged, being worked on",
			inc: func() *escalation.Incident {
				inc := incident(escalation.StatusAcknowledged)
				inc.AcknowledgedAt, inc.AcknowledgedBy, inc.UpdatedAt = monday("10:02:00"), "alice", monday("10:15:00")
				return inc
			},
			events: []escalation.Event{
				opened("10:00:00"),
				sent("10:00:02", "alice", escalation.ChannelSMS),
				by("10:02:00", escalation.EventAcknowledged, "alice", "discord"),
				{At: monday("10:15:00"), Kind: escalation.EventNote, Actor: "alice", Via: "discord", Message: "Deleting old WAL segments."},
			},
			want: map[string]string{
				"Acknowledged":        "2026-03-16 10:02:00 UTC by alice via Discord",
				"Time to acknowledge": "2m",
				"Resolved":            "not yet: the incident is still open (acknowledged) as of the last timeline entry, 2026-03-16 10:15:00 UTC",
				"Duration":            "still open: at least 15m, to the last timeline entry",
				"Time to resolve":     "not resolved yet",
			},
			says: []string{"**Note** (internal) by alice via Discord: Deleting old WAL segments."},
		},
		{
			name: "a snooze acknowledges; alice's unanswered pages add up over both rounds",
			inc: func() *escalation.Incident {
				inc := incident(escalation.StatusResolved)
				inc.AcknowledgedAt, inc.AcknowledgedBy = monday("11:10:00"), "bob"
				inc.ResolvedAt, inc.ResolvedBy = monday("11:30:00"), "bob"
				return inc
			},
			events: []escalation.Event{
				opened("10:00:00"),
				sent("10:00:02", "alice", escalation.ChannelSMS),
				{At: monday("10:04:00"), Kind: escalation.EventSnoozed, Actor: "bob", Via: "slack", Message: "snoozed for 1h0m0s: paging starts over at 11:04 UTC unless resolved"},
				{At: monday("11:04:00"), Kind: escalation.EventSnoozed, Message: "snooze over: paging again"},
				sent("11:04:02", "alice", escalation.ChannelSMS),
				by("11:10:00", escalation.EventAcknowledged, "bob", "slack"),
				by("11:30:00", escalation.EventResolved, "bob", "slack"),
			},
			want: map[string]string{
				"Acknowledged":         "2026-03-16 10:04:00 UTC by bob via Slack (snoozed)",
				"Time to acknowledge":  "4m",
				"Time to resolve":      "1h 30m",
				"Paged without answer": "alice (2 SMS; 10:00–11:04 UTC)",
			},
			says: []string{"alice (1 SMS; at 10:00 UTC) was paged and did not answer before bob snoozed it."},
		},
		{
			name: "a page already on its way when bob acknowledged was not unanswered",
			inc: func() *escalation.Incident {
				inc := incident(escalation.StatusResolved)
				inc.AcknowledgedAt, inc.AcknowledgedBy = monday("10:00:30"), "bob"
				inc.ResolvedAt, inc.ResolvedBy = monday("10:05:00"), "bob"
				return inc
			},
			events: []escalation.Event{
				opened("10:00:00"),
				{At: monday("10:00:00"), Kind: escalation.EventPageQueued, Person: "alice", Channel: escalation.ChannelSMS, Level: 1},
				by("10:00:30", escalation.EventAcknowledged, "bob", "slack"),
				sent("10:00:31", "alice", escalation.ChannelSMS),
				by("10:05:00", escalation.EventResolved, "bob", "slack"),
			},
			want: map[string]string{
				"Paged without answer":  "nobody",
				"Detected (first page)": "2026-03-16 10:00:31 UTC: SMS to alice, 31s after the start",
			},
		},
		{
			name: "a flapping alert: resolved, reopened, then resolved for good",
			inc: func() *escalation.Incident {
				inc := incident(escalation.StatusResolved)
				inc.AcknowledgedAt, inc.AcknowledgedBy = monday("10:27:00"), "alice"
				inc.ResolvedAt, inc.ResolvedBy, inc.Reopened = monday("11:00:00"), "alice", 1
				return inc
			},
			events: []escalation.Event{
				opened("10:00:00"),
				monitor(escalation.Event{At: monday("10:10:00"), Kind: escalation.EventResolved, Message: "all alerts resolved"}),
				monitor(escalation.Event{At: monday("10:25:00"), Kind: escalation.EventReopened, Message: "fired again 15m0s after it resolved (reopen window 30m0s)"}),
				sent("10:25:02", "alice", escalation.ChannelSMS),
				by("10:27:00", escalation.EventAcknowledged, "alice", "slack"),
				by("11:00:00", escalation.EventResolved, "alice", "slack"),
			},
			want: map[string]string{
				"Resolved":            "2026-03-16 11:00:00 UTC by alice via Slack (it had reopened once)",
				"Time to acknowledge": "27m",
				"Time to resolve":     "1h 0m",
				// Resolved from 10:10 to 10:25: not a single stretch.
				"Duration": "1h 0m, of which 15m resolved between reopenings",
			},
			says: []string{"**Reopened** by alertmanager (monitor): fired again",
				"for 45m in 2 spells, from 2026-03-16 10:00:00 UTC to 11:00:00 UTC; it stayed resolved for 15m in between."},
		},
		{
			name: "the SMS provider is down: no page is delivered",
			inc: func() *escalation.Incident {
				inc := incident(escalation.StatusResolved)
				inc.ResolvedAt, inc.ResolvedBy = monday("10:30:00"), "carol"
				return inc
			},
			events: []escalation.Event{
				opened("10:00:00"),
				{At: monday("10:00:01"), Kind: escalation.EventPageFailed, Person: "alice", Channel: escalation.ChannelSMS, Provider: "twilio",
					Message: "attempt 1 failed: dial tcp: i/o timeout; retrying in 30s"},
				{At: monday("10:00:31"), Kind: escalation.EventPageFailed, Person: "alice", Channel: escalation.ChannelSMS, Provider: "twilio",
					Message: "attempt 2 failed for good: dial tcp: i/o timeout; trying the next contact rule"},
				by("10:30:00", escalation.EventResolved, "carol", "slack"),
			},
			want: map[string]string{
				"Detected (first page)": "no page was delivered; 2 delivery attempts failed",
				"Paged without answer":  "alice (none delivered, 2 failed attempts; at 10:00 UTC)",
			},
			says: []string{"No page was delivered."},
		},
		{
			name: "the storage incident merged in opened ten minutes earlier",
			inc: func() *escalation.Incident {
				inc := incident(escalation.StatusResolved)
				inc.ID, inc.Service, inc.Title, inc.Priority = 9, "api", "API errors", escalation.P0
				inc.AcknowledgedAt, inc.AcknowledgedBy = monday("10:05:00"), "alice"
				inc.ResolvedAt, inc.ResolvedBy = monday("12:30:00"), "alice"
				return inc
			},
			events: []escalation.Event{
				opened("10:00:00"),
				sent("10:00:02", "alice", escalation.ChannelSMS),
				by("10:05:00", escalation.EventAcknowledged, "alice", "slack"),
				{At: monday("10:20:00"), Kind: escalation.EventMerged, Actor: "alice", Via: "slack", Count: 4,
					Message: "merged #7 Disk full on db-1 (4 alert(s)) into this incident"},
				{At: monday("10:20:00"), Kind: escalation.EventPriorityChanged, Actor: "alice", Via: "slack", Message: "priority P1 → P0"},
				by("12:30:00", escalation.EventResolved, "alice", "slack"),
			},
			opts: postmortem.Options{
				Services: map[string]string{"api": "Public API", "storage": "Storage"},
				Merged: []*escalation.Incident{{ID: 7, Service: "storage", Title: "Disk full on db-1", Priority: escalation.P1,
					Status: escalation.StatusResolved, CreatedAt: monday("09:50:00"), MergedInto: 9}},
			},
			want: map[string]string{
				"Started":             "2026-03-16 09:50:00 UTC: #7 opened on Storage (merged in later); #9 opened at 10:00 UTC",
				"Time to acknowledge": "15m",
				"Time to resolve":     "2h 40m",
				"Services affected":   "Public API, Storage",
				"Merged in":           "#7 Disk full on db-1 (Storage, opened 09:50 UTC), merged at 10:20 UTC by alice via Slack",
				"Priority":            "P0, opened as P1; raised to P0 at 10:20 UTC by alice via Slack",
			},
			says: []string{"| 2026-03-16 09:50:00 | **Incident #7 opened** on Storage: Disk full on db-1 _(merged into this one later)_ |"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			md := postmortem.Draft(tt.inc(), tt.events, tt.opts)
			for label, want := range tt.want {
				if got := summaryRow(t, md, label); got != want {
					t.Errorf("%s = %q, want %q", label, got, want)
				}
			}
			for _, s := range tt.says {
				if !strings.Contains(md, s) {
					t.Errorf("the draft does not say %q:\n%s", s, md)
				}
			}
			checkTables(t, md)
		})
	}
}

func TestStillOpenDraftInventsNoEnd(t *testing.T) {
	inc := &escalation.Incident{ID: 3, Service: "storage", Title: "Disk full on db-1", Status: escalation.StatusTriggered,
		Priority: escalation.P2, CreatedAt: monday("10:00:00"), UpdatedAt: monday("10:00:00")}
	md := postmortem.Draft(inc, []escalation.Event{opened("10:00:00")}, postmortem.Options{})
	for _, label := range []string{"Resolved", "Duration", "Time to resolve"} {
		if v := summaryRow(t, md, label); !strings.Contains(v, "open") && !strings.Contains(v, "not resolved") {
			t.Errorf("%s = %q: an open incident has no end", label, v)
		}
	}
	if strings.Contains(md, "**Resolved**") {
		t.Error("the timeline of an open incident shows a resolution")
	}
}

func TestMergedAwayIncidentPointsToTheOneItJoined(t *testing.T) {
	inc := &escalation.Incident{ID: 7, Service: "storage", Title: "Disk full on db-1", Status: escalation.StatusResolved,
		Priority: escalation.P1, CreatedAt: monday("09:50:00"), ResolvedAt: monday("10:20:00"), ResolvedBy: "alice", MergedInto: 9}
	events := []escalation.Event{
		opened("09:50:00"),
		sent("09:50:02", "dave", escalation.ChannelSMS),
		{At: monday("10:20:00"), Kind: escalation.EventMerged, Actor: "alice", Via: "slack", Count: 4, Message: "merged into #9 API errors"},
	}
	md := postmortem.Draft(inc, events, postmortem.Options{})
	if got, want := summaryRow(t, md, "Resolved"), "2026-03-16 10:20:00 UTC by alice via Slack, by merging it into #9"; got != want {
		t.Errorf("Resolved = %q, want %q", got, want)
	}
	if !strings.Contains(md, "merged into #9: that incident's postmortem covers it") {
		t.Errorf("the draft does not point to #9:\n%s", md)
	}
	if !strings.Contains(md, "dave (1 SMS; at 09:50 UTC) was paged and did not answer before alice merged it into another incident.") {
		t.Errorf("dave's unanswered page is not computed:\n%s", md)
	}
	if ids := postmortem.MergedFrom(events); len(ids) != 0 {
		t.Errorf("MergedFrom = %v for the incident merged away", ids)
	}
}
