package status

import (
	"bytes"
	"cmp"
	"crypto/sha1"
	"encoding/xml"
	"fmt"
	"slices"
	"time"
)

// The Atom feed has one entry per public update, so a reader sees every
// update, not only an incident's latest state.

type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Author  atomPerson  `xml:"author"`
	Links   []atomLink  `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

type atomPerson struct {
	Name string `xml:"name"`
	URI  string `xml:"uri,omitempty"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomEntry struct {
	ID        string     `xml:"id"`
	Title     string     `xml:"title"`
	Updated   string     `xml:"updated"`
	Published string     `xml:"published"`
	Links     []atomLink `xml:"link"`
	Category  atomCat    `xml:"category"`
	Content   atomText   `xml:"content"`
}

type atomCat struct {
	Term string `xml:"term,attr"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Text string `xml:",chardata"`
}

// atom renders the feed; feedRef is where the feed lives relative to the
// HTML page, for its self link.
func (m *model) atom(feedRef string) ([]byte, error) {
	f := atomFeed{
		ID:     m.urn("feed"),
		Title:  m.title(),
		Author: atomPerson{Name: m.page.Name, URI: m.page.URL},
	}
	if m.base != nil {
		f.Links = []atomLink{
			{Rel: "alternate", Type: "text/html", Href: m.absolute("")},
			{Rel: "self", Type: "application/atom+xml", Href: m.absolute(feedRef)},
		}
	}
	type item struct {
		inc Incident
		u   Update
	}
	var items []item
	for _, inc := range m.incidents {
		for _, u := range inc.Updates {
			items = append(items, item{inc, u})
		}
	}
	slices.SortStableFunc(items, func(a, b item) int {
		return cmp.Or(b.u.At.Compare(a.u.At), cmp.Compare(a.inc.ID, b.inc.ID), cmp.Compare(a.u.ID, b.u.ID))
	})
	updated := m.generated
	if len(items) > 0 {
		updated = items[0].u.At
	}
	f.Updated = atomTime(updated)
	for _, it := range items {
		e := atomEntry{
			ID:        m.urn("incident", it.inc.ID, "update", it.u.ID),
			Title:     it.inc.Title + ": " + publicLabel(it.u.Status),
			Updated:   atomTime(it.u.At),
			Published: atomTime(it.u.At),
			Category:  atomCat{Term: string(it.u.Status)},
			Content:   atomText{Type: "text", Text: it.u.Message},
		}
		if m.base != nil {
			e.Links = []atomLink{{Rel: "alternate", Type: "text/html", Href: m.absolute("#" + incidentAnchor(it.inc.ID))}}
		}
		f.Entries = append(f.Entries, e)
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("status page: encoding the Atom feed: %w", err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

func atomTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// incidentAnchor is the id of an incident's article on the HTML page.
func incidentAnchor(id string) string { return "incident-" + id }

// urn is a stable, globally unique id for a thing on this page (a name-based
// UUID, RFC 9562 version 5): feed readers key entries by it, so it must not
// change between renderings or when an incident's title does.
func (m *model) urn(parts ...string) string {
	// The URL namespace of RFC 9562: the page is identified by its URL, or
	// by its name when it has none.
	ns := [16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(cmp.Or(m.page.URL, m.page.Name)))
	for _, p := range parts {
		// Length-prefixed, so ("a/b", "c") and ("a", "b/c") differ.
		fmt.Fprintf(h, "/%d:%s", len(p), p)
	}
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
