package crashtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/store"
)

// runnerInFlight is the most pages a single kill can catch between the
// provider taking a page and Klaxon recording that it did: by default
// escalation.Runner has up to Concurrency pages at the pagers and up to
// MaxUnrecorded outcomes handed over but not yet committed.
const runnerInFlight = escalation.DefaultConcurrency + escalation.DefaultMaxUnrecorded

// slack is how long after a step falls due its page may still be on its way
// when the process is stopped: a tick, a claim and a request.
const slack = 3 * time.Second

// kill is one SIGKILL and the restart after it.
type kill struct {
	at      time.Time // just before the signal
	ready   time.Time // the next run answered /readyz
	inStorm bool      // senders were still posting
}

// snapshot is the database after the final stop, read through the store.
type snapshot struct {
	incidents map[int64]*escalation.Incident
	alerts    []*escalation.AlertRecord // by storm alert; nil when missing
	pages     map[int64]*escalation.Page
	pagesOf   map[int64][]*escalation.Page // by incident, in timeline order
}

func readStore(ctx context.Context, path string) (*snapshot, error) {
	db, err := store.Open(path, store.Options{})
	if err != nil {
		return nil, fmt.Errorf("open the database after the stop: %w", err)
	}
	defer db.Close()
	s := &snapshot{
		incidents: map[int64]*escalation.Incident{},
		alerts:    make([]*escalation.AlertRecord, stormAlerts),
		pages:     map[int64]*escalation.Page{},
		pagesOf:   map[int64][]*escalation.Page{},
	}
	err = db.View(ctx, func(tx escalation.Tx) error {
		incs, err := tx.Incidents("", 0)
		if err != nil {
			return err
		}
		for _, inc := range incs {
			s.incidents[inc.ID] = inc
			events, err := tx.Events(inc.ID)
			if err != nil {
				return err
			}
			for _, ev := range events {
				if ev.Kind != escalation.EventPageQueued {
					continue
				}
				p, err := tx.Page(ev.PageID)
				if err != nil {
					return fmt.Errorf("incident %d's timeline queues page %d: %w", inc.ID, ev.PageID, err)
				}
				s.pages[p.ID] = p
				s.pagesOf[inc.ID] = append(s.pagesOf[inc.ID], p)
			}
		}
		// Pages waiting in the outbox that no timeline names are lost
		// to everyone reading the incident: count them in too.
		outbox, err := tx.Outbox()
		if err != nil {
			return err
		}
		for _, p := range outbox {
			if _, ok := s.pages[p.ID]; !ok {
				s.pages[p.ID] = p
				s.pagesOf[p.IncidentID] = append(s.pagesOf[p.IncidentID], p)
			}
		}
		for a := range stormAlerts {
			rec, err := tx.Alert(service, fingerprint(a))
			switch {
			case err == nil:
				s.alerts[a] = rec
			case !errors.Is(err, escalation.ErrNotFound):
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the database: %w", err)
	}
	return s, nil
}

// findings collects what went wrong by kind, so a broken invariant is
// reported once with its count and a few examples, not a thousand times.
type findings struct {
	kinds    []string
	examples map[string][]string
	counts   map[string]int
}

func (f *findings) add(kind, format string, args ...any) {
	if f.counts == nil {
		f.counts, f.examples = map[string]int{}, map[string][]string{}
	}
	if f.counts[kind] == 0 {
		f.kinds = append(f.kinds, kind)
	}
	f.counts[kind]++
	if len(f.examples[kind]) < 5 {
		f.examples[kind] = append(f.examples[kind], fmt.Sprintf(format, args...))
	}
}

func (f *findings) report(t *testing.T) {
	t.Helper()
	for _, k := range f.kinds {
		t.Errorf("%s: %d time(s), e.g.\n    %s", k, f.counts[k], strings.Join(f.examples[k], "\n    "))
	}
}

// figures are the run's numbers, logged in one block.
type figures struct {
	posted, postsAcked, postsFailed   int64
	alertsFired, alertsAcked, found   int
	resolved, triggered, incidents    int
	stepsDue, stepsPaged, stepsMissed int
	// Steps skipped for a later one: across a kill, or while the runner
	// was catching up; and steps a resolve came before.
	skippedKill, skippedBusy, cutByResolve int
	pages, delivered, requests, dups       int
	maxDeliveries, torn                    int
	afterLastRestart                       int
	lagP50, lagP99, lagMax                 time.Duration
}

// audit holds everything the checks compare: what the monitor was told,
// what the store holds, what the provider got, and when Klaxon was killed.
type audit struct {
	alerts []answered
	snap   *snapshot
	log    []delivery
	torn   int
	kills  []kill
	end    time.Time // the final SIGTERM

	deliveries map[int64][]time.Time // page → arrivals at the provider
	fig        figures
	f          findings
}

func (a *audit) run() {
	a.deliveries = map[int64][]time.Time{}
	for _, d := range a.log {
		a.deliveries[d.page] = append(a.deliveries[d.page], d.at)
	}
	a.checkAlerts()
	a.checkIncidents()
	a.checkSteps()
	a.checkPages()
	a.checkProvider()
}

// checkAlerts: every alert answered 2xx is stored, in the incident the
// answer named, as the last answered post left it.
func (a *audit) checkAlerts() {
	for i, st := range a.alerts {
		if st.fired {
			a.fig.alertsFired++
		}
		if !st.acked {
			if st.fired {
				a.f.add("alert fired but never answered 2xx", "alert %d (%s)", i, fingerprint(i))
			}
			continue
		}
		a.fig.alertsAcked++
		if st.moved {
			a.f.add("two 2xx answers for one alert named different incidents", "alert %d", i)
		}
		if st.ignored {
			a.f.add("alert unknown to Klaxon after it answered 2xx for its firing", "alert %d (%s): a later post was ignored", i, fingerprint(i))
		}
		rec := a.snap.alerts[i]
		if rec == nil {
			a.f.add("alert answered 2xx is missing from the store", "alert %d (%s), incident %d", i, fingerprint(i), st.incident)
			continue
		}
		a.fig.found++
		if st.incident != 0 && rec.IncidentID != st.incident {
			a.f.add("alert stored in another incident than its 2xx named", "alert %d: answered %d, stored %d", i, st.incident, rec.IncidentID)
		}
		inc := a.snap.incidents[rec.IncidentID]
		if inc == nil {
			a.f.add("alert's incident is missing from the store", "alert %d: incident %d", i, rec.IncidentID)
			continue
		}
		switch {
		case st.resolved:
			if rec.Alert.State != escalation.AlertResolved || inc.Status != escalation.StatusResolved {
				a.f.add("resolve answered 2xx is not in the store", "alert %d: alert %s, incident %d %s", i, rec.Alert.State, inc.ID, inc.Status)
			}
		default:
			if rec.Alert.State != escalation.AlertFiring || inc.Status != escalation.StatusTriggered {
				a.f.add("firing alert answered 2xx is not firing in the store", "alert %d: alert %s, incident %d %s", i, rec.Alert.State, inc.ID, inc.Status)
			}
			if rec.Alert.Summary != summary(i, st.rev) {
				a.f.add("alert does not hold its last answered update", "alert %d: want %q, stored %q", i, summary(i, st.rev), rec.Alert.Summary)
			}
		}
	}
}

// checkIncidents: one incident per alert, none without one, and the
// escalation of those still triggered is where the policy puts it.
func (a *audit) checkIncidents() {
	a.fig.incidents = len(a.snap.incidents)
	owners := map[int64]int{}
	for _, rec := range a.snap.alerts {
		if rec != nil {
			owners[rec.IncidentID]++
		}
	}
	for id, inc := range a.snap.incidents {
		if owners[id] != 1 || inc.Alerts != 1 {
			a.f.add("incident does not hold exactly its one alert", "incident %d: %d alerts point at it, it counts %d", id, owners[id], inc.Alerts)
		}
		switch inc.Status {
		case escalation.StatusResolved:
			a.fig.resolved++
			continue
		case escalation.StatusTriggered:
			a.fig.triggered++
		default:
			a.f.add("incident neither triggered nor resolved", "incident %d is %s", id, inc.Status)
			continue
		}
		for _, p := range people() {
			since := p.since(inc.CreatedAt)
			if since.After(a.end.Add(-slack)) {
				continue
			}
			i := slices.IndexFunc(inc.Escalation.Runs, func(r escalation.ContactRun) bool { return r.Person == p.name })
			switch {
			case i < 0:
				a.f.add("triggered incident stopped paging someone", "incident %d has no contact run for %s", id, p.name)
			case !inc.Escalation.Runs[i].Since.Equal(since):
				a.f.add("contact run lost its place", "incident %d: %s paged since %s, want %s", id, p.name,
					inc.Escalation.Runs[i].Since.Format(time.StampMilli), since.Format(time.StampMilli))
			}
		}
	}
}

// checkSteps: escalation carried on through every restart.
//
// Every incident's first page is queued in the transaction that opens it.
// After that each contact step that fell due before the incident stopped
// paging (its resolve, or the end) is paged, or skipped for a later step of
// the same run: when several steps are overdue Klaxon sends only the
// latest, by design, whether it was down or busy catching up. A step due
// before the end that no page of its run reached means the run stalled.
// Only a resolved incident may stop short: its resolve can come before a
// late tick reaches the step.
func (a *audit) checkSteps() {
	var lags []time.Duration
	for id, inc := range a.snap.incidents {
		stop := a.end
		if inc.Status == escalation.StatusResolved {
			stop = inc.ResolvedAt
		}
		for _, p := range people() {
			since := p.since(inc.CreatedAt)
			var pages []*escalation.Page
			for _, pg := range a.snap.pagesOf[id] {
				if pg.Person == p.name {
					pages = append(pages, pg)
				}
			}
			slices.SortFunc(pages, func(x, y *escalation.Page) int { return x.Step - y.Step })
			if p.level == 1 && (len(pages) == 0 || pages[0].Step != 0 || !pages[0].CreatedAt.Equal(inc.CreatedAt)) {
				a.f.add("incident opened without its first page", "incident %d: no step 0 for %s queued with it", id, p.name)
			}
			for j, pg := range pages {
				d, ch := due(since, pg.Step)
				if j > 0 && pages[j-1].Step == pg.Step {
					a.f.add("contact step queued twice", "incident %d: %s step %d, pages %d and %d", id, p.name, pg.Step, pages[j-1].ID, pg.ID)
				}
				if string(pg.Channel) != ch {
					a.f.add("page on the wrong channel", "incident %d: %s step %d on %s, want %s", id, p.name, pg.Step, pg.Channel, ch)
				}
				if pg.CreatedAt.Before(d) {
					a.f.add("page queued before its step fell due", "incident %d: %s step %d queued %s early", id, p.name, pg.Step, d.Sub(pg.CreatedAt))
				}
				if inc.Status == escalation.StatusResolved && pg.CreatedAt.After(inc.ResolvedAt) {
					a.f.add("page queued after the incident resolved", "incident %d: page %d", id, pg.ID)
				}
				if at := a.deliveries[pg.ID]; len(at) > 0 {
					lags = append(lags, at[0].Sub(d))
				}
			}
			limit := stop.Add(-slack)
			for k := 0; ; k++ {
				d, _ := due(since, k)
				if d.After(limit) {
					break
				}
				a.fig.stepsDue++
				next := slices.IndexFunc(pages, func(pg *escalation.Page) bool { return pg.Step >= k })
				switch {
				case next >= 0 && pages[next].Step == k:
					a.fig.stepsPaged++
				case next >= 0 && a.killedBetween(d, pages[next].CreatedAt):
					a.fig.skippedKill++
				case next >= 0:
					a.fig.skippedBusy++
				case inc.Status == escalation.StatusResolved:
					a.fig.cutByResolve++
				default:
					a.fig.stepsMissed++
					a.f.add("contact step fell due and nothing was paged for it", "incident %d: %s step %d due %s (%s after it was created), last step paged %d",
						id, p.name, k, d.Format(time.StampMilli), d.Sub(inc.CreatedAt), lastStep(pages))
				}
			}
		}
	}
	slices.Sort(lags)
	if n := len(lags); n > 0 {
		a.fig.lagP50, a.fig.lagP99, a.fig.lagMax = lags[n/2], lags[n*99/100], lags[n-1]
	}
}

func lastStep(pages []*escalation.Page) int {
	if len(pages) == 0 {
		return -1
	}
	return pages[len(pages)-1].Step
}

func (a *audit) killedBetween(from, to time.Time) bool {
	return slices.ContainsFunc(a.kills, func(k kill) bool { return !k.at.Before(from) && !k.at.After(to) })
}

// checkPages: each page ended where a clean stop leaves it, and every page
// of a triggered incident queued before the end reached the provider.
func (a *audit) checkPages() {
	limit := a.end.Add(-slack)
	for _, pg := range a.snap.pages {
		a.fig.pages++
		inc := a.snap.incidents[pg.IncidentID]
		if inc == nil {
			a.f.add("page of an incident that does not exist", "page %d: incident %d", pg.ID, pg.IncidentID)
			continue
		}
		delivered := len(a.deliveries[pg.ID]) > 0
		switch pg.Status {
		case escalation.PageSent:
			if !delivered {
				a.f.add("page recorded sent that the provider never got", "page %d (incident %d, %s)", pg.ID, pg.IncidentID, pg.Person)
			}
		case escalation.PageCancelled:
			if inc.Status == escalation.StatusTriggered {
				a.f.add("page of a triggered incident cancelled", "page %d (incident %d): %s", pg.ID, pg.IncidentID, pg.Error)
			}
		case escalation.PageQueued:
			if inc.Status != escalation.StatusTriggered || !pg.CreatedAt.After(limit) {
				a.f.add("page left in the outbox", "page %d (incident %d %s) queued %s before the end",
					pg.ID, pg.IncidentID, inc.Status, a.end.Sub(pg.CreatedAt).Round(time.Millisecond))
			}
		default:
			a.f.add("page neither sent, cancelled nor waiting after a clean stop", "page %d (incident %d) is %s: %s", pg.ID, pg.IncidentID, pg.Status, pg.Error)
		}
		if inc.Status == escalation.StatusTriggered && !pg.CreatedAt.After(limit) && !delivered {
			a.f.add("page of a triggered incident never reached the provider", "page %d (incident %d, %s step %d) queued %s",
				pg.ID, pg.IncidentID, pg.Person, pg.Step, pg.CreatedAt.Format(time.StampMilli))
		}
	}
}

// checkProvider: the provider got only pages Klaxon queued, each again only
// across a kill, and pages kept coming after the last restart.
//
// The duplicate bound: a page is sent again after a restart only if the
// kill caught it claimed and not yet recorded (RecoverOutbox re-queues
// exactly those), and the runner has at most runnerInFlight pages sent or
// being sent and not yet recorded at a time. So each kill can duplicate
// each in-flight page once: no page more than kills+1 times, no more than
// kills×runnerInFlight duplicates.
func (a *audit) checkProvider() {
	a.fig.requests, a.fig.torn = len(a.log), a.torn
	for _, d := range a.log {
		pg := a.snap.pages[d.page]
		switch {
		case pg == nil:
			a.f.add("provider got a page Klaxon never queued", "page id %d to %s", d.page, d.person)
		case pg.Person != d.person || string(pg.Channel) != d.channel:
			a.f.add("provider got a page for someone else", "page %d: got %s by %s, queued for %s by %s", d.page, d.person, d.channel, pg.Person, pg.Channel)
		}
	}
	for id, at := range a.deliveries {
		a.fig.delivered++
		a.fig.dups += len(at) - 1
		a.fig.maxDeliveries = max(a.fig.maxDeliveries, len(at))
		if len(at) > len(a.kills)+1 {
			a.f.add("page delivered more than kills+1 times", "page %d delivered %d times, %d kills", id, len(at), len(a.kills))
		}
		for i := 1; i < len(at); i++ {
			// The first send is by the run that was killed, the second by
			// a later run.
			across := slices.ContainsFunc(a.kills, func(k kill) bool { return !at[i-1].After(k.ready) && !at[i].Before(k.at) })
			if !across {
				a.f.add("page delivered twice with no kill between", "page %d at %s and %s", id,
					at[i-1].Format(time.StampMilli), at[i].Format(time.StampMilli))
			}
		}
	}
	if bound := len(a.kills) * runnerInFlight; a.fig.dups > bound {
		a.f.add("more duplicate pages than the kills can explain", "%d duplicates after %d kills (bound %d)", a.fig.dups, len(a.kills), bound)
	}

	last := a.kills[len(a.kills)-1].ready
	pagedAfter := map[int64]bool{}
	for _, d := range a.log {
		if d.at.After(last) {
			a.fig.afterLastRestart++
			if pg := a.snap.pages[d.page]; pg != nil {
				pagedAfter[pg.IncidentID] = true
			}
		}
	}
	for id, inc := range a.snap.incidents {
		// Steps come every callAfter: an incident triggered through the
		// last restart had one due after it.
		if inc.Status == escalation.StatusTriggered && inc.CreatedAt.Before(last) && !pagedAfter[id] {
			a.f.add("triggered incident got no page after the last restart", "incident %d, created %s", id, inc.CreatedAt.Format(time.StampMilli))
		}
	}
}
