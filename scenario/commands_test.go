package scenario

import (
	"strings"
	"testing"
	"time"
)

// expectReply sends a command as a person and checks the reply contains
// want.
func (h *harness) expectReply(person, text, want string) {
	h.t.Helper()
	if got := h.SMS(person, text); !strings.Contains(got, want) {
		h.t.Fatalf("%s: %q\n got: %q\nwant it to contain: %q", person, text, got, want)
	}
}

// One night, told through the command grammar every chat and SMS uses.
func TestANightOfCommands(t *testing.T) {
	h := newHarness(t, notified, "2025-03-12T18:00:00Z") // Wed 11:00 in Los Angeles; ben's day
	h.expectReply("ana", "who", "primary: ben until Thu 09:00 PDT")
	h.expectReply("ben", "oncall", "You are on call for primary until Thu Mar 13 09:00 PDT.")
	h.expectReply("ana", "oncall", "You are not on call now; next for primary from Thu Mar 13 09:00 to Fri Mar 14 09:00 PDT.")
	h.expectReply("ana", "oncall @cyrus", "cyrus is not on call in the next 31 days.")
	h.expectReply("ana", "incidents", "No open incidents.")

	h.Webhook("am", alertmanager("firing", "CheckoutDown", "fp1", "error", "checkout is down"))
	h.Webhook("am", alertmanager("firing", "PaymentsDown", "fp2", "critical", "payments are down"))
	h.expectReply("ana", "incidents", "#2 P1 triggered [web] payments are down\n#1 P2 triggered [web] checkout is down")
	h.expectReply("ben", "merge 2 into 1", "Merged #2 into #1 checkout is down; #2's pages stopped.")
	// The merge raised #1 to the P1 of the payments alert; it is only checkout.
	h.expectReply("ben", "priority 1 P1", "#1 is already P1")
	h.expectReply("ben", "priority 1 P2", "#1 checkout is down is now P2 (policy p).")
	h.expectReply("ben", "note 1 payments provider status page is red", "Noted on #1 (internal, never public).")
	h.expectReply("ben", "update 1 investigating Payments fail", `not public yet`)
	h.expectReply("ben", `update 1 investigating "Checkout unavailable" Payments fail for some customers.`,
		`Published on #1 "Checkout unavailable": investigating — Payments fail for some customers.`)

	// Ben hands the night to cyrus from 19:00 to 23:00 Los Angeles time.
	h.expectReply("ben", "override primary @cyrus 2025-03-12T19:00-2025-03-12T23:00",
		"Override #1: cyrus is on call for primary from Wed Mar 12 19:00 to Wed Mar 12 23:00 PDT.")
	h.expectReply("ben", "override primary @ana 2025-03-12T20:00-2025-03-12T21:00", "overlaps override #1 (cyrus")
	h.expectReply("ben", "snooze 1 30m", "Snoozed #1 checkout is down for 30m0s: paging starts over at 18:30 UTC")
	h.AdvanceTo(mustTime(t, "2025-03-12T18:29:00Z"))
	h.seen = len(h.pages())
	h.AdvanceTo(mustTime(t, "2025-03-12T18:31:00Z"))
	h.ExpectPages("18:30 ben sms")
	h.expectReply("ben", "escalate 1", "policy p has 1 level(s)")
	h.expectReply("ben", "reassign 1 @ana", "Reassigned #1 checkout is down to ana, who is being paged.")
	h.expectReply("ana", "ack", "Acknowledged #1 checkout is down. Paging stopped.")
	h.expectReply("ana", "incident 1", "#1 P2 acknowledged [web] checkout is down (acked by ana)")
	h.expectReply("ana", "incident 1", `public: "Checkout unavailable", investigating`)
	h.expectReply("ana", "incident 1", "acknowledged by ana via sms")

	h.expectReply("ana", "page @cyrus can you look at the card processor?", "Paging cyrus (#3) until they acknowledge.")
	h.expectReply("ana", "page primary anyone?", "Paging ben (#4) until they acknowledge.")
	h.expectReply("ana", "page @mallory hi", `unknown person "mallory"`)
	h.expectReply("ana", "override nightly @cyrus 4h", `unknown schedule "nightly"`)
	h.expectReply("ana", "reassign 99 @ben", "incident #99 does not exist")
	h.Advance(time.Minute)
	h.expectReply("ana", "help", "commands: ack [ID|all]")
}
