package escalation

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/escalation/oncall"
)

// Catalog is the configured world: who can be paged and how, the policies
// that say when, and the services and integrations alerts arrive through.
// It is read-only once built; the config loader builds and validates it.
type Catalog struct {
	People       map[string]*Person
	Schedules    map[string]*oncall.Schedule
	Policies     map[string]*Policy
	Services     map[string]*Service
	Integrations map[string]*Integration
	// Notices are per schedule: shift-start notices and weekly digests.
	Notices map[string]*Notices
	// Teams are people and schedules paged together, by team name.
	Teams map[string][]Target
	// PublicUpdates says who may publish on the status page.
	PublicUpdates PublicUpdaters
	// Heartbeats are dead man's switches, by name.
	Heartbeats map[string]*Heartbeat
	// Silences are configured (recurring) maintenance windows.
	Silences []*Silence
}

// PublicUpdaters says which people may post public updates: the listed
// People, or — with Responders — also anyone paged for the incident or who
// acted on it. With neither, every configured person may. API tokens act
// for an operator and may always.
type PublicUpdaters struct {
	Responders bool
	People     []string
}

// Person is someone who can be paged and can act on incidents.
type Person struct {
	Name     string
	Timezone *time.Location
	// Phone is E.164 (+15551234567); SMS and voice pages go there and SMS
	// replies from it act as this person.
	Phone string
	// Rules are tried in order, each After the person's paging started;
	// with RepeatEvery > 0 the whole list starts over every RepeatEvery
	// until someone acknowledges.
	Rules       []ContactRule
	RepeatEvery time.Duration
	// WorkingHours are when the person is awake to answer, in their own
	// timezone; nil means any time.
	WorkingHours *WorkingHours
	// ChatIDs are the person's user ids for direct messages, by channel
	// (slack, discord).
	ChatIDs map[Channel]string
	// CallLimit caps calls to the person across all incidents.
	CallLimit CallLimit
}

// CallLimit: at most Max calls in any Window; calls over it are bundled
// into one SMS (zero Max: no limit).
type CallLimit struct {
	Max    int
	Window time.Duration
}

// Address is where a page on ch reaches the person ("" when nowhere).
func (p *Person) Address(ch Channel) string {
	switch ch {
	case ChannelSMS, ChannelVoice:
		return p.Phone
	}
	return p.ChatIDs[ch]
}

// WorkingHours is a daily window [From, To) of local time (wrapping past
// midnight when To is not after From) on Days (every day when empty).
type WorkingHours struct {
	From, To oncall.Clock
	Days     []time.Weekday
}

// Location is the person's timezone (UTC when unset).
func (p *Person) Location() *time.Location {
	if p.Timezone == nil {
		return time.UTC
	}
	return p.Timezone
}

// Awake reports whether at falls in the person's working hours. A window
// that wraps midnight belongs to the day it starts on.
func (p *Person) Awake(at time.Time) bool {
	w := p.WorkingHours
	if w == nil {
		return true
	}
	t := at.In(p.Location())
	m := t.Hour()*60 + t.Minute()
	from, to := w.From.Hour*60+w.From.Minute, w.To.Hour*60+w.To.Minute
	day := t.Weekday()
	switch {
	case from < to:
		if m < from || m >= to {
			return false
		}
	case m >= from:
	case m < to:
		day = (day + 6) % 7 // the early hours belong to the evening before
	default:
		return false
	}
	if len(w.Days) == 0 {
		return true
	}
	for _, d := range w.Days {
		if d == day {
			return true
		}
	}
	return false
}

// ContactRule is one way to reach a person and when.
type ContactRule struct {
	Channel Channel
	After   time.Duration
}

// stepAt is when step k of a contact run that started at since fires, and
// the rule it uses; ok is false when the rules are used up.
func (p *Person) stepAt(since time.Time, k int) (at time.Time, rule ContactRule, ok bool) {
	n := len(p.Rules)
	if n == 0 || k < 0 {
		return time.Time{}, ContactRule{}, false
	}
	loop := k / n
	if loop > 0 && p.RepeatEvery <= 0 {
		return time.Time{}, ContactRule{}, false
	}
	rule = p.Rules[k%n]
	return since.Add(time.Duration(loop)*p.RepeatEvery + rule.After), rule, true
}

// Policy is an ordered list of levels; after the last level's delay the
// policy starts over, Repeat more times.
type Policy struct {
	Name   string
	Levels []Level
	Repeat int
}

// Level pages its targets, then waits Delay before the next level is paged
// too.
type Level struct {
	Targets []Target
	Delay   time.Duration
	// PreferAwake pages the targets inside their working hours first and
	// wakes the others WakeAfter later, unless someone acknowledged; an
	// incident of priority WakeAtOnce or higher wakes everyone at once.
	PreferAwake bool
	WakeAfter   time.Duration
	WakeAtOnce  *Priority
}

// TargetKind says what a level target names.
type TargetKind string

// Target kinds.
const (
	TargetPerson   TargetKind = "person"
	TargetSchedule TargetKind = "schedule" // whoever is on call when the page goes out
	// TargetTeam is paged directly only ("page storage ..."): a level
	// naming a team gets its members.
	TargetTeam TargetKind = "team"
)

// Target is who a level pages.
type Target struct {
	Kind TargetKind
	Name string
}

// Service is something that can break.
type Service struct {
	Name string
	// Policy is the default escalation policy; PolicyByPriority picks a
	// louder one for some priorities.
	Policy           string
	PolicyByPriority map[Priority]string
	// SeverityPriority maps a normalised alert severity to a priority;
	// DefaultPriority applies when the severity is unknown or missing.
	SeverityPriority map[string]Priority
	DefaultPriority  Priority
	// GroupBy lists labels whose values form the group key; empty means the
	// sender's group key (or the dedup key).
	GroupBy []string
	// ManualResolve keeps an incident open when all its alerts resolve.
	ManualResolve bool
	// ReopenWindow: a resolved incident whose group fires again within this
	// long is reopened rather than duplicated.
	ReopenWindow time.Duration
	// Flap damps flapping incidents; the zero value does not.
	Flap FlapDamping
	// DependsOn lists services this one needs: while one of them has an
	// open incident, this service's new alerts join it as an impacted
	// service instead of opening an incident (and paging) of their own,
	// unless NoCorrelation.
	DependsOn     []string
	NoCorrelation bool
	// SplitAfter is how long the alerts of services depending on this one
	// may go on firing in its incident after its own alerts resolved
	// before they move to incidents of their own (0: DefaultSplitAfter).
	SplitAfter time.Duration
}

// FlapDamping: after Count reopens within Window an incident is flapping.
// A flapping incident that was acknowledged stays acknowledged when it
// reopens (no pages again); one that was not holds its pages for Cooldown;
// and when its alerts resolve it resolves only after staying resolved for
// Cooldown.
type FlapDamping struct {
	Count    int
	Window   time.Duration
	Cooldown time.Duration
}

// PolicyFor picks the policy for a priority.
func (s *Service) PolicyFor(p Priority) string {
	if name, ok := s.PolicyByPriority[p]; ok {
		return name
	}
	return s.Policy
}

// NormalizeSeverity maps the many spellings monitors use onto the four
// severities services map to priorities (critical, error, warning, info);
// anything else is kept, trimmed and lowercased, so a service can still
// map it. Parsers apply it to what arrives, and the config to its keys,
// so that both sides speak of one severity by one name.
func NormalizeSeverity(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "critical", "crit", "page", "p1":
		return "critical"
	case "error", "high", "major":
		return "error"
	case "warning", "warn", "minor", "medium":
		return "warning"
	case "info", "low", "none":
		return "info"
	}
	return s
}

// PriorityFor maps an alert's severity (normalized) to a priority.
func (s *Service) PriorityFor(severity string) Priority {
	if p, ok := s.SeverityPriority[severity]; ok {
		return p
	}
	return s.DefaultPriority
}

// groupKey picks the incident an alert joins within the service.
func (s *Service) groupKey(a Alert) string {
	if len(s.GroupBy) > 0 {
		var key []byte
		for i, l := range s.GroupBy {
			if i > 0 {
				key = append(key, ',')
			}
			key = append(append(key, l...), '=')
			key = strconv.AppendQuote(key, a.Labels[l])
		}
		return string(key)
	}
	if a.GroupKey != "" {
		return a.GroupKey
	}
	return a.DedupKey
}

// groupKeyOver is the length of a's group key when it is over
// MaxKeyBytes, else 0. It builds the key only when the labels could make
// it that long: it is checked for every alert received.
func (s *Service) groupKeyOver(a Alert) int {
	if len(s.GroupBy) > 0 {
		// A quoted byte takes at most 4 (\xff); a label adds its name,
		// '=', two quotes and a comma.
		bound := 0
		for _, l := range s.GroupBy {
			bound += len(l) + 4 + 4*len(a.Labels[l])
		}
		if bound <= MaxKeyBytes {
			return 0
		}
	}
	if n := len(s.groupKey(a)); n > MaxKeyBytes {
		return n
	}
	return 0
}

// Integration is an authenticated way for one monitor to send alerts to one
// service.
type Integration struct {
	Name    string
	Service string
	// Format names the ingest parser (alertmanager, pagerduty, ...).
	Format string
	// Token authenticates the sender (bearer token, URL token or PagerDuty
	// routing key). Never logged.
	Token string
}

// Validate checks the catalog's cross-references, so the engine can rely on
// them. The config loader reports problems with their config paths first;
// this is the core's own guard.
func (c *Catalog) Validate() error {
	for name, p := range c.Policies {
		if len(p.Levels) == 0 {
			return fmt.Errorf("policy %q has no levels", name)
		}
		for i, l := range p.Levels {
			for _, t := range l.Targets {
				switch t.Kind {
				case TargetPerson:
					if _, ok := c.People[t.Name]; !ok {
						return fmt.Errorf("policy %q level %d: unknown person %q", name, i+1, t.Name)
					}
				case TargetSchedule:
					if _, ok := c.Schedules[t.Name]; !ok {
						return fmt.Errorf("policy %q level %d: unknown schedule %q", name, i+1, t.Name)
					}
				default:
					return fmt.Errorf("policy %q level %d: unknown target kind %q", name, i+1, t.Kind)
				}
			}
		}
	}
	for name, s := range c.Services {
		if _, ok := c.Policies[s.Policy]; !ok {
			return fmt.Errorf("service %q: unknown policy %q", name, s.Policy)
		}
		for pr, pol := range s.PolicyByPriority {
			if _, ok := c.Policies[pol]; !ok {
				return fmt.Errorf("service %q: priority %s: unknown policy %q", name, pr, pol)
			}
		}
	}
	for name, s := range c.Services {
		for _, d := range s.DependsOn {
			if _, ok := c.Services[d]; !ok || d == name {
				return fmt.Errorf("service %q: depends_on %q is not another service", name, d)
			}
		}
	}
	for name, in := range c.Integrations {
		if _, ok := c.Services[in.Service]; !ok {
			return fmt.Errorf("integration %q: unknown service %q", name, in.Service)
		}
	}
	for name, s := range c.Schedules {
		if err := s.Validate(); err != nil {
			return fmt.Errorf("schedule %q: %w", name, err)
		}
	}
	for name, hb := range c.Heartbeats {
		if _, ok := c.Services[hb.Service]; !ok {
			return fmt.Errorf("heartbeat %q: unknown service %q", name, hb.Service)
		}
		if hb.Cron == nil && hb.Every <= 0 {
			return fmt.Errorf("heartbeat %q: needs an interval or a cron rule", name)
		}
	}
	for name := range c.Notices {
		if _, ok := c.Schedules[name]; !ok {
			return fmt.Errorf("notices: unknown schedule %q", name)
		}
	}
	for name, p := range c.People {
		if len(p.Rules) == 0 {
			return fmt.Errorf("person %q has no contact rules", name)
		}
		if p.RepeatEvery > 0 && p.RepeatEvery <= p.Rules[len(p.Rules)-1].After {
			return fmt.Errorf("person %q: repeat_every must be longer than the last rule's after", name)
		}
	}
	return nil
}

// PersonByPhone finds the person an SMS reply or call belongs to.
func (c *Catalog) PersonByPhone(phone string) (*Person, bool) {
	for _, p := range c.People {
		if p.Phone != "" && p.Phone == phone {
			return p, true
		}
	}
	return nil, false
}
