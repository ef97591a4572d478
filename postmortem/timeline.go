package postmortem

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// line is one row of the timeline table.
type line struct {
	at   time.Time
	what string
}

// writeTimeline writes every timeline entry, in UTC (and local time when
// asked), with the computed lines under the entries they explain: who was
// paged and did not answer before someone else acknowledged. An alert that
// began before Klaxon heard of it comes first, at the start its monitor
// gave.
func writeTimeline(b *strings.Builder, inc *escalation.Incident, a *analysis, opts Options) {
	b.WriteString("\n## Timeline\n\n")
	var lines []line
	if rec := a.startAlert; rec != nil {
		s := "**Alert began firing**"
		if rec.Service != inc.Service {
			s += onService(rec.Service, opts)
		}
		s += " (" + perMonitor(rec) + ")"
		if msg := text(rec.Alert.Summary); msg != "" {
			s += ": " + msg
		}
		if key := text(rec.Alert.DedupKey); key != "" {
			s += " (dedup key " + key + ")"
		}
		lines = append(lines, line{rec.Alert.StartsAt, s})
	}
	for _, m := range a.merged {
		if !m.CreatedAt.IsZero() {
			lines = append(lines, line{m.CreatedAt, fmt.Sprintf("**Incident #%d opened**%s: %s _(merged into this one later)_",
				m.ID, onService(m.Service, opts), text(m.Title))})
		}
	}
	for i, ev := range a.events {
		lines = append(lines, line{ev.At, describe(ev)})
		if list := a.unanswered[i]; len(list) > 0 {
			lines = append(lines, line{ev.At, "↳ _Computed:_ " + unansweredLine(ev, list)})
		}
	}
	if len(a.stillPaging) > 0 {
		lines = append(lines, line{a.last, "↳ _Computed:_ still paging; no answer yet from " + describeTallies(a.stillPaging) + "."})
	}
	if len(lines) == 0 {
		b.WriteString("No timeline entries were recorded.\n")
		return
	}
	// Incidents merged in later opened before entries of this one: keep
	// each line where its time puts it, in written order at the same time.
	slices.SortStableFunc(lines, func(x, y line) int { return x.at.Compare(y.at) })

	if opts.Location != nil {
		zone := text(opts.Location.String())
		if zone == "" {
			zone = "Local"
		}
		fmt.Fprintf(b, "| UTC | %s | What happened |\n| --- | --- | --- |\n", zone)
	} else {
		b.WriteString("| UTC | What happened |\n| --- | --- |\n")
	}
	var day string
	for _, l := range lines {
		t := l.at.UTC()
		when := t.Format("15:04:05")
		if d := t.Format("2006-01-02"); d != day {
			when, day = d+" "+when, d
		}
		if opts.Location != nil {
			fmt.Fprintf(b, "| %s | %s | %s |\n", when, text(l.at.In(opts.Location).Format("Mon 15:04 MST")), l.what)
		} else {
			fmt.Fprintf(b, "| %s | %s |\n", when, l.what)
		}
	}
}

func onService(svc string, opts Options) string {
	if svc == "" {
		return ""
	}
	return " on " + service(svc, opts)
}

// unansweredLine says who was paged in a window and did not answer before
// the entry that closed it.
func unansweredLine(ev escalation.Event, list []*tally) string {
	who := text(ev.Actor)
	if ev.Via == escalation.ViaMonitor {
		who += " (monitor)"
	}
	if ev.Actor == "" {
		who = "the incident"
	}
	var did string
	switch {
	case ev.Kind == escalation.EventAcknowledged:
		did = who + " acknowledged"
	case ev.Kind == escalation.EventSnoozed:
		did = who + " snoozed it"
	case mergedAway(ev):
		did = who + " merged it into another incident"
	case ev.Actor == "":
		did = "it was resolved"
	default:
		did = who + " resolved it"
	}
	verb := "were"
	if len(list) == 1 {
		verb = "was"
	}
	return fmt.Sprintf("%s %s paged and did not answer before %s.", describeTallies(list), verb, did)
}

// describe is one timeline entry as a sentence, every part of it escaped.
func describe(ev escalation.Event) string {
	by := byWhom(ev.Actor, ev.Via)
	msg := text(ev.Message)
	with := func(s string) string {
		if s == "" {
			return ""
		}
		return ": " + s
	}
	switch ev.Kind {
	case escalation.EventTriggered:
		return "**Incident opened**" + by + with(msg)
	case escalation.EventAlertAttached, escalation.EventAlertUpdated, escalation.EventAlertResolved, escalation.EventAlertRefired:
		return alertLine(ev, by)
	case escalation.EventEscalated:
		if ev.Level > 0 {
			return fmt.Sprintf("**Escalated to level %d**%s%s", ev.Level, by, with(msg))
		}
		return "**Escalated**" + by + with(msg)
	case escalation.EventPolicyExhausted:
		return "**Policy ran out**" + with(msg)
	case escalation.EventPageQueued:
		s := "Page queued: " + channelName(ev.Channel) + to(ev.Person)
		if ev.Level > 0 {
			s += fmt.Sprintf(" (level %d)", ev.Level)
		}
		return s + with(msg)
	case escalation.EventPageSent:
		return "Page sent: " + channelName(ev.Channel) + to(ev.Person) + provider(ev.Provider) + with(msg)
	case escalation.EventPageFailed:
		return "**Page failed**: " + channelName(ev.Channel) + to(ev.Person) + provider(ev.Provider) + with(msg)
	case escalation.EventPageCancelled:
		return "Page cancelled: " + channelName(ev.Channel) + to(ev.Person) + with(msg)
	case escalation.EventAcknowledged:
		return "**Acknowledged**" + by + with(msg)
	case escalation.EventResolved:
		return "**Resolved**" + by + with(msg)
	case escalation.EventReopened:
		return "**Reopened**" + by + with(msg)
	case escalation.EventPriorityChanged:
		return "**Priority changed**" + by + with(msg)
	case escalation.EventPolicyChanged:
		return "**Policy changed**" + by + with(msg)
	case escalation.EventHandoff:
		return "Handoff" + with(msg)
	case escalation.EventWoken:
		if msg == "" {
			msg = text(ev.Person)
		}
		return "**Woken**" + with(msg)
	case escalation.EventSnoozed:
		if ev.Actor == "" {
			return "**Snooze over**" + with(msg)
		}
		return "**Snoozed**" + by + with(msg)
	case escalation.EventReassigned:
		return "**Reassigned** to " + text(ev.Person) + by
	case escalation.EventNote:
		return "**Note** (internal)" + by + with(msg)
	case escalation.EventMerged:
		return "**Merged**" + by + with(msg)
	case escalation.EventPublicUpdate:
		status := text(string(ev.Status))
		if status == "" {
			status = "no status"
		}
		return "**Public update: " + status + "**" + by + with(msg)
	}
	kind := text(strings.ReplaceAll(string(ev.Kind), "_", " "))
	if kind == "" {
		kind = "Entry"
	}
	s := kind + by
	if ev.Person != "" {
		s += " (" + text(ev.Person) + ")"
	}
	return s + with(msg)
}

// alertLine is an alert entry; one that stands for several alerts of one
// delivery says how many: "**3 alerts attached** by am (monitor): a; b; c".
func alertLine(ev escalation.Event, by string) string {
	verb := "attached"
	switch ev.Kind {
	case escalation.EventAlertUpdated:
		verb = "updated"
	case escalation.EventAlertResolved:
		verb = "resolved"
	case escalation.EventAlertRefired:
		verb = "fired again"
	}
	if ev.Count > 1 {
		// The core words these "3 alerts attached: a; b; c; and 2 more".
		list := ev.Message
		if _, rest, ok := strings.Cut(list, ": "); ok && strings.HasPrefix(list, fmt.Sprintf("%d alerts ", ev.Count)) {
			list = rest
		}
		s := fmt.Sprintf("**%d alerts %s**%s", ev.Count, verb, by)
		if list = text(list); list != "" {
			s += ": " + list
		}
		return s
	}
	s := "**Alert " + verb + "**" + by
	if msg := text(ev.Message); msg != "" {
		s += ": " + msg
	}
	if key := text(ev.DedupKey); key != "" {
		s += " (dedup key " + key + ")"
	}
	return s
}

func to(person string) string {
	if person == "" {
		return ""
	}
	return " to " + text(person)
}

func provider(p string) string {
	if p == "" {
		return ""
	}
	return " via " + text(p)
}
