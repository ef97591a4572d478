package postmortem_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/postmortem"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// night is Saturday 14 March 2026 in UTC, the night acme.example expired.
func night(clock string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05", "2026-03-14 "+clock)
	if err != nil {
		panic(err)
	}
	return t
}

// paged is one page as the timeline records it: queued, then sent a couple
// of seconds later by Twilio.
func paged(clock, person string, ch escalation.Channel, level int, id int64) []escalation.Event {
	queued := night(clock)
	return []escalation.Event{
		{At: queued, Kind: escalation.EventPageQueued, Person: person, Channel: ch, PageID: id, Level: level},
		{At: queued.Add(2 * time.Second), Kind: escalation.EventPageSent, Person: person, Channel: ch, Provider: "twilio", PageID: id},
	}
}

func monitor(ev escalation.Event) escalation.Event {
	ev.Actor, ev.Via = "alertmanager", escalation.ViaMonitor
	return ev
}

func viaSlack(ev escalation.Event) escalation.Event {
	ev.Via = "slack"
	return ev
}

// domainExpiry replays the first outage of PRODUCT.md through Klaxon: the
// domain lapses at night; probes fail with 502s; alice, the primary, is
// asleep in Berlin and answers neither SMS nor calls; level 2 pages bob in
// New York and skips erin, asleep in Berlin, until she is woken; bob
// acknowledges by SMS, merges the DNS incident opened two minutes before,
// raises the priority and keeps customers informed until DNS recovers.
func domainExpiry() (*escalation.Incident, []escalation.Event, postmortem.Options) {
	dns := &escalation.Incident{
		ID: 57, Service: "edge-dns", Title: "DNS: acme.example does not resolve (NXDOMAIN)",
		Status: escalation.StatusResolved, Priority: escalation.P2, Policy: "edge-default",
		CreatedAt: night("02:05:12"), ResolvedAt: night("02:41:05"), ResolvedBy: "bob", MergedInto: 58,
	}
	inc := &escalation.Incident{
		ID: 58, Service: "checkout", Title: "Probe failed: https://shop.acme.example returns 502",
		Status: escalation.StatusResolved, Priority: escalation.P0, Policy: "checkout-p0",
		CreatedAt: night("02:07:41"), UpdatedAt: night("11:12:00"),
		AcknowledgedAt: night("02:38:30"), AcknowledgedBy: "bob",
		ResolvedAt: night("11:09:30"), ResolvedBy: "bob",
		Alerts: 5,
		Public: &escalation.Public{Title: "Checkout and API unavailable", Status: escalation.PublicResolved,
			StartedAt: night("02:52:10"), UpdatedAt: night("11:12:00")},
	}
	var events []escalation.Event
	add := func(evs ...escalation.Event) { events = append(events, evs...) }
	add(
		monitor(escalation.Event{At: night("02:07:41"), Kind: escalation.EventTriggered,
			Message: "P1 Probe failed: https://shop.acme.example returns 502 on checkout"}),
		monitor(escalation.Event{At: night("02:07:41"), Kind: escalation.EventAlertAttached, DedupKey: "8c1f2d3e4a5b6c7d",
			Message: "Probe failed: https://shop.acme.example returns 502"}),
		escalation.Event{At: night("02:07:41"), Kind: escalation.EventEscalated, Level: 1,
			Message: "policy checkout-p1 level 1: paging alice (on call for checkout-primary)"},
	)
	add(paged("02:07:41", "alice", escalation.ChannelSMS, 1, 101)...)
	add(monitor(escalation.Event{At: night("02:09:12"), Kind: escalation.EventAlertAttached, Count: 3,
		Message: "3 alerts attached: Probe failed: https://api.acme.example returns 502; Probe failed: https://acme.example returns 502; Probe failed: https://app.acme.example returns 502"}))
	add(paged("02:10:41", "alice", escalation.ChannelVoice, 1, 102)...)
	add(
		escalation.Event{At: night("02:13:41"), Kind: escalation.EventPageQueued, Person: "alice", Channel: escalation.ChannelVoice, PageID: 103, Level: 1},
		escalation.Event{At: night("02:13:43"), Kind: escalation.EventPageFailed, Person: "alice", Channel: escalation.ChannelVoice, PageID: 103, Provider: "twilio",
			Message: "attempt 1 failed: twilio: 503 Service Unavailable; retrying in 30s"},
		escalation.Event{At: night("02:14:13"), Kind: escalation.EventPageSent, Person: "alice", Channel: escalation.ChannelVoice, PageID: 103, Provider: "twilio"},
	)
	add(paged("02:17:41", "alice", escalation.ChannelSMS, 1, 104)...)
	add(paged("02:20:41", "alice", escalation.ChannelVoice, 1, 105)...)
	add(escalation.Event{At: night("02:22:41"), Kind: escalation.EventEscalated, Level: 2,
		Message: "policy checkout-p1 level 2: paging bob; skipped erin (asleep, 03:22 CET): woken 15m later unless someone acknowledges"})
	add(paged("02:22:41", "bob", escalation.ChannelSMS, 2, 106)...)
	add(paged("02:23:41", "alice", escalation.ChannelVoice, 1, 107)...)
	add(paged("02:25:41", "bob", escalation.ChannelVoice, 2, 108)...)
	add(paged("02:27:41", "alice", escalation.ChannelSMS, 1, 109)...)
	add(paged("02:30:41", "alice", escalation.ChannelVoice, 1, 110)...)
	add(paged("02:33:41", "alice", escalation.ChannelVoice, 1, 111)...)
	add(escalation.Event{At: night("02:37:41"), Kind: escalation.EventWoken, Person: "erin", Level: 2,
		Message: "waking erin at 03:37 CET their time: nobody acknowledged"})
	add(paged("02:37:41", "erin", escalation.ChannelSMS, 2, 112)...)
	add(
		escalation.Event{At: night("02:37:41"), Kind: escalation.EventPageQueued, Person: "alice", Channel: escalation.ChannelSMS, PageID: 113, Level: 1},
		escalation.Event{At: night("02:37:42"), Kind: escalation.EventPageFailed, Person: "alice", Channel: escalation.ChannelSMS, PageID: 113, Provider: "twilio",
			Message: "attempt 1 failed: twilio: 429 Too Many Requests; retrying in 1m0s"},
		escalation.Event{At: night("02:38:30"), Kind: escalation.EventAcknowledged, Actor: "bob", Via: escalation.ViaSMS},
		escalation.Event{At: night("02:38:30"), Kind: escalation.EventPageCancelled, Person: "alice", Channel: escalation.ChannelSMS, PageID: 113,
			Message: "acknowledged by bob"},
		viaSlack(escalation.Event{At: night("02:41:05"), Kind: escalation.EventMerged, Actor: "bob", Count: 1,
			Message: "merged #57 DNS: acme.example does not resolve (NXDOMAIN) (1 alert(s)) into this incident"}),
		viaSlack(escalation.Event{At: night("02:44:20"), Kind: escalation.EventNote, Actor: "bob",
			Message: "Registrar: acme.example expired 2026-03-13 23:59 UTC. Auto-renew failed: the card on file had expired. Renewing by hand."}),
		viaSlack(escalation.Event{At: night("02:50:02"), Kind: escalation.EventPriorityChanged, Actor: "bob",
			Message: "priority P1 → P0"}),
		viaSlack(escalation.Event{At: night("02:52:10"), Kind: escalation.EventPublicUpdate, Actor: "bob", Status: escalation.PublicInvestigating,
			Message: "Checkout and the API are unreachable for many customers. We are investigating."}),
		viaSlack(escalation.Event{At: night("03:05:40"), Kind: escalation.EventPublicUpdate, Actor: "bob", Status: escalation.PublicIdentified,
			Message: "Our domain registration lapsed and has been renewed. DNS is recovering; some networks may take a few hours to see it."}),
		viaSlack(escalation.Event{At: night("03:06:55"), Kind: escalation.EventNote, Actor: "erin",
			Message: "Negative-cache TTL on the zone is 3h: big ISP resolvers keep NXDOMAIN until about 06:00 UTC."}),
		monitor(escalation.Event{At: night("06:31:15"), Kind: escalation.EventAlertResolved, Count: 2,
			Message: "2 alerts resolved: Probe failed: https://api.acme.example returns 502; Probe failed: https://app.acme.example returns 502"}),
		viaSlack(escalation.Event{At: night("09:40:00"), Kind: escalation.EventPublicUpdate, Actor: "bob", Status: escalation.PublicMonitoring,
			Message: "DNS has recovered for almost all networks. We are monitoring."}),
		monitor(escalation.Event{At: night("10:58:20"), Kind: escalation.EventAlertResolved, Count: 3,
			Message: "3 alerts resolved: Probe failed: https://shop.acme.example returns 502; Probe failed: https://acme.example returns 502; DNS: acme.example does not resolve (NXDOMAIN)"}),
		viaSlack(escalation.Event{At: night("11:09:30"), Kind: escalation.EventResolved, Actor: "bob",
			Message: "Domain renewed for 5 years; auto-renew now on the company card."}),
		viaSlack(escalation.Event{At: night("11:12:00"), Kind: escalation.EventPublicUpdate, Actor: "bob", Status: escalation.PublicResolved,
			Message: "Resolved: acme.example works everywhere again. We will publish what happened."}),
	)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return inc, events, postmortem.Options{
		Company:  "Acme",
		Services: map[string]string{"checkout": "Checkout", "edge-dns": "Edge DNS"},
		Location: berlin,
		Merged:   []*escalation.Incident{dns},
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update after checking):\n got %s\nwant %s", name, got, want)
	}
}

func TestDomainExpiryDraft(t *testing.T) {
	inc, events, opts := domainExpiry()
	if got := postmortem.MergedFrom(events); !slices.Equal(got, []int64{57}) {
		t.Fatalf("MergedFrom = %v, want [57]", got)
	}
	md := postmortem.Draft(inc, events, opts)
	checkGolden(t, "domain_expiry.golden.md", []byte(md))
	checkTables(t, md)

	before := slices.Clone(events)
	if again := postmortem.Draft(inc, events, opts); again != md {
		t.Error("a second draft of the same incident differs")
	}
	if !slices.Equal(events, before) {
		t.Error("Draft changed the caller's events")
	}
}

func TestDraftIsUTCOnlyWithoutLocation(t *testing.T) {
	inc, events, opts := domainExpiry()
	opts.Location = nil
	md := postmortem.Draft(inc, events, opts)
	if !strings.Contains(md, "| UTC | What happened |\n| --- | --- |\n") {
		t.Errorf("timeline header is not UTC only:\n%s", md)
	}
	if strings.Contains(md, "| Sat 03:07 CET |") {
		t.Error("a local-time column appears without a location")
	}
	checkTables(t, md)
}

// checkTables checks that every row of every table in md has as many cells
// as its header, splitting cells the way GitHub's Markdown does: a pipe
// preceded by a backslash escape is text.
func checkTables(t *testing.T, md string) {
	t.Helper()
	want := 0
	for i, l := range strings.Split(md, "\n") {
		if !strings.HasPrefix(l, "|") {
			want = 0
			continue
		}
		n := len(cells(l))
		if want == 0 {
			want = n
			continue
		}
		if n != want {
			t.Errorf("line %d has %d cells, its table %d:\n%s", i+1, n, want, l)
		}
	}
}

// cells splits a table row into cells.
func cells(row string) []string {
	row = strings.TrimSpace(row)
	row = strings.TrimPrefix(row, "|")
	var out []string
	var cell strings.Builder
	for i := 0; i < len(row); i++ {
		switch row[i] {
		case '\\':
			cell.WriteByte(row[i])
			if i+1 < len(row) {
				i++
				cell.WriteByte(row[i])
			}
		case '|':
			out = append(out, cell.String())
			cell.Reset()
		default:
			cell.WriteByte(row[i])
		}
	}
	if strings.TrimSpace(cell.String()) != "" {
		out = append(out, cell.String())
	}
	return out
}
