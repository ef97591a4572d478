// Package postmortem drafts the write-up of an incident from its timeline,
// in the shape of the outage reports Klaxon was built from: what happened
// and for how long, who was paged and who answered, every timeline entry,
// and the sections only people can write (impact, root cause, what went
// well and wrong, follow-ups).
//
// The draft is Markdown. Text from monitors and responders (alert
// summaries, notes, public updates, names) is escaped so that it can
// neither break a table nor become a link, an image or HTML.
package postmortem

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// Options shape a draft.
type Options struct {
	// Company is whose postmortem this is — the company or status page
	// name — shown under the title. Empty leaves it out.
	Company string
	// Services maps a service's config name to the name people know it
	// by; a service not in it is shown by its config name.
	Services map[string]string
	// Location adds a local-time column to the timeline, for a team that
	// thinks in its own time zone. Nil keeps the draft in UTC only.
	Location *time.Location
	// Merged are the incidents merged into this one (MergedFrom lists
	// their IDs): their services count as affected, and one that opened
	// earlier is where the incident started.
	Merged []*escalation.Incident
	// Alerts are the alerts the incident and those merged into it hold.
	// The monitor's start of the earliest (StartsAt) dates the incident
	// when the monitor knew before Klaxon did: the gap is the time it took
	// to detect. Nil keeps the draft to Klaxon's own record.
	Alerts []*escalation.AlertRecord
}

// MergedFrom lists the IDs of the incidents merged into an incident, read
// from its timeline in the order they were merged, so that a caller can
// load them for Options.Merged.
func MergedFrom(events []escalation.Event) []int64 {
	var ids []int64
	for _, ev := range events {
		if id, ok := mergedID(ev); ok && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// mergedID reads the source of a merge as the destination's timeline
// records it: "merged #57 title (1 alert(s)) into this incident".
func mergedID(ev escalation.Event) (int64, bool) {
	if ev.Kind != escalation.EventMerged {
		return 0, false
	}
	rest, ok := strings.CutPrefix(ev.Message, "merged #")
	if !ok {
		return 0, false
	}
	n := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
	if n < 0 {
		n = len(rest)
	}
	id, err := strconv.ParseInt(rest[:n], 10, 64)
	if err != nil || id <= 0 {
		return 0, false
	}
	return id, true
}

// Draft writes the postmortem draft of an incident from the incident as it
// stands and its timeline. The output depends on nothing else: the same
// incident and events always give the same draft.
func Draft(inc *escalation.Incident, events []escalation.Event, opts Options) string {
	if inc == nil {
		inc = &escalation.Incident{}
	}
	a := analyse(inc, events, opts)
	var b strings.Builder
	writeHeader(&b, inc, opts)
	writeSummary(&b, inc, a, opts)
	writeImpact(&b, a)
	writeTimeline(&b, inc, a, opts)
	for _, s := range []struct{ title, prompt string }{
		{"Root cause", "The chain of causes, and why each link could break. Were there early warnings (expiry dates, error rates)?"},
		{"What went well", "What helped: alerts, paging, tools, people, luck."},
		{"What went wrong", "What made it longer or worse: who was not reached and why, what users saw before any alert."},
	} {
		fmt.Fprintf(&b, "\n## %s\n\n<!-- %s -->\n", s.title, s.prompt)
	}
	b.WriteString("\n## Follow-ups\n\n<!-- Each lesson as work to do, with an owner and an issue. -->\n\n- [ ] _action_ (owner, issue)\n")
	return b.String()
}

func writeHeader(b *strings.Builder, inc *escalation.Incident, opts Options) {
	title := inc.Title
	if inc.Public != nil && strings.TrimSpace(inc.Public.Title) != "" {
		title = inc.Public.Title
	}
	if strings.TrimSpace(title) == "" {
		title = fmt.Sprintf("incident #%d", inc.ID)
	}
	fmt.Fprintf(b, "# Postmortem: %s\n\n", oneLine(title))
	var by []string
	if opts.Company != "" {
		by = append(by, oneLine(opts.Company))
	}
	by = append(by, fmt.Sprintf("incident #%d", inc.ID))
	if inc.Title != "" && inc.Public != nil {
		by = append(by, "“"+oneLine(inc.Title)+"”")
	}
	by = append(by, inc.Priority.String())
	if inc.Status != "" {
		by = append(by, text(string(inc.Status)))
	}
	fmt.Fprintf(b, "_Draft from Klaxon's timeline: %s. Times are UTC._\n", strings.Join(by, " · "))
	if inc.MergedInto != 0 {
		fmt.Fprintf(b, "\n> This incident was merged into #%d: that incident's postmortem covers it.\n", inc.MergedInto)
	}
}

func writeImpact(b *strings.Builder, a *analysis) {
	b.WriteString("\n## Impact\n\n<!-- Who was affected, how, and for how long; numbers where you have them. -->\n")
	if len(a.public) == 0 {
		return
	}
	b.WriteString("\nWhat customers were told, as a starting point:\n\n")
	for _, ev := range a.public {
		b.WriteString("- " + clock(ev.At))
		if ev.Status != "" {
			fmt.Fprintf(b, ", **%s**", text(string(ev.Status)))
		}
		if ev.Actor != "" {
			fmt.Fprintf(b, " (%s)", text(ev.Actor))
		}
		fmt.Fprintf(b, ": %s\n", text(ev.Message))
	}
}
