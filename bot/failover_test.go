package bot

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon/escalation"
)

type stubPager struct {
	err   error
	calls int
}

func (s *stubPager) Send(context.Context, escalation.Page) (escalation.Delivery, error) {
	s.calls++
	if s.err != nil {
		return escalation.Delivery{}, s.err
	}
	return escalation.Delivery{ProviderID: "SM1"}, nil
}

func TestFailoverDeliversThroughTheNextProviderAndReportsTheFailure(t *testing.T) {
	twilio := &stubPager{err: errors.New("HTTP 503")}
	gateway := &stubPager{}
	f := Failover{Providers: []Provider{{"twilio", twilio}, {"gateway", gateway}}}
	d, err := f.Send(t.Context(), escalation.Page{ID: 1})
	if err != nil || d.Provider != "gateway" || d.ProviderID != "SM1" {
		t.Fatalf("Send = %+v, %v", d, err)
	}
	if len(d.Failed) != 1 || d.Failed[0] != "twilio: HTTP 503" {
		t.Fatalf("failures carried: %q", d.Failed)
	}
}

func TestFailoverWhenEveryProviderFailsIsPermanent(t *testing.T) {
	f := Failover{Providers: []Provider{
		{"twilio", &stubPager{err: errors.New("HTTP 503")}},
		{"gateway", &stubPager{err: escalation.Permanent(errors.New("HTTP 400 invalid number"))}},
	}}
	d, err := f.Send(t.Context(), escalation.Page{ID: 1})
	if !escalation.IsPermanent(err) || !strings.Contains(err.Error(), "twilio: HTTP 503; gateway: HTTP 400 invalid number") {
		t.Fatalf("err = %v (permanent %v)", err, escalation.IsPermanent(err))
	}
	if strings.Join(d.Failed, "; ") != "twilio: HTTP 503; gateway: HTTP 400 invalid number" {
		t.Fatalf("failures carried for the metrics: %q", d.Failed)
	}
}

func TestFailoverWithOneProviderKeepsItsRetryRules(t *testing.T) {
	only := &stubPager{err: errors.New("HTTP 503")}
	d, err := Failover{Providers: []Provider{{"twilio", only}}}.Send(t.Context(), escalation.Page{ID: 1})
	if err == nil || escalation.IsPermanent(err) || d.Provider != "twilio" {
		t.Fatalf("Send = %+v, %v; want twilio's retryable error", d, err)
	}
}

func TestFailoverStopsWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	second := &stubPager{}
	_, err := Failover{Providers: []Provider{{"a", &stubPager{}}, {"b", second}}}.Send(ctx, escalation.Page{ID: 1})
	if err == nil || second.calls != 0 {
		t.Fatalf("err = %v, second provider called %d times", err, second.calls)
	}
}
