package oncall

import (
	"testing"
	"time"
)

func TestLocalInstant(t *testing.T) {
	tests := []struct {
		name, zone string
		y          int
		m          time.Month
		d, hh, mm  int
		want       string
	}{
		{"LA 2025-03-09 02:30 in the gap is 03:00 PDT", "America/Los_Angeles", 2025, 3, 9, 2, 30, "2025-03-09T10:00:00Z"},
		{"LA 2025-03-09 02:00 opens the gap", "America/Los_Angeles", 2025, 3, 9, 2, 0, "2025-03-09T10:00:00Z"},
		{"LA 2025-03-09 01:59 before the gap", "America/Los_Angeles", 2025, 3, 9, 1, 59, "2025-03-09T09:59:00Z"},
		{"LA 2025-03-09 03:00 after the gap", "America/Los_Angeles", 2025, 3, 9, 3, 0, "2025-03-09T10:00:00Z"},
		{"LA 2025-11-02 01:30 in the overlap is the first (PDT)", "America/Los_Angeles", 2025, 11, 2, 1, 30, "2025-11-02T08:30:00Z"},
		{"LA 2025-11-02 01:00 opens the overlap", "America/Los_Angeles", 2025, 11, 2, 1, 0, "2025-11-02T08:00:00Z"},
		{"LA 2025-11-02 02:00 after the overlap", "America/Los_Angeles", 2025, 11, 2, 2, 0, "2025-11-02T10:00:00Z"},
		{"Berlin 2025-03-30 02:30 in the gap is 03:00 CEST", "Europe/Berlin", 2025, 3, 30, 2, 30, "2025-03-30T01:00:00Z"},
		{"Berlin 2025-10-26 02:30 in the overlap is the first (CEST)", "Europe/Berlin", 2025, 10, 26, 2, 30, "2025-10-26T00:30:00Z"},
		{"Sydney 2025-04-06 02:30 in the overlap is the first (AEDT)", "Australia/Sydney", 2025, 4, 6, 2, 30, "2025-04-05T15:30:00Z"},
		{"Sydney 2025-10-05 02:30 in the gap is 03:00 AEDT", "Australia/Sydney", 2025, 10, 5, 2, 30, "2025-10-04T16:00:00Z"},
		{"Kolkata 2025-03-09 09:00 +05:30", "Asia/Kolkata", 2025, 3, 9, 9, 0, "2025-03-09T03:30:00Z"},
		{"Chatham 2025-04-06 03:00 in the overlap is the first (+13:45)", "Pacific/Chatham", 2025, 4, 6, 3, 0, "2025-04-05T13:15:00Z"},
		{"Chatham 2025-04-06 02:45 opens the overlap", "Pacific/Chatham", 2025, 4, 6, 2, 45, "2025-04-05T13:00:00Z"},
		{"Chatham 2025-04-06 03:45 after the overlap (+12:45)", "Pacific/Chatham", 2025, 4, 6, 3, 45, "2025-04-05T15:00:00Z"},
		{"Chatham 2025-09-28 03:00 in the gap is 03:45 +13:45", "Pacific/Chatham", 2025, 9, 28, 3, 0, "2025-09-27T14:00:00Z"},
		{"Chatham 2025-09-28 02:44 before the gap", "Pacific/Chatham", 2025, 9, 28, 2, 44, "2025-09-27T13:59:00Z"},
		{"Lord Howe 2025-04-06 01:45 in the 30-minute overlap is the first (+11)", "Australia/Lord_Howe", 2025, 4, 6, 1, 45, "2025-04-05T14:45:00Z"},
		{"Lord Howe 2025-10-05 02:15 in the 30-minute gap is 02:30 +11", "Australia/Lord_Howe", 2025, 10, 5, 2, 15, "2025-10-04T15:30:00Z"},
		{"Santiago 2025-09-07 00:00 in a gap at midnight is 01:00 the same day", "America/Santiago", 2025, 9, 7, 0, 0, "2025-09-07T04:00:00Z"},
		{"Santiago 2025-04-05 23:30 in an overlap at midnight is the first (-03)", "America/Santiago", 2025, 4, 5, 23, 30, "2025-04-06T02:30:00Z"},
		{"Havana 2025-03-09 00:00 in a gap at midnight is 01:00 CDT", "America/Havana", 2025, 3, 9, 0, 0, "2025-03-09T05:00:00Z"},
		{"Havana 2025-11-02 00:30 in the overlap is the first (CDT)", "America/Havana", 2025, 11, 2, 0, 30, "2025-11-02T04:30:00Z"},
		{"Apia 2011-12-30 09:00 on the skipped day is 2011-12-31 00:00", "Pacific/Apia", 2011, 12, 30, 9, 0, "2011-12-30T10:00:00Z"},
		{"UTC", "UTC", 2025, 3, 9, 2, 30, "2025-03-09T02:30:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := localInstant(zone(t, tt.zone), tt.y, tt.m, tt.d, tt.hh, tt.mm)
			if want := at(t, tt.want); !got.Equal(want) {
				t.Fatalf("got %v (%v), want %v", got, got.UTC(), want)
			}
		})
	}
}

func TestLocalInstantFixedZone(t *testing.T) {
	l := time.FixedZone("+0545", 5*3600+45*60)
	got := localInstant(l, 2025, 3, 9, 2, 30)
	if want := at(t, "2025-03-08T20:45:00Z"); !got.Equal(want) {
		t.Fatalf("got %v, want %v", got.UTC(), want)
	}
}

// TestLocalInstantIsFirstInstantShowingWall checks the rule behind both DST
// rules near every transition in 2020–2030 of zones with unusual offsets
// and transitions: the answer shows the wall time or later, and the second
// before it shows an earlier time. Where a time exists once, it also agrees
// with time.Date.
func TestLocalInstantIsFirstInstantShowingWall(t *testing.T) {
	wallOf := func(l *time.Location, u int64) int64 {
		_, off := time.Unix(u, 0).In(l).Zone()
		return u + int64(off)
	}
	zones := []string{"America/Los_Angeles", "Europe/Berlin", "Australia/Sydney", "Pacific/Chatham",
		"Australia/Lord_Howe", "America/Santiago", "America/Havana", "Asia/Tehran", "America/St_Johns",
		"Pacific/Apia", "Africa/Casablanca", "Asia/Kolkata"}
	for _, name := range zones {
		l := zone(t, name)
		trs := transitions(l, at(t, "2010-01-01T00:00:00Z"), at(t, "2030-01-01T00:00:00Z"))
		if name != "Asia/Kolkata" && name != "Pacific/Apia" && len(trs) == 0 {
			t.Errorf("%s: no transitions found", name)
		}
		for _, tr := range trs {
			d0 := floorDiv(tr.at+min(tr.before, tr.after), day)
			for wall := (d0 - 1) * day; wall < (d0+2)*day; wall += 15 * 60 {
				u := localAt(l, wall)
				if wallOf(l, u) < wall || wallOf(l, u-1) >= wall {
					t.Fatalf("%s: wall %v resolved to %v", name, time.Unix(wall, 0).UTC(), time.Unix(u, 0).In(l))
				}
				if wallOf(l, u) == wall && localAt(l, wall+1) == u+1 && wallOf(l, u+3*3600) == wall+3*3600 && wallOf(l, u-3*3600) == wall-3*3600 {
					// No transition within 3h either side: time.Date must agree.
					c := time.Unix(wall, 0).UTC()
					if g := time.Date(c.Year(), c.Month(), c.Day(), c.Hour(), c.Minute(), 0, 0, l); g.Unix() != u {
						t.Fatalf("%s: %v: time.Date %v, localAt %v", name, c, g, time.Unix(u, 0).In(l))
					}
				}
			}
		}
	}
}
