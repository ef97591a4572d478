// Package oncall is Klaxon's schedule maths: who is on call at an instant,
// the on-call timeline over a range, when on-call next changes, and lint.
// It is pure and stdlib only: every function takes the instants it is
// about, and nothing reads the clock.
//
// A Schedule has layers (rotations) and overrides. Overrides win over all
// layers; of several overrides covering an instant, the latest added (the
// highest index) wins. Of the layers, later ones win over earlier ones; a
// layer with restrictions has nobody outside its windows, so a lower layer
// shows through there. A layer has nobody before its first shift begins
// (Start at Handoff).
//
// A week-based layer hands off on its Weekday (default: Start's weekday).
// When Start is not that weekday, the first participant's first shift
// begins at Start and is cut short: it ends where it would have ended had
// the rotation started on the handoff weekday on or before Start.
//
// # Daylight saving time
//
// These are the rules, exactly:
//
//   - Handoffs are local wall-clock times in the schedule's Location.
//   - A handoff that falls in a spring-forward gap happens at the first
//     valid instant after the gap (02:30 on America/Los_Angeles 2025-03-09
//     → 03:00 PDT).
//   - A handoff in a fall-back overlap happens at the first occurrence (the
//     earlier instant).
//   - Day- and week-based shifts keep their local handoff time, so a shift
//     spanning a DST change is 23 or 25 hours long.
//   - Hour-based shifts are exact durations (a 12h shift is always 12
//     elapsed hours), anchored at Start+Handoff.
//
// Together the second and third rules say: a wall-clock time on a date
// happens at the first instant at which the local clock shows that time or
// later. The edges of restriction windows are local wall-clock times too and
// follow the same rules. One consequence: a daily handoff at 02:30 on the
// spring-forward day comes at 03:00, so the shifts either side of it are
// 23.5 and 23.5 hours rather than 23 and 24.
//
// Go's time.Date does not follow these rules: for a nonexistent or ambiguous
// time it picks an offset that depends on the zone's side of UTC (for
// 02:30 on 2025-03-09 it gives 01:30 PST in Los Angeles but 03:30 CEST for
// 02:30 on 2025-03-30 in Berlin; in a fall-back overlap it gives the first
// occurrence in Los Angeles and the second in Berlin). The package resolves
// wall-clock times itself from the zone's transitions.
package oncall
