package postmortem

import (
	"fmt"
	"slices"
	"strings"

	"github.com/klaxonhq/klaxon/escalation"
)

// writeSummary writes the lead paragraph — what an outage report says
// first: what was affected, for how long, who was reached and when — and
// the table of figures under it.
func writeSummary(b *strings.Builder, inc *escalation.Incident, a *analysis, opts Options) {
	b.WriteString("\n## Summary\n\n")
	b.WriteString(lead(inc, a, opts))
	b.WriteString("\n\n<!-- Add the cause in one sentence, and who noticed first: a monitor, or users? -->\n\n")
	b.WriteString("| | |\n| --- | --- |\n")
	for _, r := range summaryRows(inc, a, opts) {
		fmt.Fprintf(b, "| %s | %s |\n", r[0], r[1])
	}
}

func lead(inc *escalation.Incident, a *analysis, opts Options) string {
	var s []string
	services := affected(inc, a, opts)
	subject := joinAnd(services) + " were affected"
	switch len(services) {
	case 0:
		subject = "The incident"
	case 1:
		subject = services[0] + " was affected"
	}
	switch {
	case a.start.IsZero():
	case a.resolution != nil && !a.resolution.At.IsZero() && len(services) == 0:
		s = append(s, fmt.Sprintf("The incident lasted %s, %s.", span(a.start, a.resolution.At), fromTo(a.start, a.resolution.At)))
	case a.resolution != nil && !a.resolution.At.IsZero() && a.spells > 1:
		// Resolved and reopened in between: the impact was the open
		// spells, not the whole stretch.
		open := a.resolution.At.Sub(a.start) - a.quiet
		s = append(s, fmt.Sprintf("%s for %s in %d spells, %s; it stayed resolved for %s in between.", subject,
			span(a.start, a.start.Add(open)), a.spells, fromTo(a.start, a.resolution.At), span(a.start, a.start.Add(a.quiet))))
	case a.resolution != nil && !a.resolution.At.IsZero():
		s = append(s, fmt.Sprintf("%s for %s, %s.", subject, span(a.start, a.resolution.At), fromTo(a.start, a.resolution.At)))
	case a.resolution != nil:
		s = append(s, fmt.Sprintf("%s from %s; when it was resolved is not recorded.", subject, stamp(a.start)))
	case len(services) == 0:
		s = append(s, fmt.Sprintf("The incident started at %s and is still open.", stamp(a.start)))
	default:
		s = append(s, fmt.Sprintf("%s from %s, and the incident is still open.", subject, stamp(a.start)))
	}
	switch {
	case a.startAlert != nil && a.firstPage != nil:
		s = append(s, fmt.Sprintf("Its first alert began %s before Klaxon opened #%d, and the first page went out %s after the opening.",
			span(a.start, a.opened), a.openedID, span(a.opened, a.firstPage.At)))
	case a.startAlert != nil:
		s = append(s, fmt.Sprintf("Its first alert began %s before Klaxon opened #%d. No page was delivered.", span(a.start, a.opened), a.openedID))
	case a.firstPage != nil && !a.start.IsZero():
		s = append(s, fmt.Sprintf("The first page went out %s after the start.", span(a.start, a.firstPage.At)))
	case a.firstPage == nil:
		s = append(s, "No page was delivered.")
	}
	var names []string
	for _, t := range a.notAnswered {
		names = append(names, text(t.person))
	}
	verb := "was"
	if len(names) > 1 {
		verb = "were"
	}
	switch {
	case a.ack != nil && len(names) > 0:
		s = append(s, fmt.Sprintf("%s %s paged without answering; %s.", joinAnd(names), verb, acked(a)))
	case a.ack != nil:
		s = append(s, acked(a)+".") // names are written as configured, even first
	case len(names) > 0 && a.resolution == nil:
		s = append(s, fmt.Sprintf("%s %s paged and nobody has acknowledged yet.", joinAnd(names), verb))
	case len(names) > 0:
		s = append(s, fmt.Sprintf("%s %s paged and nobody acknowledged.", joinAnd(names), verb))
	case a.resolution == nil:
		s = append(s, "Nobody has acknowledged yet.")
	default:
		s = append(s, "Nobody acknowledged.")
	}
	switch n := len(a.mergedIn); n {
	case 0:
	case 1:
		s = append(s, "One other incident was merged into it.")
	default:
		s = append(s, fmt.Sprintf("%d other incidents were merged into it.", n))
	}
	if first, last, ok := priorityRange(a); ok && first != last {
		word := "raised"
		if last > first {
			word = "lowered"
		}
		s = append(s, fmt.Sprintf("Its priority was %s from %s to %s.", word, first, last))
	}
	return strings.Join(s, " ")
}

// acked is "bob acknowledged by SMS reply 31m 18s after the start", or
// "… after Klaxon opened #58" when the start is an alert's: see
// summaryRows.
func acked(a *analysis) string {
	who := text(a.ack.Actor)
	if who == "" {
		who = "someone"
	}
	s := who + " acknowledged"
	if a.ack.Kind == escalation.EventSnoozed {
		s = who + " snoozed it"
	}
	if a.ack.Via != "" && a.ack.Via != escalation.ViaMonitor {
		s += " by " + via(a.ack.Via)
	}
	switch {
	case a.opened.IsZero() || a.ack.At.IsZero():
	case a.startAlert != nil:
		s += fmt.Sprintf(" %s after Klaxon opened #%d", span(a.opened, a.ack.At), a.openedID)
	default:
		s += " " + span(a.start, a.ack.At) + " after the start"
	}
	return s
}

// priorityRange is the priority the incident opened with and the last it
// was given, read from the timeline's changes.
func priorityRange(a *analysis) (first, last escalation.Priority, ok bool) {
	for _, c := range a.priorities {
		if !c.parsed {
			continue
		}
		if !ok {
			first, ok = c.from, true
		}
		last = c.to
	}
	return first, last, ok
}

// affected lists the services affected: the incident's, then those of the
// incidents merged into it.
func affected(inc *escalation.Incident, a *analysis, opts Options) []string {
	var names, seen []string
	add := func(svc string) {
		if svc != "" && !slices.Contains(seen, svc) {
			seen = append(seen, svc)
			names = append(names, service(svc, opts))
		}
	}
	add(inc.Service)
	for _, m := range a.merged {
		add(m.Service)
	}
	return names
}

// summaryRows are the figures. When an alert's monitor saw the incident
// begin before Klaxon opened it, the outage counts from the alert's start
// (Started, Duration, Time to resolve, and Time to detect up to the
// opening), and Klaxon's response from the opening, as it does without
// such an alert (the first page and Time to acknowledge): nobody could
// answer before Klaxon paged, and the lag has a figure of its own.
func summaryRows(inc *escalation.Incident, a *analysis, opts Options) [][2]string {
	var rows [][2]string
	row := func(k, v string) { rows = append(rows, [2]string{k, v}) }

	started := stamp(a.start)
	switch {
	case a.startAlert != nil && a.startedBy != nil:
		started += fmt.Sprintf(": %s; Klaxon opened #%d%s (merged in later) at %s, %s later; #%d opened at %s",
			alertBegan(inc, a.startAlert, opts), a.startedBy.ID, onService(a.startedBy.Service, opts), clock(a.opened),
			span(a.start, a.opened), inc.ID, clock(inc.CreatedAt))
	case a.startAlert != nil:
		started += fmt.Sprintf(": %s; Klaxon opened #%d at %s, %s later",
			alertBegan(inc, a.startAlert, opts), a.openedID, clock(a.opened), span(a.start, a.opened))
	case a.startedBy != nil:
		started += fmt.Sprintf(": #%d opened%s (merged in later); #%d opened at %s",
			a.startedBy.ID, onService(a.startedBy.Service, opts), inc.ID, clock(inc.CreatedAt))
	}
	if a.start.IsZero() {
		started = "not recorded"
	}
	row("Started", started)

	switch {
	case a.firstPage != nil:
		row("Detected (first page)", fmt.Sprintf("%s: %s to %s%s", stamp(a.firstPage.At), channelName(a.firstPage.Channel),
			text(a.firstPage.Person), after(a, a.firstPage)))
	case a.pagesFailed > 0:
		row("Detected (first page)", fmt.Sprintf("no page was delivered; %s", plural(a.pagesFailed, "delivery attempt")+" failed"))
	default:
		row("Detected (first page)", "no page was delivered")
	}

	switch {
	case a.ack != nil:
		v := stamp(a.ack.At)
		if a.ack.Actor != "" {
			v += byWhom(a.ack.Actor, a.ack.Via)
		}
		if a.ack.Kind == escalation.EventSnoozed {
			v += " (snoozed)"
		}
		row("Acknowledged", v)
	case a.resolution != nil:
		row("Acknowledged", "never: it was resolved without an acknowledgement")
	default:
		row("Acknowledged", "not yet: nobody has acknowledged")
	}

	open := "not yet: the incident is still open"
	if inc.Status != "" {
		open += " (" + text(string(inc.Status)) + ")"
	}
	if !a.last.IsZero() {
		open += " as of the last timeline entry, " + stamp(a.last)
	}
	switch {
	case a.resolution != nil:
		v := stamp(a.resolution.At) + byWhom(a.resolution.Actor, a.resolution.Via)
		if mergedAway(*a.resolution) {
			v += fmt.Sprintf(", by merging it into #%d", inc.MergedInto)
		}
		switch a.reopened {
		case 0:
		case 1:
			v += " (it had reopened once)"
		case 2:
			v += " (it had reopened twice)"
		default:
			v += fmt.Sprintf(" (it had reopened %d times)", a.reopened)
		}
		row("Resolved", v)
	default:
		row("Resolved", open)
	}

	switch {
	case a.start.IsZero():
		row("Duration", "unknown: the start is not recorded")
	case a.resolution != nil && !a.resolution.At.IsZero() && a.spells > 1:
		row("Duration", fmt.Sprintf("%s, of which %s resolved between reopenings", span(a.start, a.resolution.At), span(a.start, a.start.Add(a.quiet))))
	case a.resolution != nil && !a.resolution.At.IsZero():
		row("Duration", span(a.start, a.resolution.At))
	case a.resolution != nil:
		row("Duration", "unknown: when it was resolved is not recorded")
	case !a.last.IsZero():
		row("Duration", fmt.Sprintf("still open: at least %s, to the last timeline entry", span(a.start, a.last)))
	default:
		row("Duration", "still open")
	}

	if a.startAlert != nil {
		row("Time to detect", fmt.Sprintf("%s, from the first alert's start to Klaxon opening #%d", span(a.start, a.opened), a.openedID))
	}

	switch {
	case a.ack == nil && a.resolution != nil:
		row("Time to acknowledge", "never acknowledged")
	case a.ack == nil:
		row("Time to acknowledge", "not acknowledged yet")
	case a.opened.IsZero() || a.ack.At.IsZero():
		row("Time to acknowledge", "unknown")
	case a.startAlert != nil:
		row("Time to acknowledge", fmt.Sprintf("%s, from Klaxon opening #%d", span(a.opened, a.ack.At), a.openedID))
	default:
		row("Time to acknowledge", span(a.opened, a.ack.At))
	}

	switch {
	case a.resolution == nil:
		row("Time to resolve", "not resolved yet")
	case a.start.IsZero() || a.resolution.At.IsZero():
		row("Time to resolve", "unknown")
	default:
		row("Time to resolve", span(a.start, a.resolution.At))
	}

	switch {
	case len(a.notAnswered) == 0:
		row("Paged without answer", "nobody")
	case len(a.stillPaging) > 0:
		row("Paged without answer", describeTallies(a.notAnswered)+"; nobody has answered yet")
	default:
		row("Paged without answer", describeTallies(a.notAnswered))
	}

	row("Escalation", escalationSummary(inc, a))
	row("Priority", prioritySummary(inc, a))

	if svcs := affected(inc, a, opts); len(svcs) > 0 {
		row("Services affected", strings.Join(svcs, ", "))
	} else {
		row("Services affected", "none recorded")
	}
	if len(a.mergedIn) > 0 || len(a.merged) > 0 {
		row("Merged in", mergedSummary(a, opts))
	}
	if inc.MergedInto != 0 {
		row("Merged into", fmt.Sprintf("#%d", inc.MergedInto))
	}

	alerts := plural(inc.Alerts, "alert")
	switch {
	case inc.Firing == 0:
		alerts += ", none firing now"
	default:
		alerts += fmt.Sprintf(", %d still firing", inc.Firing)
	}
	row("Alerts", alerts)

	row("Public", publicSummary(inc, a))
	return rows
}

// after is ", 2m 31s after the start", and " (2s after Klaxon opened
// #58)" when the start is an alert's.
func after(a *analysis, ev *escalation.Event) string {
	if a.start.IsZero() || ev.At.IsZero() {
		return ""
	}
	s := ", " + span(a.start, ev.At) + " after the start"
	if a.startAlert != nil {
		s += fmt.Sprintf(" (%s after Klaxon opened #%d)", span(a.opened, ev.At), a.openedID)
	}
	return s
}

// alertBegan is `alert “Probe failed” began firing, per alertmanager`:
// the alert that dates the incident, and who said when it began.
func alertBegan(inc *escalation.Incident, rec *escalation.AlertRecord, opts Options) string {
	s := alertName(rec)
	if rec.Service != inc.Service {
		s += onService(rec.Service, opts)
	}
	return s + " began firing, " + perMonitor(rec)
}

// alertName is `alert “Probe failed”`, by the alert's summary, else its
// dedup key.
func alertName(rec *escalation.AlertRecord) string {
	if name := oneLine(rec.Alert.Summary); name != "" {
		return "alert “" + name + "”"
	}
	if key := oneLine(rec.Alert.DedupKey); key != "" {
		return "alert " + key
	}
	return "an alert"
}

// perMonitor is "per alertmanager", the integration the alert came by.
func perMonitor(rec *escalation.AlertRecord) string {
	if in := text(rec.Integration); in != "" {
		return "per " + in
	}
	return "per its monitor"
}

func escalationSummary(inc *escalation.Incident, a *analysis) string {
	var parts []string
	// A raised priority can move the incident to a louder policy without a
	// timeline entry, so the level and the policy are stated apart.
	if a.maxLevel > 0 {
		parts = append(parts, fmt.Sprintf("highest level reached: %d", a.maxLevel))
	}
	if inc.Policy != "" {
		parts = append(parts, "policy "+text(inc.Policy))
	} else {
		parts = append(parts, "no policy: paged directly")
	}
	if a.exhausted {
		parts = append(parts, "the policy ran out of levels and repeats")
	}
	for _, w := range a.woken {
		parts = append(parts, fmt.Sprintf("%s woken at %s", text(w.Person), clock(w.At)))
	}
	return strings.Join(parts, "; ")
}

func prioritySummary(inc *escalation.Incident, a *analysis) string {
	if len(a.priorities) == 0 {
		return inc.Priority.String() + ", unchanged"
	}
	v := inc.Priority.String()
	if first, _, ok := priorityRange(a); ok {
		v += ", opened as " + first.String()
	}
	for _, c := range a.priorities {
		switch {
		case !c.parsed:
			v += fmt.Sprintf("; changed at %s%s: %s", clock(c.ev.At), byWhom(c.ev.Actor, c.ev.Via), text(c.ev.Message))
		case c.to < c.from:
			v += fmt.Sprintf("; raised to %s at %s%s", c.to, clock(c.ev.At), byWhom(c.ev.Actor, c.ev.Via))
		default:
			v += fmt.Sprintf("; lowered to %s at %s%s", c.to, clock(c.ev.At), byWhom(c.ev.Actor, c.ev.Via))
		}
	}
	return v
}

func mergedSummary(a *analysis, opts Options) string {
	var parts []string
	var listed []int64
	for _, ev := range a.mergedIn {
		id, _ := mergedID(ev)
		listed = append(listed, id)
		parts = append(parts, fmt.Sprintf("#%d%s, merged at %s%s", id, mergedDetail(a, id, opts), clock(ev.At), byWhom(ev.Actor, ev.Via)))
	}
	for _, m := range a.merged {
		if !slices.Contains(listed, m.ID) {
			parts = append(parts, fmt.Sprintf("#%d%s", m.ID, mergedDetail(a, m.ID, opts)))
		}
	}
	return strings.Join(parts, "; ")
}

// mergedDetail is " DNS: … (DNS edge, opened 02:05 UTC)" for a merged-in
// incident the caller passed, nothing for one it did not.
func mergedDetail(a *analysis, id int64, opts Options) string {
	for _, m := range a.merged {
		if m.ID != id {
			continue
		}
		var about []string
		if m.Service != "" {
			about = append(about, service(m.Service, opts))
		}
		if !m.CreatedAt.IsZero() {
			about = append(about, "opened "+clock(m.CreatedAt))
		}
		s := ""
		if m.Title != "" {
			s += " " + text(m.Title)
		}
		if len(about) > 0 {
			s += " (" + strings.Join(about, ", ") + ")"
		}
		return s
	}
	return ""
}

func publicSummary(inc *escalation.Incident, a *analysis) string {
	if inc.Public == nil {
		if len(a.public) == 0 {
			return "not published"
		}
		last := a.public[len(a.public)-1]
		return fmt.Sprintf("%s, %s (%s)", text(string(last.Status)), clock(last.At), plural(len(a.public), "update"))
	}
	p := inc.Public
	v := fmt.Sprintf("“%s”, %s", text(p.Title), text(string(p.Status)))
	if !p.StartedAt.IsZero() {
		v += fmt.Sprintf("; public from %s, last updated %s", stamp(p.StartedAt), stamp(p.UpdatedAt))
	}
	if len(a.public) > 0 {
		v += fmt.Sprintf(" (%s)", plural(len(a.public), "update"))
	}
	return v
}
