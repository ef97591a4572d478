package status

import (
	"crypto/sha256"
	"encoding/base64"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon/escalation"
)

func TestPageDuringIPv4Outage(t *testing.T) {
	page := mustHTML(t, ipv4Outage())
	golden(t, "served/status.html", []byte(page))

	for _, want := range []string{
		`<p class="banner s-partial_outage" role=status><b>Partial outage</b>`,
		`<h2 id=active>Active incidents</h2>`,
		`<h3>IPv4 traffic failing to reach some services</h3>`,
		`Identified</span> · Major impact · API · since <time datetime="2025-07-09T12:32:00Z">2025-07-09 12:32 UTC</time>`,
		`<h3>Platform <span class="st s-partial_outage">Partial outage</span></h3>`,
		`<h3>Delayed SMS notifications</h3>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	inOrder(t, page, "Active incidents", "IPv4 traffic failing", "Components", "Past incidents", "Delayed SMS notifications")
	inOrder(t, page, // updates newest first
		"<b>Identified</b> <time datetime=\"2025-07-09T12:48:00Z\">2025-07-09 12:48 UTC</time><p>Our hosting provider&#39;s upstream IPv4 routing is unstable.",
		"<b>Investigating</b> <time datetime=\"2025-07-09T12:35:00Z\">2025-07-09 12:35 UTC</time><p>We are investigating connection timeouts over IPv4.")
	inOrder(t, page, "Platform", "API", "Dashboard", "Docs", "Notifications", "SMS notifications")

	strips := stripsOf(page)
	if len(strips) != 4 {
		t.Fatalf("%d history strips, want one per component (4)", len(strips))
	}
	for _, s := range strips {
		if len(s.days) != 90 {
			t.Errorf("%q: %d days in its history, want 90", s.label, len(s.days))
		}
	}
	if api := strips[0]; api.days[89] != `<li class="major" title="2025-07-09: major impact">` ||
		!strings.HasPrefix(api.label, "API, last 90 days: major impact on 2025-07-09; no incidents on the other 89 days") {
		t.Errorf("API's history ends with %s, labelled %q; want today marked major", api.days[89], api.label)
	}
	// 2025-06-29 is 10 days before the snapshot's day: index 79.
	if sms := strips[3]; sms.days[79] != `<li class="minor" title="2025-06-29: minor impact">` || marked(sms.days) != 1 {
		t.Errorf("SMS history marks %d days, 2025-06-29 as %s; want that day alone, minor", marked(sms.days), sms.days[79])
	}
}

func TestPageTitle(t *testing.T) {
	for name, want := range map[string]string{
		"Example":        "Example status",
		"Example Status": "Example Status",
		"Status":         "Status",
	} {
		snap := ipv4Outage()
		snap.Page.Name = name
		if page := mustHTML(t, snap); !strings.Contains(page, "<title>"+want+"</title>") || !strings.Contains(page, "<h1>"+want+"</h1>") {
			t.Errorf("a page named %q is not titled %q", name, want)
		}
	}
}

func TestPageWhenAllIsWell(t *testing.T) {
	snap := ipv4Outage()
	snap.Incidents = nil
	snap.Components[0].Status = Operational
	page := mustHTML(t, snap)
	for _, want := range []string{"<b>All systems operational</b>", "No incidents in the last 90 days."} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, "Active incidents") {
		t.Error("the page has an Active incidents section without incidents")
	}
	for _, s := range stripsOf(page) {
		if marked(s.days) != 0 || !strings.HasSuffix(s.label, "last 90 days: no incidents.") {
			t.Errorf("%q marks %d days", s.label, marked(s.days))
		}
	}
}

func TestPageShowsWhatRespondersWroteAsText(t *testing.T) {
	snap := ipv4Outage()
	snap.Page.Name = `Example</title><script>alert("name")</script>`
	snap.Components[2].Name = `Docs</style><img src=x onerror=alert(1)>`
	inc := &snap.Incidents[1]
	inc.Title = `<script>alert("title")</script>`
	inc.Updates[0].Message = `Fixed in <b>v2</b> & "quoted" <a href="javascript:alert(1)">here</a>`

	page := mustHTML(t, snap)
	if n := strings.Count(page, "<script"); n != 1 {
		t.Errorf("the page has %d script elements, want only its own", n)
	}
	for _, bad := range []string{"<img", "<b>v2</b>", `href="javascript:`, "</style><img"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page contains %s unescaped", bad)
		}
	}
	for _, want := range []string{
		`<h3>&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;</h3>`,
		`Fixed in &lt;b&gt;v2&lt;/b&gt; &amp; &#34;quoted&#34; &lt;a href=&#34;javascript:alert(1)&#34;&gt;here&lt;/a&gt;`,
		`<title>Example&lt;/title&gt;&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt; status</title>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks the escaped text %s", want)
		}
	}
}

func TestPageWeighsUnder50KB(t *testing.T) {
	snap := busyQuarter()
	page := mustHTML(t, snap)
	t.Logf("20 components, %d incidents over 90 days: %d bytes", len(snap.Incidents), len(page))
	if len(page) >= 50*1024 {
		t.Errorf("the page is %d bytes; a status page read on phones during an outage must stay under 50 KB", len(page))
	}
	// The weight must not come from leaving things out.
	if n := len(stripsOf(page)); n != 20 {
		t.Errorf("%d history strips, want 20", n)
	}
	if n := strings.Count(page, "<article class=inc"); n != 30 {
		t.Errorf("%d incidents on the page, want 30", n)
	}
	if n := strings.Count(page, "<li><b>"); n != 89 {
		t.Errorf("%d updates on the page, want 89", n)
	}
}

func TestPageIsSelfContained(t *testing.T) {
	page := mustHTML(t, ipv4Outage())
	for _, external := range []string{"src=", "url(", "@import", "//"} {
		if i := strings.Index(page, external); i >= 0 {
			t.Errorf("the page refers to something outside itself: …%s…", page[max(i-40, 0):min(i+40, len(page))])
		}
	}
	for _, m := range regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		if href := html.UnescapeString(m[1]); strings.Contains(href, ":") || strings.HasPrefix(href, "/") {
			t.Errorf("link %q is not relative: it breaks the page on another host or from file://", href)
		}
	}

	// The page's policy allows exactly its own inline style and script.
	csp := html.UnescapeString(regexp.MustCompile(`<meta http-equiv=Content-Security-Policy content="([^"]*)">`).FindStringSubmatch(page)[1])
	for _, el := range []string{"style", "script"} {
		body := regexp.MustCompile(`(?s)<` + el + `>(.*?)</` + el + `>`).FindStringSubmatch(page)[1]
		sum := sha256.Sum256([]byte(body))
		want := el + "-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
		if !strings.Contains(csp, want) {
			t.Errorf("the policy %q does not allow the page's own %s (%s)", csp, el, want)
		}
	}
}

func TestPageWritesEveryTimeInUTC(t *testing.T) {
	snap := ipv4Outage()
	snap.Page.TimeZone = "Asia/Tokyo" // days of the history, not the times shown
	snap.Incidents[1].Updates[1].At = at("2025-07-09T21:35:00+09:00")
	page := mustHTML(t, snap)
	times := regexp.MustCompile(`<time datetime="([^"]+)">([^<]+)</time>`).FindAllStringSubmatch(page, -1)
	if len(times) != 6 {
		t.Fatalf("%d times on the page, want 6: the update, the incidents' updates and the open one's start", len(times))
	}
	for _, m := range times {
		if at(m[1]).UTC().Format("2006-01-02 15:04 UTC") != m[2] || !strings.HasSuffix(m[1], "Z") {
			t.Errorf("time %s reads %q; want it in UTC", m[1], m[2])
		}
	}
	if !strings.Contains(page, `<time datetime="2025-07-09T12:35:00Z">2025-07-09 12:35 UTC</time>`) {
		t.Error("an update posted at 21:35 in Tokyo is not shown as 12:35 UTC")
	}
}

func TestPageLabelsIncidentsWithoutComponents(t *testing.T) {
	snap := ipv4Outage()
	snap.Incidents = append(snap.Incidents, Incident{
		ID: "43", Title: "Degraded login", Status: escalation.PublicInvestigating, Impact: ImpactMinor,
		StartedAt: at("2025-07-09T13:00:00Z"), UpdatedAt: at("2025-07-09T13:00:00Z"),
		Components: []string{"retired-component"},
		Updates:    []Update{{ID: "1", Status: escalation.PublicInvestigating, Message: "Some logins fail.", At: at("2025-07-09T13:00:00Z")}},
	})
	page := mustHTML(t, snap)
	if !strings.Contains(page, `<span class="st s-degraded_performance">Investigating</span> · Minor impact · since`) {
		t.Error("an incident naming no component on the page should show its status and impact alone")
	}
	inOrder(t, page, "Degraded login", "IPv4 traffic failing") // newest first
}

// strip is one component's history as rendered.
type strip struct {
	label string
	days  []string
}

func stripsOf(page string) []strip {
	var strips []strip
	for _, m := range regexp.MustCompile(`<div role=img aria-label="([^"]*)"><ol class=days>(.*?)</ol></div>`).FindAllStringSubmatch(page, -1) {
		strips = append(strips, strip{
			label: html.UnescapeString(m[1]),
			days:  regexp.MustCompile(`<li[^>]*>`).FindAllString(m[2], -1),
		})
	}
	return strips
}

func marked(days []string) int {
	n := 0
	for _, d := range days {
		if d != "<li>" {
			n++
		}
	}
	return n
}

// inOrder checks that the texts appear in s in this order.
func inOrder(t *testing.T, s string, texts ...string) {
	t.Helper()
	rest := s
	for _, text := range texts {
		i := strings.Index(rest, text)
		if i < 0 {
			t.Errorf("%q missing or out of order (want order %q)", text, texts)
			return
		}
		rest = rest[i+len(text):]
	}
}
