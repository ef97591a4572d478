package scenario

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/escalation/escalationtest"
)

// The storage-dependency outage: a provider Klaxon depends on goes down.
// With Twilio failing, SMS go out through the gateway, and the timeline
// says both what failed and what delivered. When the gateway fails too,
// the person's next contact rule (a call) is used at once.
func TestPagesFailOverToTheSecondProvider(t *testing.T) {
	h := newHarnessUnopened(t, team, "2026-03-02T01:00:00Z")
	const twilioDown = true
	twilio := &escalationtest.Pager{Clock: h.clock, Provider: "twilio", Fail: func(escalation.Page) error {
		if twilioDown {
			return errors.New("HTTP 503 Service Unavailable")
		}
		return nil
	}}
	gatewayDown := false
	gateway := h.pagers[escalation.ChannelSMS]
	gateway.Provider = "gateway"
	gateway.Fail = func(escalation.Page) error {
		if gatewayDown {
			return errors.New("HTTP 502 Bad Gateway")
		}
		return nil
	}
	h.dms = map[escalation.Channel]escalation.Pager{escalation.ChannelSMS: bot.Failover{Providers: []bot.Provider{
		{Name: "twilio", Pager: twilio}, {Name: "gateway", Pager: gateway}}}}
	h.open()
	t.Cleanup(func() { h.db.Close() })

	h.Webhook("prometheus", alertmanager("firing", "DiskFull", "fp1", "error", "disk full on db-1"))
	h.ExpectPages("01:00 bikram sms")
	_, events := h.Incident(1)
	var got []string
	for _, ev := range events {
		if ev.Kind == escalation.EventPageFailed || ev.Kind == escalation.EventPageSent {
			got = append(got, string(ev.Kind)+" "+ev.Provider+" "+ev.Message)
		}
	}
	want := []string{
		"page_failed  twilio: HTTP 503 Service Unavailable; trying the next provider",
		"page_sent gateway ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("timeline:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Both down: the SMS fails for good at once and the call comes now,
	// not at its 2 minutes.
	gatewayDown = true
	h.Webhook("batch-prometheus", alertmanager("firing", "ImportStuck", "fp2", "error", "import stuck"))
	h.ExpectPages("01:00 bikram voice")
	h.ExpectTimeline(2, escalation.EventPageFailed)
	_, events = h.Incident(2)
	for _, ev := range events {
		if ev.Kind == escalation.EventPageFailed && !strings.Contains(ev.Message, "every provider failed: twilio: HTTP 503 Service Unavailable; gateway: HTTP 502 Bad Gateway") {
			t.Fatalf("failure on the timeline: %q", ev.Message)
		}
	}
}

// Twilio took the SMS but could not deliver it (the phone is off): the
// delivery report moves bikram on to his call at once, not at 2 minutes.
func TestUndeliveredSMSMovesToTheNextContactRule(t *testing.T) {
	h := newHarness(t, team, "2026-03-02T01:00:00Z")
	h.Webhook("prometheus", alertmanager("firing", "DiskFull", "fp1", "error", "disk full on db-1"))
	h.ExpectPages("01:00 bikram sms")
	h.Advance(20 * time.Second)
	if err := h.eng.PageReport(t.Context(), 1, false, "twilio: SMS undelivered (error 30003)"); err != nil {
		t.Fatal(err)
	}
	h.runDue()
	h.ExpectPages("01:00 bikram voice")
	if err := h.eng.PageReport(t.Context(), 2, true, "twilio: call answered"); err != nil {
		t.Fatal(err)
	}
	h.ExpectTimeline(1, escalation.EventPageSent, escalation.EventPageFailed, escalation.EventPageSent, escalation.EventPageDelivered)
	if err := h.eng.PageReport(t.Context(), 99, true, "x"); escalation.ErrorCode(err) != escalation.CodeNotFound {
		t.Fatalf("report for an unknown page: %v", err)
	}
}
