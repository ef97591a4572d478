// Package bot is what humans talk to Klaxon through: one command grammar for
// chat, SMS replies and the like, and Execute, which turns a command from a
// known person into an engine call and a one-line reply.
package bot

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/escalation/oncall"
)

// Verb is a command's action.
type Verb string

// Verbs.
const (
	VerbAck       Verb = "ack"
	VerbResolve   Verb = "resolve"
	VerbEscalate  Verb = "escalate"
	VerbSnooze    Verb = "snooze"
	VerbReassign  Verb = "reassign"
	VerbWho       Verb = "who"
	VerbOnCall    Verb = "oncall"
	VerbOverride  Verb = "override"
	VerbIncidents Verb = "incidents"
	VerbIncident  Verb = "incident"
	VerbMerge     Verb = "merge"
	VerbPriority  Verb = "priority"
	VerbNote      Verb = "note"
	VerbUpdate    Verb = "update"
	VerbPage      Verb = "page"
	VerbHelp      Verb = "help"
)

// Command is a parsed command line. Which fields are set depends on Verb.
type Command struct {
	Verb Verb
	// IncidentID is 0 when none was given ("ack" alone means the incident
	// the person was paged for last; resolve always names one).
	IncidentID int64
	// All: "ack all".
	All bool
	// Note is free text: a resolve note, a note, a public update's
	// message, a page's message.
	Note string
	// Level is escalate's level, 1-based; 0 means the next.
	Level int
	// Duration is a snooze's or an override's length.
	Duration time.Duration
	// Person is a person named with @ (reassign, oncall, override, page).
	Person string
	// Schedule is who's, override's or page's schedule.
	Schedule string
	// Span is an override's "FROM-TO", read against the schedule's
	// timezone by Execute.
	Span string
	// Into is merge's destination.
	Into     int64
	Priority escalation.Priority
	// Status and Title are a public update's.
	Status escalation.PublicStatus
	Title  string
}

// Question reports whether the command only asks something (help, who,
// oncall, incidents, incident). Its answer is for the person who asked
// alone: an incident's timeline holds internal notes, and a failed page's
// reason can hold a phone number, so no chat shows it to a channel.
func (c Command) Question() bool {
	switch c.Verb {
	case VerbHelp, VerbWho, VerbOnCall, VerbIncidents, VerbIncident:
		return true
	}
	return false
}

// ParseError explains what was wrong and what to type instead.
type ParseError struct{ Msg string }

func (e *ParseError) Error() string { return e.Msg }

func parseErr(format string, args ...any) error {
	return &ParseError{Msg: fmt.Sprintf(format, args...)}
}

var verbAliases = map[string]Verb{
	"ack": VerbAck, "a": VerbAck, "acknowledge": VerbAck, "1": VerbAck,
	"resolve": VerbResolve, "r": VerbResolve, "res": VerbResolve, "close": VerbResolve, "2": VerbResolve,
	"escalate": VerbEscalate, "esc": VerbEscalate,
	"snooze":   VerbSnooze,
	"reassign": VerbReassign,
	"who":      VerbWho,
	"oncall":   VerbOnCall, "on-call": VerbOnCall,
	"override":  VerbOverride,
	"incidents": VerbIncidents, "list": VerbIncidents,
	"incident": VerbIncident, "show": VerbIncident,
	"merge":    VerbMerge,
	"priority": VerbPriority, "prio": VerbPriority,
	"note":   VerbNote,
	"update": VerbUpdate,
	"page":   VerbPage,
	"help":   VerbHelp, "?": VerbHelp,
}

// Usage is the short help every error points to.
const Usage = `commands: ack [ID|all] · resolve ID [note] · escalate ID [level] · snooze ID 30m · reassign ID @person · ` +
	`who [schedule] · oncall [@person] · override SCHEDULE @person 4h|FROM-TO · incidents · incident ID · ` +
	`merge SRC into DST · priority ID P0-P4 · note ID text · update ID investigating|identified|monitoring|resolved ["public title"] message · ` +
	`page @person|schedule|team message · help`

// maxCommand bounds a command line; chat and SMS bodies are limited before
// they get here, this is the grammar's own guard.
const maxCommand = 4000

// Parse reads a command. It accepts a leading "/klaxon", any case, and the
// short forms people type half asleep on a phone: "a42", "42a", "ack".
func Parse(text string) (Command, error) {
	if len(text) > maxCommand {
		return Command{}, parseErr("command too long (%d characters, at most %d)", len(text), maxCommand)
	}
	fields := strings.Fields(text)
	if len(fields) > 0 && strings.EqualFold(fields[0], "/klaxon") {
		fields = fields[1:]
	}
	if len(fields) == 0 {
		return Command{}, parseErr("empty command; %s", Usage)
	}
	head := strings.ToLower(fields[0])
	rest := fields[1:]
	if verb, id, ok := splitGlued(head); ok {
		head = verb
		rest = append([]string{id}, rest...)
	}
	verb, ok := verbAliases[head]
	if !ok {
		return Command{}, parseErr("unknown command %q; %s", fields[0], Usage)
	}
	p := parser{cmd: Command{Verb: verb}, rest: rest}
	if err := p.parse(); err != nil {
		return Command{}, err
	}
	return p.cmd, nil
}

// parser reads one verb's arguments.
type parser struct {
	cmd  Command
	rest []string
}

// usage is each verb's example, which every error about it ends with.
var usage = map[Verb]string{
	VerbAck:       `"ack 42" or "ack all"`,
	VerbResolve:   `"resolve 42 rolled back the deploy"`,
	VerbEscalate:  `"escalate 42" or "escalate 42 2"`,
	VerbSnooze:    `"snooze 42 30m"`,
	VerbReassign:  `"reassign 42 @alice"`,
	VerbWho:       `"who" or "who primary"`,
	VerbOnCall:    `"oncall" or "oncall @alice"`,
	VerbOverride:  `"override primary @alice 4h" or "override primary @alice 2025-03-09T08:00-2025-03-09T20:00"`,
	VerbIncidents: `"incidents"`,
	VerbIncident:  `"incident 42"`,
	VerbMerge:     `"merge 43 into 42"`,
	VerbPriority:  `"priority 42 P1"`,
	VerbNote:      `"note 42 the CDN is fine"`,
	VerbUpdate:    `"update 42 investigating \"Slow checkout\" Some payments take longer than usual"`,
	VerbPage:      `"page @alice the db is on fire", "page primary the db is on fire" (a schedule) or "page storage the db is on fire" (a team)`,
	VerbHelp:      `"help"`,
}

func (p *parser) fail(format string, args ...any) error {
	return parseErr("%s; try %s", fmt.Sprintf(format, args...), usage[p.cmd.Verb])
}

// next takes the next argument, or fails naming what is missing.
func (p *parser) next(what string) (string, error) {
	if len(p.rest) == 0 {
		return "", p.fail("%s needs %s", p.cmd.Verb, what)
	}
	v := p.rest[0]
	p.rest = p.rest[1:]
	return v, nil
}

func (p *parser) id() (int64, error) {
	s, err := p.next("an incident ID")
	if err != nil {
		return 0, err
	}
	id, err := parseID(s)
	if err != nil {
		return 0, p.fail("%v", err)
	}
	return id, nil
}

func (p *parser) person() (string, error) {
	s, err := p.next("a @person")
	if err != nil {
		return "", err
	}
	name, ok := strings.CutPrefix(s, "@")
	if !ok || name == "" {
		return "", p.fail("%q is not a @person", s)
	}
	return name, nil
}

func (p *parser) done() error {
	if len(p.rest) > 0 {
		return p.fail("unexpected %q", strings.Join(p.rest, " "))
	}
	return nil
}

func (p *parser) text() string {
	t := strings.Join(p.rest, " ")
	p.rest = nil
	return t
}

func (p *parser) parse() error {
	c := &p.cmd
	var err error
	switch c.Verb {
	case VerbHelp, VerbIncidents:
		return p.done()
	case VerbAck:
		if len(p.rest) == 0 {
			return nil
		}
		if strings.EqualFold(p.rest[0], "all") {
			c.All, p.rest = true, p.rest[1:]
		} else if c.IncidentID, err = p.id(); err != nil {
			return err
		}
		if len(p.rest) > 0 {
			return p.fail("ack takes one incident ID or \"all\"")
		}
		return nil
	case VerbResolve:
		// Unlike ack, a resolve always names its incident: it closes it and
		// stops its paging for good, and the latest page may be a newer
		// incident than the one the person has in mind.
		if len(p.rest) == 0 {
			return p.fail("resolve needs the incident's ID (R42 in an SMS reply)")
		}
		if c.IncidentID, err = p.id(); err != nil {
			return err
		}
		c.Note = p.text()
		return nil
	case VerbIncident:
		if c.IncidentID, err = p.id(); err != nil {
			return err
		}
		return p.done()
	case VerbEscalate:
		if c.IncidentID, err = p.id(); err != nil {
			return err
		}
		if len(p.rest) > 0 {
			s := strings.TrimPrefix(strings.ToLower(p.rest[0]), "level")
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > 100 {
				return p.fail("%q is not a level (1, 2, ...)", p.rest[0])
			}
			c.Level, p.rest = n, p.rest[1:]
		}
		return p.done()
	case VerbSnooze:
		if c.IncidentID, err = p.id(); err != nil {
			return err
		}
		s, err := p.next("a duration")
		if err != nil {
			return err
		}
		if c.Duration, err = parseDuration(s); err != nil {
			return p.fail("%v", err)
		}
		return p.done()
	case VerbReassign:
		if c.IncidentID, err = p.id(); err != nil {
			return err
		}
		if c.Person, err = p.person(); err != nil {
			return err
		}
		return p.done()
	case VerbWho:
		if len(p.rest) > 0 {
			c.Schedule, p.rest = p.rest[0], p.rest[1:]
		}
		return p.done()
	case VerbOnCall:
		if len(p.rest) > 0 {
			if c.Person, err = p.person(); err != nil {
				return err
			}
		}
		return p.done()
	case VerbOverride:
		if c.Schedule, err = p.next("a schedule"); err != nil {
			return err
		}
		if c.Person, err = p.person(); err != nil {
			return err
		}
		s, err := p.next("a duration or FROM-TO")
		if err != nil {
			return err
		}
		if d, derr := parseDuration(s); derr == nil {
			c.Duration = d
		} else if _, _, serr := ParseSpan(s, time.UTC, time.Unix(0, 0)); serr == nil {
			c.Span = s
		} else {
			return p.fail("%q is neither a duration (4h, 90m, 2d) nor FROM-TO (%v)", s, serr)
		}
		return p.done()
	case VerbMerge:
		if c.IncidentID, err = p.id(); err != nil {
			return err
		}
		if len(p.rest) > 0 && strings.EqualFold(p.rest[0], "into") {
			p.rest = p.rest[1:]
		}
		if c.Into, err = p.id(); err != nil {
			return err
		}
		return p.done()
	case VerbPriority:
		if c.IncidentID, err = p.id(); err != nil {
			return err
		}
		s, err := p.next("a priority")
		if err != nil {
			return err
		}
		if c.Priority, err = escalation.ParsePriority(s); err != nil {
			return p.fail("%v", err)
		}
		return p.done()
	case VerbNote:
		if c.IncidentID, err = p.id(); err != nil {
			return err
		}
		if c.Note = p.text(); c.Note == "" {
			return p.fail("note needs text")
		}
		return nil
	case VerbUpdate:
		if c.IncidentID, err = p.id(); err != nil {
			return err
		}
		s, err := p.next("a status")
		if err != nil {
			return err
		}
		if c.Status, err = escalation.ParsePublicStatus(s); err != nil {
			return p.fail("%v", err)
		}
		if c.Title, c.Note, err = quotedTitle(p.text()); err != nil {
			return p.fail("%v", err)
		}
		if c.Note == "" {
			return p.fail("update needs a message for your customers")
		}
		return nil
	case VerbPage:
		s, err := p.next("a @person, a schedule or a team")
		if err != nil {
			return err
		}
		if name, ok := strings.CutPrefix(s, "@"); ok && name != "" {
			c.Person = name
		} else if !ok {
			c.Schedule = s
		} else {
			return p.fail("%q is not a @person", s)
		}
		if c.Note = p.text(); c.Note == "" {
			return p.fail("page needs a message")
		}
		return nil
	}
	return parseErr("unknown command %q; %s", c.Verb, Usage)
}

// quotedTitle splits `"Slow checkout" Some payments...` into title and
// message; without a leading quote the title is empty.
func quotedTitle(s string) (title, msg string, err error) {
	for _, q := range []struct{ open, close string }{{`"`, `"`}, {"“", "”"}} {
		rest, ok := strings.CutPrefix(s, q.open)
		if !ok {
			continue
		}
		i := strings.Index(rest, q.close)
		if i < 0 {
			return "", "", fmt.Errorf("the title's quote is not closed")
		}
		title = strings.TrimSpace(rest[:i])
		if title == "" {
			return "", "", fmt.Errorf("the quoted title is empty")
		}
		return title, strings.TrimSpace(rest[i+len(q.close):]), nil
	}
	return "", s, nil
}

// parseDuration reads 30m, 4h, 1h30m and whole days (2d).
func parseDuration(s string) (time.Duration, error) {
	ls := strings.ToLower(s)
	if n, ok := strings.CutSuffix(ls, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 1 || days > 366 {
			return 0, fmt.Errorf("%q is not a duration", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(ls)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a duration like 30m, 4h or 2d", s)
	}
	return d, nil
}

// spanLayouts are the forms one end of FROM-TO may take, most specific
// first; ends without a zone are local to the schedule.
var spanLayouts = []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02", "15:04"}

// ParseSpan reads an override's FROM-TO against a schedule's timezone:
// "2025-03-09T08:00-2025-03-09T20:00", "2025-12-24-2025-12-27" (whole
// days), RFC 3339 ends, or "14:00-18:00" (the next such stretch: today, or
// tomorrow when it is over already; an end at or before the start is on
// the next day). Local times follow the schedules' DST rules: in a
// spring-forward gap the first instant after it (02:30 is 03:00), in a
// fall-back overlap the first occurrence.
func ParseSpan(s string, loc *time.Location, now time.Time) (from, to time.Time, err error) {
	for i := 1; i < len(s)-1; i++ {
		if s[i] != '-' {
			continue
		}
		a, okA := parseEnd(s[:i], loc, now)
		b, okB := parseEnd(s[i+1:], loc, now)
		if !okA || !okB || a.clock != b.clock {
			continue
		}
		da, db := 0, 0
		if a.clock {
			if !b.at(loc, 0).After(a.at(loc, 0)) {
				db = 1
			}
			if !b.at(loc, db).After(now) {
				da, db = da+1, db+1
			}
		}
		from, to = a.at(loc, da), b.at(loc, db)
		if !to.After(from) {
			return time.Time{}, time.Time{}, fmt.Errorf("%q ends before it starts", s)
		}
		return from, to, nil
	}
	return time.Time{}, time.Time{}, fmt.Errorf("%q is not FROM-TO, like 14:00-18:00 or 2025-03-09T08:00-2025-03-09T20:00", s)
}

// spanEnd is one end of FROM-TO: an instant (RFC 3339), or a wall-clock
// time local to the schedule, whose fields wall holds (in UTC, so that
// adding days moves only the date).
type spanEnd struct {
	abs   time.Time
	wall  time.Time
	clock bool // a time of day alone, on now's local date
}

// at is the end's instant, days later for a wall-clock end.
func (e spanEnd) at(loc *time.Location, days int) time.Time {
	if !e.abs.IsZero() {
		return e.abs
	}
	w := e.wall.AddDate(0, 0, days)
	return oncall.LocalInstant(loc, w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute())
}

// parseEnd reads one end of a span.
func parseEnd(s string, loc *time.Location, now time.Time) (spanEnd, bool) {
	for _, layout := range spanLayouts {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		switch layout {
		case time.RFC3339:
			return spanEnd{abs: t}, true
		case "15:04":
			n := now.In(loc)
			return spanEnd{wall: time.Date(n.Year(), n.Month(), n.Day(), t.Hour(), t.Minute(), 0, 0, time.UTC), clock: true}, true
		}
		return spanEnd{wall: t}, true
	}
	return spanEnd{}, false
}

// splitGlued splits "a42" and "42a" into verb and id.
func splitGlued(s string) (verb, id string, ok bool) {
	i := strings.IndexFunc(s, unicode.IsDigit)
	if i <= 0 {
		// Leading digits: "42a".
		j := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsDigit(r) })
		if i == 0 && j > 0 && strings.IndexFunc(s[j:], unicode.IsDigit) < 0 {
			return s[j:], s[:j], true
		}
		return "", "", false
	}
	if strings.IndexFunc(s[i:], func(r rune) bool { return !unicode.IsDigit(r) }) >= 0 {
		return "", "", false
	}
	return s[:i], s[i:], true
}

func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%q is not an incident ID", s)
	}
	return id, nil
}
