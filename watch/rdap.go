package watch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// maxRDAPBody bounds what the watch reads of an RDAP answer; real domain
// answers are a few kilobytes.
const maxRDAPBody = 1 << 20

// rdapDomain is the part of an RDAP domain object (RFC 9083 §5.3) the
// watch reads.
type rdapDomain struct {
	ObjectClassName string `json:"objectClassName"`
	LDHName         string `json:"ldhName"`
	Events          []struct {
		EventAction string `json:"eventAction"`
		EventDate   string `json:"eventDate"`
	} `json:"events"`
}

// checkDomain checks one domain's registration.
func (r *runner) checkDomain(ctx context.Context, domain string) outcome {
	expires, link, err := r.registrationExpiry(ctx, domain)
	if err != nil {
		r.log.Warn("expiry watch: RDAP check failed", "domain", domain, "err", err)
		return outcome{alerts: []escalation.Alert{domainCheckFailed(domain, err)}}
	}
	labels := map[string]string{"check": "domain", "domain": domain}
	links := []escalation.Link{{Href: link, Text: "RDAP record"}}
	key, group := "expiry/domain/"+domain, groupDomain(domain)
	ok := resolved("expiry/check/domain/"+domain, group,
		fmt.Sprintf("RDAP answers for %s again", domain), domain, labels)
	var finding escalation.Alert
	switch severity, within := expirySeverity(expires.Sub(r.now)); {
	case severity == "":
		finding = resolved(key, group, fmt.Sprintf("Domain %s is registered until %s", domain, when(expires)), domain, labels)
	case within == "":
		finding = firing(key, group, severity, fmt.Sprintf("Domain %s expired on %s", domain, when(expires)), "", domain, labels)
	default:
		finding = firing(key, group, severity,
			fmt.Sprintf("Domain %s expires within %s, on %s", domain, within, when(expires)), "", domain, labels)
	}
	finding.Links = links
	return outcome{alerts: []escalation.Alert{ok, finding}}
}

// registrationExpiry asks RDAP when the domain's registration expires, and
// returns the URL it asked.
func (r *runner) registrationExpiry(ctx context.Context, domain string) (time.Time, string, error) {
	link := r.rdapBase + "/domain/" + url.PathEscape(domain)
	if err := r.acquire(ctx); err != nil {
		return time.Time{}, link, err
	}
	defer r.release()
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return time.Time{}, link, fmt.Errorf("RDAP query: %w", err)
	}
	req.Header.Set("Accept", "application/rdap+json, application/json;q=0.9")
	req.Header.Set("User-Agent", "Klaxon-expiry-watch")
	resp, err := r.http.Do(req)
	if err != nil {
		return time.Time{}, link, fmt.Errorf("RDAP query: %w", err)
	}
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, maxRDAPBody)
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, body) // lets the connection be reused
		if resp.StatusCode == http.StatusNotFound {
			return time.Time{}, link, fmt.Errorf("RDAP query %s: %s: the registry has no record of the domain", link, resp.Status)
		}
		return time.Time{}, link, fmt.Errorf("RDAP query %s: %s", link, resp.Status)
	}
	var d rdapDomain
	if err := json.NewDecoder(body).Decode(&d); err != nil {
		return time.Time{}, link, fmt.Errorf("RDAP answer from %s: %w", link, err)
	}
	if d.ObjectClassName != "domain" {
		return time.Time{}, link, fmt.Errorf("RDAP answer from %s: objectClassName %q, want a domain object", link, d.ObjectClassName)
	}
	if d.LDHName != "" && !strings.EqualFold(strings.TrimSuffix(d.LDHName, "."), domain) {
		return time.Time{}, link, fmt.Errorf("RDAP answer from %s is about %q", link, d.LDHName)
	}
	var expires time.Time
	for _, e := range d.Events {
		if !strings.EqualFold(e.EventAction, "expiration") {
			continue
		}
		t, err := time.Parse(time.RFC3339, e.EventDate)
		if err != nil {
			return time.Time{}, link, fmt.Errorf("RDAP answer from %s: expiration date: %w", link, err)
		}
		if expires.IsZero() || t.Before(expires) {
			expires = t
		}
	}
	if expires.IsZero() {
		return time.Time{}, link, errors.New("RDAP answer from " + link + " has no expiration event (some registries do not publish one)")
	}
	return expires, link, nil
}

// domainCheckFailed is the firing alert of a domain whose check failed.
func domainCheckFailed(domain string, err error) escalation.Alert {
	return firing("expiry/check/domain/"+domain, groupDomain(domain), severityCheckFailed,
		fmt.Sprintf("Expiry check of domain %s failed: %v", domain, err), "", domain,
		map[string]string{"check": "domain", "domain": domain})
}

func groupDomain(domain string) string { return "expiry/domain/" + domain }
