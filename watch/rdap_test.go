package watch_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/escalation/escalationtest"
	"github.com/klaxonhq/klaxon/watch"
)

// registryExpiry is the expiration event of the testdata RDAP answer.
var registryExpiry = time.Date(2026, 8, 13, 4, 0, 0, 0, time.UTC)

// registry is an RDAP server stub: it answers /domain/example.com with the
// testdata answer, or with whatever the test set.
type registry struct {
	mu      sync.Mutex
	status  int
	body    string
	queries atomic.Int32
}

func newRegistry(t *testing.T) (*registry, *httptest.Server) {
	t.Helper()
	body, err := os.ReadFile("testdata/rdap_domain_example_com.constructed.json")
	if err != nil {
		t.Fatal(err)
	}
	reg := &registry{status: http.StatusOK, body: string(body)}
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)
	return reg, srv
}

func (r *registry) answer(status int, body string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status, r.body = status, body
}

func (r *registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.queries.Add(1)
	if req.URL.Path != "/rdap/domain/example.com" {
		w.Header().Set("Content-Type", "application/rdap+json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"errorCode":404,"title":"Not Found"}`))
		return
	}
	r.mu.Lock()
	status, body := r.status, r.body
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/rdap+json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// domainChecker checks example.com's registration against the stub, on a
// clock the given time before the registry's expiration date.
func domainChecker(t *testing.T, base string, before time.Duration) (*watch.Checker, *escalationtest.Clock) {
	t.Helper()
	clock := escalationtest.NewClock(registryExpiry.Add(-before))
	c, _ := newChecker(t, watch.Options{
		Targets:  []watch.Target{{Domain: "example.com"}},
		RDAPBase: base + "/rdap/",
		Clock:    clock,
	})
	return c, clock
}

func TestDomainExpiringInFiveDaysIsAnError(t *testing.T) {
	_, srv := newRegistry(t)
	c, _ := domainChecker(t, srv.URL, 5*day)

	alerts := c.Check(t.Context())

	a := want(t, alerts, "expiry/domain/example.com", escalation.AlertFiring, "error",
		"Domain example.com expires within 7 days, on 2026-08-13 04:00 UTC")
	want(t, alerts, "expiry/check/domain/example.com", escalation.AlertResolved, "")
	if a.GroupKey != "expiry/domain/example.com" || a.Labels["domain"] != "example.com" {
		t.Errorf("group %q labels %v", a.GroupKey, a.Labels)
	}
	if len(a.Links) != 1 || a.Links[0].Href != srv.URL+"/rdap/domain/example.com" {
		t.Errorf("links %v, want the RDAP record", a.Links)
	}
}

func TestDomainRegistrationSeverityFollowsTheSameBands(t *testing.T) {
	_, srv := newRegistry(t)
	for _, tt := range []struct {
		before   time.Duration
		state    escalation.AlertState
		severity string
		says     string
	}{
		{400 * day, escalation.AlertResolved, "", "Domain example.com is registered until 2026-08-13 04:00 UTC"},
		{25 * day, escalation.AlertFiring, "info", "within 30 days"},
		{12 * day, escalation.AlertFiring, "warning", "within 14 days"},
		{2 * time.Hour, escalation.AlertFiring, "critical", "within 1 day"},
		{-day, escalation.AlertFiring, "critical", "Domain example.com expired on 2026-08-13 04:00 UTC"},
	} {
		c, _ := domainChecker(t, srv.URL, tt.before)
		want(t, c.Check(t.Context()), "expiry/domain/example.com", tt.state, tt.severity, tt.says)
	}
}

func TestRDAPUnavailableIsAFailedCheckUntilItAnswers(t *testing.T) {
	reg, srv := newRegistry(t)
	good := reg.body
	c, _ := domainChecker(t, srv.URL, 5*day)
	reg.answer(http.StatusServiceUnavailable, `{"errorCode":503,"title":"Service Unavailable"}`)

	alerts := c.Check(t.Context())
	want(t, alerts, "expiry/check/domain/example.com", escalation.AlertFiring, "warning",
		"Expiry check of domain example.com failed", "503 Service Unavailable")
	if _, ok := byKey(t, alerts)["expiry/domain/example.com"]; ok {
		t.Errorf("the registration got a verdict though RDAP did not answer:%s", describe(alerts))
	}

	reg.answer(http.StatusOK, good)

	alerts = c.Check(t.Context())
	want(t, alerts, "expiry/check/domain/example.com", escalation.AlertResolved, "", "RDAP answers for example.com again")
	want(t, alerts, "expiry/domain/example.com", escalation.AlertFiring, "error")
}

func TestRDAPAnswersThatSayNothingOfTheExpiryAreFailedChecks(t *testing.T) {
	reg, srv := newRegistry(t)
	good := reg.body
	for _, tt := range []struct {
		name   string
		status int
		body   string
		says   string
	}{
		{"not found", http.StatusNotFound, `{"errorCode":404,"title":"Not Found"}`, "no record of the domain"},
		{"not JSON", http.StatusOK, `<html>maintenance</html>`, "invalid character"},
		{"an error object", http.StatusOK, `{"errorCode":500,"title":"oops"}`, "want a domain object"},
		{"another domain", http.StatusOK, strings.Replace(good, `"ldhName": "EXAMPLE.COM"`, `"ldhName": "EXAMPLE.NET"`, 1), `about "EXAMPLE.NET"`},
		{"no expiration event", http.StatusOK, strings.Replace(good, `"eventAction": "expiration"`, `"eventAction": "transfer"`, 1), "no expiration event"},
		{"a date that is not RFC 3339", http.StatusOK, strings.Replace(good, `"2026-08-13T04:00:00Z"`, `"13 Aug 2026"`, 1), "expiration date"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reg.answer(tt.status, tt.body)
			c, _ := domainChecker(t, srv.URL, 5*day)
			alerts := c.Check(t.Context())
			want(t, alerts, "expiry/check/domain/example.com", escalation.AlertFiring, "warning", tt.says)
			if got := firingKeys(alerts); len(got) != 1 {
				t.Errorf("firing %v, want the failed check only", got)
			}
		})
	}
}

func TestRDAPThatDoesNotAnswerInTimeIsAFailedCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // hangs until the watch gives up
	}))
	t.Cleanup(srv.Close)
	c, _ := newChecker(t, watch.Options{
		Targets:  []watch.Target{{Domain: "example.com"}},
		RDAPBase: srv.URL,
		Timeout:  100 * time.Millisecond,
	})

	alerts := c.Check(t.Context())

	want(t, alerts, "expiry/check/domain/example.com", escalation.AlertFiring, "warning", "deadline exceeded")
}

func TestDomainSharedByTargetsIsQueriedOnce(t *testing.T) {
	reg, srv := newRegistry(t)
	clock := escalationtest.NewClock(registryExpiry.Add(-5 * day))
	c, _ := newChecker(t, watch.Options{
		Targets: []watch.Target{
			{Host: "www.example.com", Domain: "example.com"},
			{Host: "api.example.com", Domain: "Example.COM"},
			{Domain: "example.com."},
		},
		RDAPBase: srv.URL + "/rdap",
		Resolver: newZone(),
		Clock:    clock,
	})

	alerts := c.Check(t.Context())

	if n := reg.queries.Load(); n != 1 {
		t.Errorf("%d RDAP queries, want 1", n)
	}
	n := 0
	for _, a := range alerts {
		if a.DedupKey == "expiry/domain/example.com" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d alerts for the domain, want 1:%s", n, describe(alerts))
	}
	// The hosts are checked too, each on its own.
	want(t, alerts, "expiry/check/tls/www.example.com", escalation.AlertFiring, "warning")
	want(t, alerts, "expiry/check/tls/api.example.com", escalation.AlertFiring, "warning")
}
