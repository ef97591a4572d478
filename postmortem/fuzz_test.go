package postmortem_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/postmortem"
)

// FuzzDraft checks that Draft never panics, whatever the incident and its
// timeline — entries out of order, at the zero time, of unknown kinds, with
// messages that look like the core's but are not — and always writes the
// same draft, whose tables keep their shape.
func FuzzDraft(f *testing.F) {
	f.Add([]byte{2, 1, 0, 0, 1, 0, 0, 0, 8, 2, 1, 1, 1, 0, 9, 3, 2, 0, 0, 2, 10, 4, 1, 1, 1, 2}, "alice", "merged #57 DNS (1 alert(s)) into this incident")
	f.Add([]byte{0, 3, 200, 15, 128, 3, 3, 3, 3, 14, 255, 0, 1, 2, 3, 22, 7, 7, 7, 7, 23, 0, 0, 0, 0}, hostile, "priority P1 → P0; paging continues")
	f.Add([]byte{4, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255}, "", "merged into #9 x")
	f.Add([]byte{}, "\xff\xfe", "\r\n|")
	f.Fuzz(func(t *testing.T, script []byte, s1, s2 string) {
		inc, events, opts := fromScript(script, s1, s2)
		md := postmortem.Draft(inc, events, opts)
		if again := postmortem.Draft(inc, events, opts); again != md {
			t.Fatal("two drafts of the same incident differ")
		}
		slices.Reverse(opts.Alerts)
		if again := postmortem.Draft(inc, events, opts); again != md {
			t.Fatal("the order of the alerts changed the draft")
		}
		if !strings.HasPrefix(md, "# Postmortem: ") || !strings.Contains(md, "\n## Follow-ups\n") {
			t.Fatalf("the draft lost its shape:\n%s", md)
		}
		checkTables(t, md)
		postmortem.MergedFrom(events)
	})
}

// fromScript builds an incident, its timeline and options from fuzz bytes,
// using s1 and s2 wherever text goes.
func fromScript(script []byte, s1, s2 string) (*escalation.Incident, []escalation.Event, postmortem.Options) {
	whole := script
	next := func() byte {
		if len(script) == 0 {
			return 0
		}
		b := script[0]
		script = script[1:]
		return b
	}
	base := monday("10:00:00")
	when := func() time.Time {
		b := next()
		if b == 0x80 {
			return time.Time{}
		}
		return base.Add(time.Duration(int8(b)) * 7 * time.Minute)
	}
	pick := func(options ...string) string { return options[int(next())%len(options)] }

	statuses := []escalation.Status{escalation.StatusTriggered, escalation.StatusAcknowledged, escalation.StatusResolved, "", escalation.Status(s1)}
	var inc *escalation.Incident
	if b := next(); b != 0xff {
		inc = &escalation.Incident{
			ID: int64(b), Service: pick("checkout", "", s1), Title: pick("Disk full", "", s2),
			Status: statuses[int(b)%len(statuses)], Priority: escalation.Priority(int8(next()) % 6), Policy: pick("default", "", s1),
			CreatedAt: when(), UpdatedAt: when(), AcknowledgedAt: when(), AcknowledgedBy: pick("alice", "", s1),
			ResolvedAt: when(), ResolvedBy: pick("bob", "", s2), Firing: int(int8(next())), Alerts: int(int8(next())),
			Reopened: int(int8(next())), MergedInto: int64(int8(next())),
		}
		if next()%2 == 1 {
			inc.Public = &escalation.Public{Title: pick("Checkout down", "", s1), Status: escalation.PublicStatus(pick("resolved", "", s2)),
				StartedAt: when(), UpdatedAt: when()}
		}
	}

	kinds := []escalation.EventKind{
		escalation.EventTriggered, escalation.EventAlertAttached, escalation.EventAlertUpdated, escalation.EventAlertResolved,
		escalation.EventAlertRefired, escalation.EventEscalated, escalation.EventPolicyExhausted, escalation.EventPageQueued,
		escalation.EventPageSent, escalation.EventPageFailed, escalation.EventPageCancelled, escalation.EventAcknowledged,
		escalation.EventResolved, escalation.EventReopened, escalation.EventPriorityChanged, escalation.EventPolicyChanged,
		escalation.EventHandoff, escalation.EventWoken, escalation.EventSnoozed, escalation.EventReassigned,
		escalation.EventNote, escalation.EventMerged, escalation.EventPublicUpdate, escalation.EventKind(s1), "",
	}
	var events []escalation.Event
	for len(script) > 0 && len(events) < 64 {
		events = append(events, escalation.Event{
			Kind:    kinds[int(next())%len(kinds)],
			At:      when(),
			Actor:   pick("alice", "bob", "", s1),
			Via:     pick(escalation.ViaSMS, "slack", escalation.ViaMonitor, "", s2),
			Person:  pick("alice", "bob", "", s1),
			Channel: escalation.Channel(pick(string(escalation.ChannelSMS), string(escalation.ChannelVoice), "", s2)),
			Level:   int(int8(next())),
			Count:   int(int8(next())),
			Status:  escalation.PublicStatus(pick("identified", "", s2)),
			Message: pick(s1, s2, "", "merged #7 x (2 alert(s)) into this incident", "merged #99999999999999999999 x",
				"merged into #3 y", "priority P1 → P0", "priority P9 → Px", "2 alerts attached: a; b", "priority "+s1+" → "+s2),
		})
	}

	opts := postmortem.Options{Company: s2, Services: map[string]string{"checkout": s1, s1: s2}}
	switch next() % 3 {
	case 1:
		opts.Location = time.UTC
	case 2:
		opts.Location = time.FixedZone(s2, int(int8(next()))*900)
	}
	if next()%2 == 1 {
		opts.Merged = []*escalation.Incident{nil, {ID: 7, Service: pick("storage", "", s1), Title: s2, CreatedAt: when()}, {ID: 7}}
		if inc != nil {
			opts.Merged = append(opts.Merged, inc)
		}
	}
	// Alerts from the script's last bytes, read backwards, so that every
	// script has some while the rest of it reads as before.
	for i := len(whole) - 1; i >= 1 && len(opts.Alerts) < 4; i -= 2 {
		start := time.Time{}
		if b := whole[i]; b != 0x80 {
			start = base.Add(time.Duration(int8(b)) * 7 * time.Minute)
		}
		texts := []string{"Disk full", "", s1, s2}
		opts.Alerts = append(opts.Alerts, &escalation.AlertRecord{
			Service: []string{"checkout", "storage", "", s1}[whole[i-1]%4], Integration: texts[whole[i-1]/4%4],
			Alert: escalation.Alert{Summary: texts[whole[i-1]/16%4], DedupKey: texts[whole[i-1]/64%4], StartsAt: start},
		})
	}
	if len(whole)%3 == 1 {
		opts.Alerts = append(opts.Alerts, nil)
	}
	return inc, events, opts
}
