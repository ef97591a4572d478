package scenario

import (
	"errors"
	"fmt"
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
	t.Cleanup(h.close)

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

// Bikram's number was ported away and every provider refuses it. Each of
// his rules is tried once a round (the text, then at once his two calls),
// and the next round waits for his repeat_every, as if they had rung out:
// not a loop of attempts that floods the providers and the timeline until
// someone happens to acknowledge.
func TestEveryChannelFailingTriesEachRuleOnceARound(t *testing.T) {
	h := newHarness(t, team, "2026-03-02T01:00:00Z")
	attempts := 0
	refused := func(p escalation.Page) error {
		attempts++
		if attempts > 100 {
			return nil // the loop this test guards against: end it, the count below fails
		}
		return escalation.Permanent(errors.New("twilio 21211: The 'To' number +61255501001 is not a valid phone number"))
	}
	h.pagers[escalation.ChannelSMS].Fail = refused
	h.pagers[escalation.ChannelVoice].Fail = refused

	h.Webhook("batch-prometheus", alertmanager("firing", "ImportStuck", "fp1", "error", "import stuck"))
	h.AdvanceTo(mustTime(t, "2026-03-02T01:04:59Z"))
	var tried []string
	for _, ch := range []escalation.Channel{escalation.ChannelSMS, escalation.ChannelVoice} {
		for _, s := range h.pagers[ch].Sent() {
			tried = append(tried, s.At.Format("15:04")+" "+string(ch))
		}
	}
	if got := strings.Join(tried, ", "); got != "01:00 sms, 01:00 voice, 01:00 voice" {
		t.Fatalf("attempts in the first round: %s", got)
	}
	_, events := h.Incident(1)
	var failed []string
	for _, ev := range events {
		if ev.Kind == escalation.EventPageFailed {
			failed = append(failed, ev.Message[strings.LastIndex(ev.Message, "; ")+2:])
		}
	}
	want := "trying the next contact rule, trying the next contact rule, the next round of contact rules starts at its time"
	if got := strings.Join(failed, ", "); got != want {
		t.Fatalf("failures on the timeline end:\n%s\nwant:\n%s", got, want)
	}

	// Level 2 (alice and carmen, whose phones fail the same way) joins at
	// 01:05 as usual, each text then call tried once; bikram's second
	// round comes at 01:06 and is tried once more, rule by rule.
	h.AdvanceTo(mustTime(t, "2026-03-02T01:11:59Z"))
	if attempts != 3+4+3 {
		t.Fatalf("%d attempts by 01:11; want 3 for bikram's first round, 4 for level 2 and 3 for his second round", attempts)
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
	// Twilio repeats the call's report, then a stray failure for it
	// arrives late: the call was answered, and nothing changes.
	before := len(h.pages())
	for _, delivered := range []bool{true, false} {
		if err := h.eng.PageReport(t.Context(), 2, delivered, "twilio: call busy"); err != nil {
			t.Fatal(err)
		}
	}
	h.runDue()
	_, events := h.Incident(1)
	reports := 0
	for _, ev := range events {
		if ev.PageID == 2 && (ev.Kind == escalation.EventPageDelivered || ev.Kind == escalation.EventPageFailed) {
			reports++
		}
	}
	if reports != 1 || len(h.pages()) != before {
		t.Fatalf("after repeated reports: %d reports of the call on the timeline, %d new pages", reports, len(h.pages())-before)
	}
}

// A storm of incidents at night: bikram's phone may ring at most three
// times in fifteen minutes. The fourth call becomes one SMS saying calls
// are paused; later ones only go on the timeline. SMS pages go on.
func TestCallsOverThePersonsLimitAreBundled(t *testing.T) {
	cfg := strings.Replace(team, "    repeat_every: 6m\n", "    repeat_every: 6m\n    call_limit: {max: 3, window: 15m}\n", 1)
	h := newHarness(t, cfg, "2026-03-02T01:00:00Z")
	for i := range 3 {
		h.Webhook("prometheus", alertmanager("firing", fmt.Sprint("Alert", i), fmt.Sprint("fp", i), "error", fmt.Sprint("alert ", i)))
	}
	h.AdvanceTo(mustTime(t, "2026-03-02T01:04:00Z"))
	var calls, bundles int
	for _, s := range h.pages() {
		switch {
		case s.Page.Person == "bikram" && s.Page.Channel == escalation.ChannelVoice:
			calls++
		case s.Page.Bundle:
			bundles++
			if !strings.Contains(s.Page.Text, "3 calls to you in 15m0s; calls pause") {
				t.Errorf("bundle text %q", s.Page.Text)
			}
		}
	}
	// Three incidents each call at 01:02 and 01:04: six calls wanted.
	if calls != 3 || bundles != 1 {
		t.Fatalf("%d calls and %d bundles; want 3 and 1", calls, bundles)
	}
	n := 0
	for id := int64(1); id <= 3; id++ {
		_, events := h.Incident(id)
		for _, ev := range events {
			if ev.Kind == escalation.EventPageBundled {
				n++
			}
		}
	}
	if n != 3 {
		t.Fatalf("%d bundled entries on the timelines, want 3", n)
	}
}
