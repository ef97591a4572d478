package postmortem

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// analysis is what the timeline says once read through: the figures of the
// summary and the computed lines of the timeline.
type analysis struct {
	events []escalation.Event // in time order

	// start is the earliest sign of the incident: when its earliest alert
	// began, per the monitor (startAlert), or else when Klaxon opened it.
	start      time.Time
	startAlert *escalation.AlertRecord
	// opened is when Klaxon opened the incident: its creation, or an
	// incident merged into it that opened earlier (startedBy); openedID is
	// the one that opened first.
	opened    time.Time
	openedID  int64
	startedBy *escalation.Incident
	// last is the latest moment the draft knows of.
	last time.Time

	firstPage   *escalation.Event // first page delivered
	pagesFailed int
	ack         *escalation.Event // first acknowledgement (a snooze counts)
	resolution  *escalation.Event // what closed it, when it is closed now
	reopened    int
	// quiet is how long it stayed resolved before reopenings, and spells
	// how many times it was open: the impact was not one stretch.
	quiet  time.Duration
	spells int

	// unanswered[i] lists who was paged and did not answer in the paging
	// window that event i closed; notAnswered adds up every window.
	unanswered  map[int][]*tally
	notAnswered []*tally
	stillPaging []*tally // the last window, still open: nobody has answered

	priorities []priorityChange
	woken      []escalation.Event
	maxLevel   int
	exhausted  bool
	mergedIn   []escalation.Event
	merged     []*escalation.Incident // Options.Merged, by ID, without repeats
	public     []escalation.Event
}

// tally is one person's pages in a paging window.
type tally struct {
	person      string
	sent        map[escalation.Channel]int
	failed      int
	first, last time.Time
}

type priorityChange struct {
	ev       escalation.Event
	from, to escalation.Priority
	parsed   bool
}

func analyse(inc *escalation.Incident, events []escalation.Event, opts Options) *analysis {
	a := &analysis{events: slices.Clone(events), unanswered: map[int][]*tally{}}
	// The store keeps entries in the order they were written; a level that
	// started late after downtime is dated when it was due, so order by time.
	slices.SortStableFunc(a.events, func(x, y escalation.Event) int { return x.At.Compare(y.At) })

	a.opened, a.openedID = inc.CreatedAt, inc.ID
	for _, ev := range a.events {
		if a.opened.IsZero() && !ev.At.IsZero() {
			a.opened = ev.At
		}
		if ev.At.After(a.last) {
			a.last = ev.At
		}
	}
	if inc.UpdatedAt.After(a.last) {
		a.last = inc.UpdatedAt
	}
	for _, m := range opts.Merged {
		if m == nil || m.ID == inc.ID || slices.ContainsFunc(a.merged, func(o *escalation.Incident) bool { return o.ID == m.ID }) {
			continue
		}
		a.merged = append(a.merged, m)
		if !m.CreatedAt.IsZero() && (a.opened.IsZero() || m.CreatedAt.Before(a.opened)) {
			a.opened, a.openedID, a.startedBy = m.CreatedAt, m.ID, m
		}
	}
	slices.SortFunc(a.merged, func(x, y *escalation.Incident) int { return cmp.Compare(x.ID, y.ID) })
	a.start = a.opened
	if a.startAlert = firstAlert(a.opened, opts.Alerts); a.startAlert != nil {
		a.start = a.startAlert.Alert.StartsAt
	}

	a.readPaging()
	if inc.Status != escalation.StatusTriggered {
		// Acknowledged or resolved without a timeline entry saying so: the
		// last pages were unanswered, but nobody is being paged now.
		a.stillPaging = nil
	}
	for i := range a.events {
		ev := &a.events[i]
		switch ev.Kind {
		case escalation.EventPageSent:
			if a.firstPage == nil {
				a.firstPage = ev
			}
		case escalation.EventPageFailed:
			a.pagesFailed++
		case escalation.EventAcknowledged:
			if a.ack == nil {
				a.ack = ev
			}
		case escalation.EventSnoozed:
			if a.ack == nil && ev.Actor != "" {
				a.ack = ev
			}
		case escalation.EventReopened:
			a.reopened++
		case escalation.EventPriorityChanged:
			from, to, ok := parsePriorityChange(ev.Message)
			a.priorities = append(a.priorities, priorityChange{ev: *ev, from: from, to: to, parsed: ok})
		case escalation.EventWoken:
			a.woken = append(a.woken, *ev)
		case escalation.EventEscalated:
			a.maxLevel = max(a.maxLevel, ev.Level)
		case escalation.EventPolicyExhausted:
			a.exhausted = true
		case escalation.EventMerged:
			if _, ok := mergedID(*ev); ok {
				a.mergedIn = append(a.mergedIn, *ev)
			}
		case escalation.EventPublicUpdate:
			a.public = append(a.public, *ev)
		}
	}
	a.reopened = max(a.reopened, inc.Reopened)
	var resolvedAt time.Time
	for _, ev := range a.events {
		switch {
		case ev.Kind == escalation.EventResolved:
			resolvedAt = ev.At
		case ev.Kind == escalation.EventReopened && !resolvedAt.IsZero() && ev.At.After(resolvedAt):
			a.quiet += ev.At.Sub(resolvedAt)
			a.spells++
			resolvedAt = time.Time{}
		}
	}
	if a.spells > 0 {
		a.spells++ // the first one
	}
	if a.ack == nil && !inc.AcknowledgedAt.IsZero() {
		// Acknowledged with no entry to say so: the incident's own record.
		a.ack = &escalation.Event{At: inc.AcknowledgedAt, Kind: escalation.EventAcknowledged, Actor: inc.AcknowledgedBy}
	}
	if inc.Status == escalation.StatusResolved {
		a.resolution = a.closing(inc.ResolvedAt)
		if a.resolution == nil {
			a.resolution = &escalation.Event{At: inc.ResolvedAt, Kind: escalation.EventResolved, Actor: inc.ResolvedBy}
		}
	}
	return a
}

// maxDetectLag bounds how long before Klaxon opened an incident an alert's
// start may date it. Alertmanager keeps an alert's startsAt for as long as
// it fires, so an alert that fired for weeks unrouted, silenced or below
// the paging severity before it paged, or a monitor with a wrong clock,
// would stretch the outage over weeks. A week is far beyond any group
// wait, scrape interval or queued retry: a longer lag is not detection,
// and is for the people writing the postmortem to tell.
const maxDetectLag = 7 * 24 * time.Hour

// firstAlert is the alert whose monitor says it began earliest before
// Klaxon opened the incident, or nil when none did.
func firstAlert(opened time.Time, alerts []*escalation.AlertRecord) *escalation.AlertRecord {
	if opened.IsZero() {
		return nil // nothing to measure the lag from, or to bound it by
	}
	var first *escalation.AlertRecord
	for _, rec := range alerts {
		if rec == nil {
			continue
		}
		at := rec.Alert.StartsAt
		// Zero: the sender gives no start. At or after the opening: no
		// lag, or a later occurrence of the alert (a refire) that moved
		// to this incident, which says nothing of when it began.
		if at.IsZero() || !at.Before(opened) || opened.Sub(at) > maxDetectLag {
			continue
		}
		// Ties broken by what the draft shows, so that the order the
		// caller lists the alerts in cannot change the draft.
		if first == nil || cmp.Or(at.Compare(first.Alert.StartsAt), strings.Compare(rec.Service, first.Service),
			strings.Compare(rec.Integration, first.Integration), strings.Compare(rec.Alert.Summary, first.Alert.Summary),
			strings.Compare(rec.Alert.DedupKey, first.Alert.DedupKey)) < 0 {
			first = rec
		}
	}
	return first
}

// closing is the last entry that closed the incident at the time the
// incident records (any time, when it records none): a resolution, or
// the merge of this incident into another.
func (a *analysis) closing(at time.Time) *escalation.Event {
	for i := len(a.events) - 1; i >= 0; i-- {
		ev := &a.events[i]
		if (ev.Kind == escalation.EventResolved || mergedAway(*ev)) && (at.IsZero() || ev.At.Equal(at)) {
			return ev
		}
	}
	return nil
}

// mergedAway reports whether the entry is this incident's merge into
// another, which resolves it: "merged into #58 title".
func mergedAway(ev escalation.Event) bool {
	return ev.Kind == escalation.EventMerged && strings.HasPrefix(ev.Message, "merged into")
}

// readPaging splits the timeline into paging windows — from the start, a
// reopening, a snooze running out, or a new escalation, to the
// acknowledgement or resolution that stops the pages — and counts, per
// window, the pages to people who did not answer. Pages a provider reports
// sent after a window closed were already on their way: they were not
// unanswered.
func (a *analysis) readPaging() {
	paging := true
	window := map[string]*tally{}
	total := map[string]*tally{}
	closeWindow := func(i int, by string) {
		var list []*tally
		for name, t := range window {
			if name != by {
				list = append(list, t)
				addTally(total, t)
			}
		}
		sortTallies(list)
		if len(list) > 0 {
			a.unanswered[i] = list
		}
		paging, window = false, map[string]*tally{}
	}
	for i, ev := range a.events {
		switch ev.Kind {
		case escalation.EventPageSent, escalation.EventPageFailed:
			if !paging || ev.Person == "" {
				continue
			}
			t := window[ev.Person]
			if t == nil {
				t = &tally{person: ev.Person, sent: map[escalation.Channel]int{}, first: ev.At}
				window[ev.Person] = t
			}
			if ev.Kind == escalation.EventPageSent {
				t.sent[ev.Channel]++
			} else {
				t.failed++
			}
			t.last = ev.At
		case escalation.EventAcknowledged, escalation.EventResolved:
			if paging {
				closeWindow(i, ev.Actor)
			}
		case escalation.EventSnoozed:
			switch {
			case ev.Actor == "":
				paging = true // the snooze ran out
			case paging:
				closeWindow(i, ev.Actor)
			}
		case escalation.EventMerged:
			if paging && mergedAway(ev) {
				closeWindow(i, ev.Actor)
			}
		case escalation.EventTriggered, escalation.EventReopened, escalation.EventEscalated,
			escalation.EventReassigned, escalation.EventPageQueued, escalation.EventWoken:
			paging = true
		}
	}
	if paging {
		for _, t := range window {
			a.stillPaging = append(a.stillPaging, t)
			addTally(total, t)
		}
		sortTallies(a.stillPaging)
	}
	for _, t := range total {
		a.notAnswered = append(a.notAnswered, t)
	}
	sortTallies(a.notAnswered)
}

func addTally(total map[string]*tally, t *tally) {
	sum := total[t.person]
	if sum == nil {
		sum = &tally{person: t.person, sent: map[escalation.Channel]int{}, first: t.first}
		total[t.person] = sum
	}
	for ch, n := range t.sent {
		sum.sent[ch] += n
	}
	sum.failed += t.failed
	if t.first.Before(sum.first) {
		sum.first = t.first
	}
	if t.last.After(sum.last) {
		sum.last = t.last
	}
}

// sortTallies puts the first paged first.
func sortTallies(ts []*tally) {
	slices.SortFunc(ts, func(x, y *tally) int {
		if c := x.first.Compare(y.first); c != 0 {
			return c
		}
		return strings.Compare(x.person, y.person)
	})
}

// parsePriorityChange reads "priority P1 → P0", as the core words it,
// possibly followed by why ("; paging continues on …").
func parsePriorityChange(msg string) (from, to escalation.Priority, ok bool) {
	rest, ok := strings.CutPrefix(msg, "priority ")
	if !ok {
		return 0, 0, false
	}
	before, after, ok := strings.Cut(rest, " → ")
	if !ok {
		return 0, 0, false
	}
	after, _, _ = strings.Cut(after, ";")
	from, err := escalation.ParsePriority(before)
	if err != nil {
		return 0, 0, false
	}
	to, err = escalation.ParsePriority(after)
	if err != nil {
		return 0, 0, false
	}
	return from, to, true
}
