package scenario

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// A calendar app polls the feed every hour. The shift under way fourteen
// days back is shown whole, from its real handoff, under the same UID at
// every poll, so the app updates its events instead of piling up copies.
func TestCalendarFeedShowsWholeShiftsAtEveryPoll(t *testing.T) {
	h := newHarness(t, coverage, "2025-03-22T18:30:00Z") // the rotation began on 2025-03-01
	firstEvent := func() string {
		rec := h.API(http.MethodGet, "/api/v1/schedules/primary.ics", nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("schedule feed: %d %s", rec.Code, rec.Body)
		}
		body := rec.Body.String()
		i := strings.Index(body, "BEGIN:VEVENT")
		j := strings.Index(body[i:], "END:VEVENT")
		var keep []string
		for _, line := range strings.Split(body[i:i+j], "\r\n") {
			if strings.HasPrefix(line, "UID:") || strings.HasPrefix(line, "DTSTART:") || strings.HasPrefix(line, "DTEND:") {
				keep = append(keep, line)
			}
		}
		return strings.Join(keep, " ")
	}
	before := firstEvent()
	h.Advance(time.Hour)
	if after := firstEvent(); after != before {
		t.Fatalf("the first shift changed between polls:\n%s\n%s", before, after)
	}
	if strings.Contains(before, "DTSTART:20250308T1830") {
		t.Fatalf("the first shift starts at the feed's edge, not at its handoff: %s", before)
	}
}

// A person subscribes to their on-call from a calendar app, which can send
// only a URL: the calendar token in it reads the feeds and nothing else.
func TestCalendarFeedsForAScheduleAndAPerson(t *testing.T) {
	h := newHarness(t, coverage, "2025-03-12T18:00:00Z")
	if code, _ := h.addOverride("primary", map[string]any{"person": "cyrus", "from": "2025-03-13T20:00:00Z", "duration": "3h"}); code != http.StatusCreated {
		t.Fatalf("override: %d", code)
	}

	rec := h.Request(http.MethodGet, "/api/v1/people/cyrus.ics?token="+calendarToken, nil, nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/calendar; charset=utf-8" {
		t.Fatalf("person feed: %d %s %s", rec.Code, rec.Header(), rec.Body)
	}
	body := rec.Body.String()
	for _, want := range []string{
		"BEGIN:VCALENDAR\r\n", "X-WR-CALNAME:On call: cyrus\r\n",
		"SUMMARY:On call: primary\r\n", "DTSTART:20250313T200000Z\r\n", "DTEND:20250313T230000Z\r\n",
		"UID:primary-cyrus-1741896000@klaxon\r\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("person feed lacks %q:\n%s", want, body)
		}
	}
	if n := strings.Count(body, "BEGIN:VEVENT"); n != 1 {
		t.Errorf("cyrus has %d shifts in the feed, want the one override", n)
	}

	rec = h.API(http.MethodGet, "/api/v1/schedules/primary.ics", nil)
	body = rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("schedule feed: %d %s", rec.Code, body)
	}
	// 14 days back and 90 ahead of a daily rotation, the override splitting
	// one of ben's days in two.
	if n := strings.Count(body, "BEGIN:VEVENT"); n < 100 || n > 110 {
		t.Errorf("schedule feed has %d shifts", n)
	}
	for _, want := range []string{"SUMMARY:cyrus on call (primary)\r\n", "SUMMARY:ana on call (primary)\r\n", "SUMMARY:ben on call (primary)\r\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("schedule feed lacks %q", want)
		}
	}
	for _, line := range strings.Split(body, "\r\n") {
		if len(line) > 75 {
			t.Fatalf("unfolded line of %d octets: %q", len(line), line)
		}
	}

	for _, tc := range []struct {
		path string
		hdr  http.Header
		code int
	}{
		{"/api/v1/people/cyrus.ics?token=wrong-token-0123456789", nil, http.StatusUnauthorized},
		{"/api/v1/people/cyrus.ics", nil, http.StatusUnauthorized},
		{"/api/v1/people/mallory.ics?token=" + calendarToken, nil, http.StatusNotFound},
		{"/api/v1/schedules/secondary.ics?token=" + calendarToken, nil, http.StatusNotFound},
		{"/api/v1/schedules/primary?token=" + calendarToken, nil, http.StatusNotFound},
		// The calendar token is no API token.
		{"/api/v1/incidents", http.Header{"Authorization": {"Bearer " + calendarToken}}, http.StatusUnauthorized},
		{"/api/v1/incidents?token=" + calendarToken, nil, http.StatusUnauthorized},
	} {
		if rec := h.Request(http.MethodGet, tc.path, tc.hdr, nil); rec.Code != tc.code {
			t.Errorf("GET %s: %d %s, want %d", tc.path, rec.Code, rec.Body, tc.code)
		}
	}
}
