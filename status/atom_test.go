package status

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"
)

// parsedFeed is the feed as a reader decodes it.
type parsedFeed struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string   `xml:"id"`
	Title   string   `xml:"title"`
	Updated string   `xml:"updated"`
	Author  string   `xml:"author>name"`
	Links   []struct {
		Rel  string `xml:"rel,attr"`
		Href string `xml:"href,attr"`
	} `xml:"link"`
	Entries []struct {
		ID      string `xml:"id"`
		Title   string `xml:"title"`
		Updated string `xml:"updated"`
		Link    struct {
			Href string `xml:"href,attr"`
		} `xml:"link"`
		Content struct {
			Type string `xml:"type,attr"`
			Text string `xml:",chardata"`
		} `xml:"content"`
	} `xml:"entry"`
}

func feedOf(t *testing.T, snap Snapshot, feedRef string) (parsedFeed, []byte) {
	t.Helper()
	b, err := mustModel(t, snap).atom(feedRef)
	if err != nil {
		t.Fatal(err)
	}
	var f parsedFeed
	if err := xml.Unmarshal(b, &f); err != nil {
		t.Fatalf("the feed is not valid XML: %v\n%s", err, b)
	}
	return f, b
}

func TestFeedHasAnEntryPerUpdate(t *testing.T) {
	f, raw := feedOf(t, ipv4Outage(), "status/feed.atom")
	golden(t, "served/feed.atom", raw)

	if f.Title != "Example status" || f.Author != "Example" || f.Updated != "2025-07-09T12:48:00Z" {
		t.Errorf("feed %q by %q updated %s; want Example's, updated at the latest update", f.Title, f.Author, f.Updated)
	}
	links := map[string]string{}
	for _, l := range f.Links {
		links[l.Rel] = l.Href
	}
	if links["self"] != "https://status.example.com/status/feed.atom" || links["alternate"] != "https://status.example.com/" {
		t.Errorf("feed links %v", links)
	}
	var got []string
	for _, e := range f.Entries {
		if _, err := time.Parse(time.RFC3339, e.Updated); err != nil {
			t.Errorf("entry %q: updated: %v", e.Title, err)
		}
		got = append(got, e.Updated+" "+e.Title+": "+e.Content.Text)
	}
	want := []string{
		"2025-07-09T12:48:00Z IPv4 traffic failing to reach some services: Identified: Our hosting provider's upstream IPv4 routing is unstable. IPv6 is unaffected.",
		"2025-07-09T12:35:00Z IPv4 traffic failing to reach some services: Investigating: We are investigating connection timeouts over IPv4.",
		"2025-06-29T11:05:00Z Delayed SMS notifications: Resolved: Messages are delivered on time again.",
		"2025-06-29T09:40:00Z Delayed SMS notifications: Investigating: Some SMS notifications arrive up to 20 minutes late.\nCalls are not affected.",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("entries, newest first:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if e := f.Entries[0]; e.Link.Href != "https://status.example.com/#incident-42" || e.Content.Type != "text" {
		t.Errorf("entry links to %q with %s content; want the incident on the page, as text", e.Link.Href, e.Content.Type)
	}
}

func TestFeedEntryIDsAreStable(t *testing.T) {
	before, _ := feedOf(t, ipv4Outage(), "feed.atom")

	// Later: a new update, the incident renamed, the page regenerated.
	snap := ipv4Outage()
	snap.Generated = snap.Generated.Add(time.Hour)
	inc := &snap.Incidents[1]
	inc.Title = "IPv4 routing problems at our hosting provider"
	inc.Updates = append([]Update{{ID: "9", Status: "monitoring", Message: "A fix is in place.", At: at("2025-07-09T15:00:00Z")}}, inc.Updates...)
	after, _ := feedOf(t, snap, "feed.atom")

	if len(after.Entries) != len(before.Entries)+1 {
		t.Fatalf("%d entries after one more update, had %d", len(after.Entries), len(before.Entries))
	}
	if before.ID != after.ID {
		t.Errorf("the feed's id changed from %s to %s", before.ID, after.ID)
	}
	seen := map[string]bool{}
	for i, e := range after.Entries {
		if !strings.HasPrefix(e.ID, "urn:uuid:") || len(e.ID) != len("urn:uuid:")+36 || seen[e.ID] {
			t.Errorf("entry id %q is not a fresh UUID URN", e.ID)
		}
		seen[e.ID] = true
		if i > 0 && e.ID != before.Entries[i-1].ID {
			t.Errorf("entry %d's id changed from %s to %s", i, before.Entries[i-1].ID, e.ID)
		}
	}
	if other, _ := feedOf(t, Snapshot{Page: Page{Name: "Other"}, Incidents: ipv4Outage().Incidents, Generated: snap.Generated}, "feed.atom"); other.Entries[0].ID == before.Entries[0].ID {
		t.Error("another page's feed has the same entry ids")
	}
}

func TestFeedStaysValidXML(t *testing.T) {
	snap := ipv4Outage()
	snap.Page.URL = ""
	snap.Incidents[1].Title = `<b>"Broken" & </feed>`
	snap.Incidents[1].Updates[0].Message = "control \x00\x1b characters]]> and <tags>"
	f, raw := feedOf(t, snap, "feed.atom")
	if e := f.Entries[0]; e.Title != `<b>"Broken" & </feed>: Identified` || !strings.Contains(e.Content.Text, "]]> and <tags>") {
		t.Errorf("entry %q: %q; want the text as written", e.Title, e.Content.Text)
	}
	if len(f.Links) != 0 || strings.Contains(string(raw), "<link") {
		t.Errorf("a page without a URL has links in its feed:\n%s", raw)
	}
	empty, _ := feedOf(t, Snapshot{Page: Page{Name: "Quiet"}, Generated: snap.Generated}, "feed.atom")
	if len(empty.Entries) != 0 || empty.Updated != "2025-07-09T14:18:02Z" {
		t.Errorf("a feed without updates has %d entries, updated %s", len(empty.Entries), empty.Updated)
	}
}
