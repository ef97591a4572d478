package status

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"strings"
	"time"
)

//go:embed assets/page.html assets/style.css assets/localtime.js
var assets embed.FS

// links are where the page's other renderings live, relative to the page:
// they differ between the served routes and an export, and stay relative so
// an export works from any static host and from file://.
type links struct {
	JSON, Feed, Summary string
}

// renderer holds the parsed page template and its inline assets.
type renderer struct {
	page *template.Template
	css  template.CSS
	js   template.JS
	// csp allows exactly the page's own inline style and script, by hash,
	// and nothing else: the page loads no external assets.
	csp string
}

func newRenderer() *renderer {
	css := mustRead("assets/style.css")
	js := mustRead("assets/localtime.js")
	page := template.Must(template.New("page.html").Funcs(template.FuncMap{
		"utc": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
		"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	}).ParseFS(assets, "assets/page.html"))
	return &renderer{
		page: page,
		css:  template.CSS(css),
		js:   template.JS(js),
		csp: fmt.Sprintf("default-src 'none'; style-src '%s'; script-src '%s'; base-uri 'none'; form-action 'none'",
			hash(css), hash(js)),
	}
}

// mustRead reads an embedded asset: one missing is a build defect, which any
// test catches.
func mustRead(name string) string {
	b, err := assets.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

type pageView struct {
	Title     string
	Overall   ComponentStatus
	Banner    string
	Generated time.Time
	Active    []incidentView
	Past      []incidentView
	Groups    []groupView
	Links     links
	CSS       template.CSS
	JS        template.JS
	CSP       string
}

type groupView struct {
	Name       string
	Status     ComponentStatus
	Label      string
	Components []componentView
}

type componentView struct {
	Name   string
	Status ComponentStatus
	Label  string
	// Summary is the history in words, for screen readers.
	Summary string
	Days    []dayView
}

// dayView is one cell of a history strip. A day without incidents carries
// no words of its own: 20 components × 90 days of tooltips would be most
// of the page's weight; the legend and the strip's label say it instead.
type dayView struct {
	Class, Title string
}

type incidentView struct {
	Anchor     string
	Title      string
	Open       bool
	Status     string
	Effect     ComponentStatus
	Impact     string
	Components string
	StartedAt  time.Time
	Updates    []updateView
}

type updateView struct {
	Status  string
	Message string
	At      time.Time
}

// html renders the page.
func (r *renderer) html(m *model, l links) ([]byte, error) {
	v := pageView{
		Title:     m.title(),
		Overall:   m.overall,
		Banner:    m.overall.banner(),
		Generated: m.generated,
		Links:     l,
		CSS:       r.css,
		JS:        r.js,
		CSP:       r.csp,
	}
	for _, inc := range m.incidents {
		iv := incidentView{
			Anchor:     incidentAnchor(inc.ID),
			Title:      inc.Title,
			Open:       inc.open(),
			Status:     publicLabel(inc.Status),
			Effect:     Operational,
			Impact:     impactLabel(inc.Impact),
			Components: strings.Join(m.componentNames(inc), ", "),
			StartedAt:  inc.StartedAt,
		}
		for _, u := range inc.Updates {
			iv.Updates = append(iv.Updates, updateView{Status: publicLabel(u.Status), Message: u.Message, At: u.At})
		}
		if inc.open() {
			level, _ := impactLevel(inc.Impact)
			iv.Effect = impactStatus(level)
			v.Active = append(v.Active, iv)
		} else {
			v.Past = append(v.Past, iv)
		}
	}
	for _, g := range m.groups() {
		gv := groupView{Name: g.Name, Status: g.Status, Label: g.Status.label()}
		for _, c := range g.Components {
			gv.Components = append(gv.Components, m.componentView(c))
		}
		v.Groups = append(v.Groups, gv)
	}
	var b bytes.Buffer
	if err := r.page.Execute(&b, v); err != nil {
		return nil, fmt.Errorf("status page: rendering HTML: %w", err)
	}
	return b.Bytes(), nil
}

func (m *model) componentView(c Component) componentView {
	const dateOnly = "2006-01-02"
	h := m.history[c.ID]
	cv := componentView{
		Name:   c.Name,
		Status: c.Status,
		Label:  c.Status.label(),
		Days:   make([]dayView, historyDays),
	}
	var marked []string
	for i, level := range h {
		if level == 0 {
			continue
		}
		class, words := day(level)
		date := m.days[i].Format(dateOnly)
		cv.Days[i] = dayView{Class: class, Title: date + ": " + words}
		marked = append(marked, words+" on "+date)
	}
	switch len(marked) {
	case 0:
		cv.Summary = fmt.Sprintf("%s, last %d days: no incidents.", c.Name, historyDays)
	case historyDays:
		cv.Summary = fmt.Sprintf("%s, last %d days: %s.", c.Name, historyDays, strings.Join(marked, ", "))
	default:
		cv.Summary = fmt.Sprintf("%s, last %d days: %s; no incidents on the other %d days.",
			c.Name, historyDays, strings.Join(marked, ", "), historyDays-len(marked))
	}
	return cv
}
