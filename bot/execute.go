package bot

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/escalation/oncall"
)

// Engine is what commands need from the core.
type Engine interface {
	Acknowledge(ctx context.Context, id int64, actor escalation.Actor) (*escalation.Incident, error)
	Resolve(ctx context.Context, id int64, actor escalation.Actor, note string) (*escalation.Incident, error)
	Incidents(ctx context.Context, status escalation.Status, limit int) ([]*escalation.Incident, error)
	LatestPageTo(ctx context.Context, person string) (*escalation.Page, error)
	Incident(ctx context.Context, id int64) (*escalation.Incident, []escalation.Event, error)
	Escalate(ctx context.Context, id int64, level int, actor escalation.Actor) (*escalation.Incident, error)
	Snooze(ctx context.Context, id int64, d time.Duration, actor escalation.Actor) (*escalation.Incident, error)
	Reassign(ctx context.Context, id int64, person string, actor escalation.Actor) (*escalation.Incident, error)
	SetPriority(ctx context.Context, id int64, p escalation.Priority, actor escalation.Actor) (*escalation.Incident, error)
	AddNote(ctx context.Context, id int64, text string, actor escalation.Actor) (*escalation.Incident, error)
	Merge(ctx context.Context, src, dst int64, actor escalation.Actor) (*escalation.Incident, error)
	PostUpdate(ctx context.Context, id int64, u escalation.PublicUpdate, actor escalation.Actor) (*escalation.Incident, error)
	PageDirectly(ctx context.Context, target escalation.Target, message string, actor escalation.Actor) (*escalation.Incident, error)
	AddOverride(ctx context.Context, o escalation.Override, actor escalation.Actor) (*escalation.Override, error)
	Schedule(ctx context.Context, name string) (*oncall.Schedule, error)
	Catalog() *escalation.Catalog
	Now() time.Time
}

// listLimit bounds "incidents" so a reply fits a chat message or an SMS.
const listLimit = 10

// Execute runs a command for a known person and returns the reply. Errors
// are coded (escalation.Error) and their messages are fit to show the
// person.
func Execute(ctx context.Context, eng Engine, actor escalation.Actor, cmd Command) (string, error) {
	switch cmd.Verb {
	case VerbHelp:
		return Usage, nil
	case VerbAck:
		if cmd.All {
			return ackAll(ctx, eng, actor)
		}
		id, err := target(ctx, eng, actor, cmd.IncidentID)
		if err != nil {
			return "", err
		}
		inc, err := eng.Acknowledge(ctx, id, actor)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("Acknowledged #%d %s. Paging stopped.", inc.ID, inc.Title), nil
	case VerbResolve:
		id, err := target(ctx, eng, actor, cmd.IncidentID)
		if err != nil {
			return "", err
		}
		inc, err := eng.Resolve(ctx, id, actor, cmd.Note)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("Resolved #%d %s.", inc.ID, inc.Title), nil
	case VerbEscalate:
		inc, err := eng.Escalate(ctx, cmd.IncidentID, cmd.Level, actor)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("Escalated #%d %s to level %d.", inc.ID, inc.Title, inc.Escalation.Level+1), nil
	case VerbSnooze:
		inc, err := eng.Snooze(ctx, cmd.IncidentID, cmd.Duration, actor)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("Snoozed #%d %s for %s: paging starts over at %s UTC unless it is resolved.",
			inc.ID, inc.Title, cmd.Duration, inc.SnoozedUntil.UTC().Format("15:04")), nil
	case VerbReassign:
		person, err := known(eng, cmd.Person)
		if err != nil {
			return "", err
		}
		inc, err := eng.Reassign(ctx, cmd.IncidentID, person, actor)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("Reassigned #%d %s to %s, who is being paged.", inc.ID, inc.Title, person), nil
	case VerbPriority:
		inc, err := eng.SetPriority(ctx, cmd.IncidentID, cmd.Priority, actor)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("#%d %s is now %s (policy %s).", inc.ID, inc.Title, inc.Priority, inc.Policy), nil
	case VerbNote:
		inc, err := eng.AddNote(ctx, cmd.IncidentID, cmd.Note, actor)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("Noted on #%d (internal, never public).", inc.ID), nil
	case VerbMerge:
		inc, err := eng.Merge(ctx, cmd.IncidentID, cmd.Into, actor)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("Merged #%d into #%d %s; #%d's pages stopped.", cmd.IncidentID, inc.ID, inc.Title, cmd.IncidentID), nil
	case VerbUpdate:
		inc, err := eng.PostUpdate(ctx, cmd.IncidentID, escalation.PublicUpdate{Status: cmd.Status, Title: cmd.Title, Message: cmd.Note}, actor)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("Published on #%d %q: %s — %s", inc.ID, inc.Public.Title, inc.Public.Status, cmd.Note), nil
	case VerbPage:
		t := escalation.Target{Kind: escalation.TargetSchedule, Name: cmd.Schedule}
		if _, team := eng.Catalog().Teams[cmd.Schedule]; team {
			t.Kind = escalation.TargetTeam
		} else if _, ok := eng.Catalog().Schedules[cmd.Schedule]; !ok && cmd.Person == "" {
			return "", escalation.Errorf(escalation.CodeNotFound, "no schedule or team is named %q", cmd.Schedule)
		}
		if cmd.Person != "" {
			person, err := known(eng, cmd.Person)
			if err != nil {
				return "", err
			}
			t = escalation.Target{Kind: escalation.TargetPerson, Name: person}
		}
		inc, err := eng.PageDirectly(ctx, t, cmd.Note, actor)
		if err != nil {
			return "", err
		}
		if runs := inc.Escalation.Runs; len(runs) > 1 {
			names := make([]string, len(runs))
			for i, r := range runs {
				names[i] = r.Person
			}
			return fmt.Sprintf("Paging %s (#%d) until one of them acknowledges.", strings.Join(names, ", "), inc.ID), nil
		}
		who := inc.Escalation.Runs[0].Person
		return fmt.Sprintf("Paging %s (#%d) until they acknowledge.", who, inc.ID), nil
	case VerbOverride:
		return override(ctx, eng, actor, cmd)
	case VerbWho:
		return who(ctx, eng, cmd.Schedule)
	case VerbOnCall:
		person := actor.Name
		if cmd.Person != "" {
			p, err := known(eng, cmd.Person)
			if err != nil {
				return "", err
			}
			person = p
		}
		return onCall(ctx, eng, person, person == actor.Name)
	case VerbIncidents:
		return incidents(ctx, eng)
	case VerbIncident:
		return incident(ctx, eng, cmd.IncidentID)
	}
	return "", escalation.Errorf(escalation.CodeInvalid, "unknown command; %s", Usage)
}

// ResolveMentions rewrites chat mentions — Slack's <@U024BE7LH> and
// <@U024BE7LH|name>, Discord's <@80351110224678912> and <@!8035...> — as
// @person, so the grammar sees Klaxon's names. A mention lookup does not
// know is left as it is, and the command then fails naming it.
func ResolveMentions(text string, lookup func(chatID string) (person string, ok bool)) string {
	var b strings.Builder
	for {
		i := strings.Index(text, "<@")
		if i < 0 {
			b.WriteString(text)
			return b.String()
		}
		b.WriteString(text[:i])
		rest := text[i+2:]
		rest = strings.TrimPrefix(rest, "!")
		n := strings.IndexFunc(rest, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		})
		end := -1
		if n > 0 {
			switch rest[n] {
			case '>':
				end = n
			case '|':
				if j := strings.IndexByte(rest[n:], '>'); j >= 0 {
					end = n + j
				}
			}
		}
		if end < 0 {
			b.WriteString("<@")
			text = text[i+2:]
			continue
		}
		m := text[i : len(text)-len(rest)+end+1]
		if person, ok := lookup(rest[:n]); ok {
			b.WriteString("@" + person)
		} else {
			b.WriteString(m)
		}
		text = rest[end+1:]
	}
}

func known(eng Engine, person string) (string, error) {
	if _, ok := eng.Catalog().People[person]; !ok {
		return "", escalation.Errorf(escalation.CodeNotFound, "unknown person %q: only people in the config can be named", person)
	}
	return person, nil
}

func override(ctx context.Context, eng Engine, actor escalation.Actor, cmd Command) (string, error) {
	person, err := known(eng, cmd.Person)
	if err != nil {
		return "", err
	}
	s, err := eng.Schedule(ctx, cmd.Schedule)
	if err != nil {
		return "", err
	}
	now := eng.Now()
	o := escalation.Override{Schedule: cmd.Schedule, Person: person, From: now, To: now.Add(cmd.Duration)}
	if cmd.Span != "" {
		if o.From, o.To, err = ParseSpan(cmd.Span, s.Location, now); err != nil {
			return "", escalation.Errorf(escalation.CodeInvalid, "%v", err)
		}
	}
	out, err := eng.AddOverride(ctx, o, actor)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Override #%d: %s is on call for %s from %s to %s.", out.ID, person, cmd.Schedule,
		out.From.In(s.Location).Format("Mon Jan 2 15:04"), out.To.In(s.Location).Format("Mon Jan 2 15:04 MST")), nil
}

func who(ctx context.Context, eng Engine, schedule string) (string, error) {
	names := slices.Sorted(maps.Keys(eng.Catalog().Schedules))
	if members, team := eng.Catalog().Teams[schedule]; team {
		return whoInTeam(ctx, eng, schedule, members)
	}
	if schedule != "" {
		names = []string{schedule}
	}
	if len(names) == 0 {
		return "No schedules are configured.", nil
	}
	now := eng.Now()
	var lines []string
	for _, name := range names {
		s, err := eng.Schedule(ctx, name)
		if err != nil {
			return "", err
		}
		person, ok := s.OnCall(now)
		line := name + ": nobody is on call"
		if ok {
			line = name + ": " + person
		}
		if next, ok := s.NextHandoff(now); ok {
			line += " until " + next.In(s.Location).Format("Mon 15:04 MST")
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n"), nil
}

// onCall says whether the person is on call now, and when next if not,
// looking a month ahead.
func onCall(ctx context.Context, eng Engine, person string, self bool) (string, error) {
	now := eng.Now()
	subject := person + " is"
	if self {
		subject = "You are"
	}
	type shift struct {
		schedule string
		span     oncall.Span
		loc      *time.Location
	}
	var lines []string
	var next *shift
	for _, name := range slices.Sorted(maps.Keys(eng.Catalog().Schedules)) {
		s, err := eng.Schedule(ctx, name)
		if err != nil {
			return "", err
		}
		for _, sp := range s.Timeline(now, now.Add(31*24*time.Hour)) {
			if sp.Person != person {
				continue
			}
			if !sp.From.After(now) {
				lines = append(lines, fmt.Sprintf("%s on call for %s until %s.", subject, name, sp.To.In(s.Location).Format("Mon Jan 2 15:04 MST")))
			} else if next == nil || sp.From.Before(next.span.From) {
				next = &shift{name, sp, s.Location}
			}
			break
		}
	}
	if len(lines) > 0 {
		return strings.Join(lines, "\n"), nil
	}
	if next == nil {
		return subject + " not on call in the next 31 days.", nil
	}
	return fmt.Sprintf("%s not on call now; next for %s from %s to %s.", subject, next.schedule,
		next.span.From.In(next.loc).Format("Mon Jan 2 15:04"), next.span.To.In(next.loc).Format("Mon Jan 2 15:04 MST")), nil
}

func incidents(ctx context.Context, eng Engine) (string, error) {
	var open []*escalation.Incident
	for _, st := range []escalation.Status{escalation.StatusTriggered, escalation.StatusAcknowledged} {
		incs, err := eng.Incidents(ctx, st, listLimit)
		if err != nil {
			return "", err
		}
		open = append(open, incs...)
	}
	if len(open) == 0 {
		return "No open incidents.", nil
	}
	slices.SortFunc(open, func(a, b *escalation.Incident) int {
		if a.Priority != b.Priority {
			return int(a.Priority) - int(b.Priority)
		}
		return int(b.ID - a.ID)
	})
	var lines []string
	for i, inc := range open {
		if i == listLimit {
			lines = append(lines, fmt.Sprintf("… and %d more", len(open)-listLimit))
			break
		}
		lines = append(lines, Summary(inc))
	}
	return strings.Join(lines, "\n"), nil
}

// Summary is an incident in one line: "#42 P1 triggered [checkout] title".
func Summary(inc *escalation.Incident) string {
	line := fmt.Sprintf("#%d %s %s", inc.ID, inc.Priority, inc.Status)
	if inc.Service != "" {
		line += " [" + inc.Service + "]"
	}
	line += " " + inc.Title
	if inc.Status == escalation.StatusAcknowledged && inc.AcknowledgedBy != "" {
		line += " (acked by " + inc.AcknowledgedBy + ")"
	}
	return line
}

// incidentTimeline is how many of the latest timeline entries "incident"
// shows.
const incidentTimeline = 8

func incident(ctx context.Context, eng Engine, id int64) (string, error) {
	inc, events, err := eng.Incident(ctx, id)
	if err != nil {
		return "", err
	}
	lines := []string{Summary(inc), fmt.Sprintf("opened %s UTC, %d alert(s), %d firing", inc.CreatedAt.UTC().Format("2006-01-02 15:04"), inc.Alerts, inc.Firing)}
	if inc.Public != nil {
		lines = append(lines, fmt.Sprintf("public: %q, %s", inc.Public.Title, inc.Public.Status))
	}
	if len(events) > incidentTimeline {
		lines = append(lines, fmt.Sprintf("(%d earlier entries)", len(events)-incidentTimeline))
		events = events[len(events)-incidentTimeline:]
	}
	for _, ev := range events {
		lines = append(lines, TimelineLine(ev))
	}
	return strings.Join(lines, "\n"), nil
}

// TimelineLine is one timeline entry as chat and SMS show it.
func TimelineLine(ev escalation.Event) string {
	line := ev.At.UTC().Format("15:04") + " " + strings.ReplaceAll(string(ev.Kind), "_", " ")
	if ev.Actor != "" {
		line += " by " + ev.Actor
		if ev.Via != "" {
			line += " via " + ev.Via
		}
	}
	if ev.Person != "" && ev.Kind != escalation.EventTriggered {
		line += " " + ev.Person
		if ev.Channel != "" {
			line += " (" + string(ev.Channel) + ")"
		}
	}
	if ev.Status != "" {
		line += " [" + string(ev.Status) + "]"
	}
	if ev.Message != "" {
		line += ": " + ev.Message
	}
	return line
}

// target is the incident a command means: the given id, or the one the
// person was paged for last.
func target(ctx context.Context, eng Engine, actor escalation.Actor, id int64) (int64, error) {
	if id != 0 {
		return id, nil
	}
	p, err := eng.LatestPageTo(ctx, actor.Name)
	if errors.Is(err, escalation.ErrNotFound) {
		return 0, escalation.Errorf(escalation.CodeInvalid, "you have not been paged recently; name the incident, e.g. \"ack 42\"")
	}
	if err != nil {
		return 0, err
	}
	return p.IncidentID, nil
}

func ackAll(ctx context.Context, eng Engine, actor escalation.Actor) (string, error) {
	incs, err := eng.Incidents(ctx, escalation.StatusTriggered, 0)
	if err != nil {
		return "", err
	}
	if len(incs) == 0 {
		return "No triggered incidents.", nil
	}
	n := 0
	for _, inc := range incs {
		if _, err := eng.Acknowledge(ctx, inc.ID, actor); err != nil {
			// Another responder may have acked meanwhile; the rest still count.
			if escalation.ErrorCode(err) == escalation.CodeConflict {
				continue
			}
			return "", fmt.Errorf("acknowledging #%d: %w", inc.ID, err)
		}
		n++
	}
	return fmt.Sprintf("Acknowledged %d incident(s). Paging stopped.", n), nil
}

// whoInTeam is "who" of a team: its people, and who is on call now for
// its schedules — whom "page TEAM ..." would reach.
func whoInTeam(ctx context.Context, eng Engine, team string, members []escalation.Target) (string, error) {
	var parts []string
	for _, m := range members {
		if m.Kind != escalation.TargetSchedule {
			parts = append(parts, m.Name)
			continue
		}
		s, err := eng.Schedule(ctx, m.Name)
		if err != nil {
			return "", err
		}
		if person, ok := s.OnCall(eng.Now()); ok {
			parts = append(parts, fmt.Sprintf("%s (on call for %s)", person, m.Name))
		} else {
			parts = append(parts, fmt.Sprintf("nobody on call for %s", m.Name))
		}
	}
	return fmt.Sprintf("team %s: %s", team, strings.Join(parts, ", ")), nil
}
