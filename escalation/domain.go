// Package escalation is Klaxon's core: alerts, incidents and their state
// machine, the catalog of services, policies and people, escalation planning,
// the page outbox and the one runner loop. It depends on the standard library
// only; storage, monitors, chat and phone providers plug in through the small
// interfaces declared here.
package escalation

import (
	"fmt"
	"strings"
	"time"
)

// Priority orders incidents: P0 is the highest, P4 the lowest.
type Priority int

// The five priorities. The zero value is P0, so code that builds incidents
// always sets a priority explicitly.
const (
	P0 Priority = iota
	P1
	P2
	P3
	P4
)

// ParsePriority reads "P0".."P4" (any case).
func ParsePriority(s string) (Priority, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	if len(t) == 2 && t[0] == 'P' && t[1] >= '0' && t[1] <= '4' {
		return Priority(t[1] - '0'), nil
	}
	return 0, fmt.Errorf("priority %q: want one of P0, P1, P2, P3, P4", s)
}

func (p Priority) String() string { return fmt.Sprintf("P%d", int(p)) }

// MarshalText writes a priority as "P1".
func (p Priority) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads a priority written by MarshalText.
func (p *Priority) UnmarshalText(b []byte) error {
	v, err := ParsePriority(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// Status is where an incident stands.
type Status string

// Incident states: triggered → acknowledged → resolved, and back to triggered
// when a resolved incident reopens.
const (
	StatusTriggered    Status = "triggered"
	StatusAcknowledged Status = "acknowledged"
	StatusResolved     Status = "resolved"
)

// Open reports whether the incident still needs a human.
func (s Status) Open() bool { return s == StatusTriggered || s == StatusAcknowledged }

// ParseStatus accepts the three incident states.
func ParseStatus(s string) (Status, error) {
	switch st := Status(s); st {
	case StatusTriggered, StatusAcknowledged, StatusResolved:
		return st, nil
	}
	return "", fmt.Errorf("status %q: want triggered, acknowledged or resolved", s)
}

// AlertState is what a monitor says about one alert.
type AlertState string

// A firing alert opens or joins an incident; a resolved one may close it; an
// acknowledge event (PagerDuty, Opsgenie) acknowledges the incident it is in.
const (
	AlertFiring       AlertState = "firing"
	AlertResolved     AlertState = "resolved"
	AlertAcknowledged AlertState = "acknowledged"
)

// Link is a URL a monitor attached to an alert.
type Link struct {
	Href string `json:"href"`
	Text string `json:"text,omitempty"`
}

// Alert is one signal from a monitor, as an ingest format parsed it.
type Alert struct {
	// DedupKey identifies the alert within its service (Alertmanager
	// fingerprint, PagerDuty dedup_key).
	DedupKey string `json:"dedup_key"`
	// GroupKey is the sender's own grouping (Alertmanager groupKey), used
	// when the service does not group by labels. Empty means the dedup key.
	GroupKey string     `json:"group_key,omitempty"`
	State    AlertState `json:"state"`
	// Severity is normalised to critical, error, warning or info when the
	// format knows it; the service maps it to a priority.
	Severity string            `json:"severity,omitempty"`
	Summary  string            `json:"summary"`
	Details  string            `json:"details,omitempty"`
	Source   string            `json:"source,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	Links    []Link            `json:"links,omitempty"`
	StartsAt time.Time         `json:"starts_at,omitzero"`
	EndsAt   time.Time         `json:"ends_at,omitzero"`
}

// sameContent reports whether a repeat of the alert carries nothing new, so
// that re-sends of an unchanged firing alert cost no write.
func (a Alert) sameContent(b Alert) bool {
	if a.State != b.State || a.Severity != b.Severity || a.Summary != b.Summary ||
		a.Details != b.Details || a.Source != b.Source || len(a.Labels) != len(b.Labels) ||
		len(a.Links) != len(b.Links) {
		return false
	}
	for k, v := range a.Labels {
		if w, ok := b.Labels[k]; !ok || w != v {
			return false
		}
	}
	for i := range a.Links {
		if a.Links[i] != b.Links[i] {
			return false
		}
	}
	return true
}

// AlertRecord is an alert as stored: the latest content, which incident it
// belongs to, and when it was seen.
type AlertRecord struct {
	Service     string    `json:"service"`
	Integration string    `json:"integration"`
	IncidentID  int64     `json:"incident_id"`
	Alert       Alert     `json:"alert"`
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
}

// Incident is what humans handle: alerts with the same group key attach to
// one open incident.
type Incident struct {
	ID             int64     `json:"id"`
	Service        string    `json:"service"`
	GroupKey       string    `json:"group_key"`
	Title          string    `json:"title"`
	Status         Status    `json:"status"`
	Priority       Priority  `json:"priority"`
	Policy         string    `json:"policy"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	AcknowledgedAt time.Time `json:"acknowledged_at,omitzero"`
	AcknowledgedBy string    `json:"acknowledged_by,omitempty"`
	ResolvedAt     time.Time `json:"resolved_at,omitzero"`
	ResolvedBy     string    `json:"resolved_by,omitempty"`
	// Firing counts attached alerts that are firing now; Alerts counts all
	// alerts ever attached.
	Firing   int `json:"firing_alerts"`
	Alerts   int `json:"alerts"`
	Reopened int `json:"reopened,omitempty"`
	// SnoozedUntil: acknowledged for a while; paging starts over then.
	SnoozedUntil time.Time `json:"snoozed_until,omitzero"`
	// MergedInto is the incident this one was merged into (it is resolved).
	MergedInto int64 `json:"merged_into,omitempty"`
	// Public is what the status page shows; nil until a responder
	// publishes a first update.
	Public *Public `json:"public,omitempty"`
	// Impacted lists other services whose alerts were attached to this
	// incident because they depend on its service. ImpactFiring counts the
	// firing alerts of services other than its own (of Firing). SplitAt is
	// set once its own alerts have all resolved while such alerts still
	// fire: then they move to incidents of their own, as their services'
	// own failures, unless they resolve first.
	Impacted     []string  `json:"impacted,omitempty"`
	ImpactFiring int       `json:"impact_firing,omitempty"`
	SplitAt      time.Time `json:"split_at,omitzero"`
	// Flaps are the recent reopen times; Flapping is set once they reach
	// the service's damping count. HeldUntil delays a flapping reopen's
	// pages; ResolveAt is a flapping incident's pending resolution.
	Flaps     []time.Time `json:"flaps,omitempty"`
	Flapping  bool        `json:"flapping,omitempty"`
	HeldUntil time.Time   `json:"held_until,omitzero"`
	// HeldBy is the stored silence holding its pages (0: none, or a
	// configured maintenance window).
	HeldBy    int64     `json:"held_by,omitempty"`
	ResolveAt time.Time `json:"resolve_at,omitzero"`
	// Escalation is the durable escalation state; NextDue is when it next
	// needs the engine (zero: nothing scheduled). The store indexes NextDue.
	Escalation Escalation `json:"escalation"`
	NextDue    time.Time  `json:"next_due,omitzero"`
}

// Escalation is where an incident's escalation stands: the active level, the
// round of the policy, when the next level starts, and who is being paged.
type Escalation struct {
	Level       int          `json:"level"`
	Round       int          `json:"round"`
	NextLevelAt time.Time    `json:"next_level_at,omitzero"`
	Runs        []ContactRun `json:"runs,omitempty"`
	// Watches are the schedules the levels reached so far page: each
	// handoff passes the paging on, whether the person going off shift is
	// still being paged or has used up their contact rules, and a schedule
	// in a gap pages whoever comes on.
	Watches []Watch `json:"watches,omitempty"`
}

// Watch is a schedule an incident pages, and whom it has paged since its
// last handoff ("" while nobody is on call).
type Watch struct {
	Schedule string `json:"schedule"`
	Level    int    `json:"level"`
	Person   string `json:"person,omitempty"`
}

// ContactRun is one person working through their contact rules for an
// incident, from Since. Step counts rule firings (it runs past the number of
// rules when the rules repeat); NextAt is when step Step fires, zero when the
// rules are used up.
type ContactRun struct {
	Person string `json:"person"`
	// Schedule is set when the person is paged as the schedule's on-call:
	// at a handoff the run passes to the next person.
	Schedule string `json:"schedule,omitempty"`
	// Asleep: the person was outside their working hours when the level
	// started, so their paging starts later (Since is in the future).
	Asleep bool      `json:"asleep,omitempty"`
	Level  int       `json:"level"`
	Since  time.Time `json:"since"`
	Step   int       `json:"step"`
	NextAt time.Time `json:"next_at,omitzero"`
}

// EventKind names a timeline entry.
type EventKind string

// Timeline entry kinds.
const (
	EventTriggered       EventKind = "triggered"
	EventAlertAttached   EventKind = "alert_attached"
	EventAlertUpdated    EventKind = "alert_updated"
	EventAlertResolved   EventKind = "alert_resolved"
	EventAlertRefired    EventKind = "alert_refired"
	EventEscalated       EventKind = "escalated"
	EventPolicyExhausted EventKind = "policy_exhausted"
	EventPageQueued      EventKind = "page_queued"
	EventPageSent        EventKind = "page_sent"
	EventPageDelivered   EventKind = "page_delivered"
	EventPageFailed      EventKind = "page_failed"
	EventPageCancelled   EventKind = "page_cancelled"
	EventPageBundled     EventKind = "page_bundled"
	EventAcknowledged    EventKind = "acknowledged"
	EventResolved        EventKind = "resolved"
	EventReopened        EventKind = "reopened"
	EventPriorityChanged EventKind = "priority_changed"
	EventPolicyChanged   EventKind = "policy_changed"
	EventHandoff         EventKind = "handoff"
	EventWoken           EventKind = "woken"
	EventSnoozed         EventKind = "snoozed"
	EventReassigned      EventKind = "reassigned"
	EventNote            EventKind = "note"
	EventMerged          EventKind = "merged"
	EventPublicUpdate    EventKind = "public_update"
	EventFlapping        EventKind = "flapping"
	EventImpacted        EventKind = "impacted"
	EventSplit           EventKind = "split"
	EventSilenced        EventKind = "silenced"
)

// Event is one entry of an incident's append-only timeline.
type Event struct {
	At       time.Time `json:"at"`
	Kind     EventKind `json:"kind"`
	Actor    string    `json:"actor,omitempty"`
	Via      string    `json:"via,omitempty"`
	Person   string    `json:"person,omitempty"`
	Channel  Channel   `json:"channel,omitempty"`
	Provider string    `json:"provider,omitempty"`
	PageID   int64     `json:"page_id,omitempty"`
	Level    int       `json:"level,omitempty"`
	DedupKey string    `json:"dedup_key,omitempty"`
	// Count is how many alerts one merged alert entry stands for.
	Count int `json:"count,omitempty"`
	// Status is a public update's status.
	Status  PublicStatus `json:"status,omitempty"`
	Message string       `json:"message,omitempty"`
}

// Channel is how a page reaches a person.
type Channel string

// Paging channels: a phone's, or a direct message in a chat.
const (
	ChannelSMS     Channel = "sms"
	ChannelVoice   Channel = "voice"
	ChannelSlack   Channel = "slack"
	ChannelDiscord Channel = "discord"
)

// ParseChannel accepts the channels Klaxon can page on.
func ParseChannel(s string) (Channel, error) {
	switch c := Channel(s); c {
	case ChannelSMS, ChannelVoice, ChannelSlack, ChannelDiscord:
		return c, nil
	}
	return "", fmt.Errorf("channel %q: want sms, voice, slack or discord", s)
}

// PageStatus is where one delivery attempt stands.
type PageStatus string

// Page states. Queued and sending pages form the outbox.
const (
	PageQueued    PageStatus = "queued"
	PageSending   PageStatus = "sending"
	PageSent      PageStatus = "sent"
	PageDelivered PageStatus = "delivered" // the provider reported it reached the phone
	PageFailed    PageStatus = "failed"
	PageCancelled PageStatus = "cancelled"
)

// InOutbox reports whether a page in this state still waits for delivery.
func (s PageStatus) InOutbox() bool { return s == PageQueued || s == PageSending }

// Page is one delivery to one person over one channel, with its outcome.
type Page struct {
	ID         int64      `json:"id"`
	IncidentID int64      `json:"incident_id"`
	Person     string     `json:"person"`
	Channel    Channel    `json:"channel"`
	Address    string     `json:"address"`
	Text       string     `json:"text"`
	Status     PageStatus `json:"status"`
	// Step is the contact-rule step of the person's run that queued it.
	Step     int `json:"step"`
	Attempts int `json:"attempts"`
	// NotBefore is when the outbox should try it (next); the store orders
	// the outbox by it.
	NotBefore  time.Time `json:"not_before,omitzero"`
	CreatedAt  time.Time `json:"created_at"`
	SentAt     time.Time `json:"sent_at,omitzero"`
	Provider   string    `json:"provider,omitempty"`
	ProviderID string    `json:"provider_id,omitempty"`
	Error      string    `json:"error,omitempty"`
	// Bundle marks the SMS that stands in for calls over a person's limit.
	Bundle bool `json:"bundle,omitempty"`
}

// Notice reports whether the page is a notice (a shift starting, a digest)
// rather than a page for an incident: nothing to acknowledge, no timeline.
func (p Page) Notice() bool { return p.IncidentID == 0 }

// IdempotencyKey is stable across retries of the same page, so a provider
// that supports it can drop the duplicate a crash may cause.
func (p Page) IdempotencyKey() string { return fmt.Sprintf("klaxon-page-%d", p.ID) }
