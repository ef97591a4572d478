package config

import (
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestCronFiresInsideTheSpringForwardGap_Stockholm_2025_03_30(t *testing.T) {
	const spec = "CRON_TZ=Europe/Stockholm 30 2 * * *"
	after := time.Date(2025, 3, 29, 12, 0, 0, 0, time.UTC)

	// The library alone skips the night: 02:30 does not exist on 03-30.
	raw, err := cron.ParseStandard(spec)
	if err != nil {
		t.Fatal(err)
	}
	if got := raw.Next(after); got.UTC().Day() != 31 {
		t.Fatalf("expected robfig/cron itself to skip 2025-03-30, got %s", got)
	}

	r, err := parseCron(spec, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	got := r.Next(after)
	want := time.Date(2025, 3, 30, 1, 0, 0, 0, time.UTC) // 03:00 CEST, the first valid instant
	if !got.Equal(want) {
		t.Fatalf("Next = %s, want %s", got, want)
	}
	next := r.Next(got)
	if want := time.Date(2025, 3, 31, 0, 30, 0, 0, time.UTC); !next.Equal(want) { // 02:30 CEST
		t.Fatalf("then Next = %s, want %s", next, want)
	}
}

func TestCronFiresOnceInTheFallBackOverlap_Stockholm_2025_10_26(t *testing.T) {
	r, err := parseCron("30 2 * * *", mustLoc(t, "Europe/Stockholm"))
	if err != nil {
		t.Fatal(err)
	}
	got := r.Next(time.Date(2025, 10, 25, 12, 0, 0, 0, time.UTC))
	if want := time.Date(2025, 10, 26, 0, 30, 0, 0, time.UTC); !got.Equal(want) { // 02:30 CEST, first occurrence
		t.Fatalf("Next = %s, want %s", got, want)
	}
	next := r.Next(got)
	if want := time.Date(2025, 10, 27, 1, 30, 0, 0, time.UTC); !next.Equal(want) { // 02:30 CET next day, not 02:30 CET today
		t.Fatalf("then Next = %s, want %s", next, want)
	}
}

func TestCronWeeklyDigestAcrossTimezones(t *testing.T) {
	for _, tc := range []struct {
		name, spec string
		def        string
		after      time.Time
		want       time.Time
	}{
		{"monday 09:00 Stockholm in winter", "CRON_TZ=Europe/Stockholm 0 9 * * MON", "UTC",
			time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)},
		{"schedule's zone when no CRON_TZ: Kolkata +05:30", "0 9 * * MON", "Asia/Kolkata",
			time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 23, 3, 30, 0, 0, time.UTC)},
		{"Chatham +13:45 in summer", "45 8 * * *", "Pacific/Chatham",
			time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 10, 19, 0, 0, 0, time.UTC)},
		{"Los Angeles 2025-03-09 02:15 is in the gap: 03:00 PDT", "15 2 9 3 *", "America/Los_Angeles",
			time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 9, 10, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := parseCron(tc.spec, mustLoc(t, tc.def))
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Next(tc.after); !got.Equal(tc.want) {
				t.Fatalf("Next(%s) = %s, want %s", tc.after, got.UTC(), tc.want)
			}
		})
	}
}

func TestCronRejectsWhatIsNotACalendar(t *testing.T) {
	// February 30 parses and never comes: a heartbeat on it would page at
	// once and after every ping.
	for _, spec := range []string{"@every 1h", "61 * * * *", "CRON_TZ=Nowhere/Land 0 9 * * *", "", "0 9 * *", "0 0 30 2 *"} {
		if _, err := parseCron(spec, time.UTC); err == nil {
			t.Errorf("parseCron(%q) accepted", spec)
		}
	}
}

// February 29 comes every four years: a rare rule, not a dead one.
func TestCronAcceptsARareRule(t *testing.T) {
	r, err := parseCron("0 0 29 2 *", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Next(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)); !got.Equal(time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("next February 29 = %s", got)
	}
}
