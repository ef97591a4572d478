package wire

import (
	"encoding/binary"
	"slices"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// Incidents, timeline events and pages are written and read again by every
// step of an escalation (a tick, a claim, a recorded outcome) and events
// once for every alert attached, so in a storm their JSON was a quarter of
// the store's writer. Each encoding below is the version byte, then every
// field in declaration order; a field added to the struct must be added
// here too, and to the size reserved up front (the round-trip test fills
// every field to catch one that is not, and counts the allocations).

// AppendIncident appends the encoding of inc, version byte first.
func AppendIncident(b []byte, inc *escalation.Incident) []byte {
	// The version byte, two flags, ten numbers, ten times, seven strings
	// and three counts, then what the strings and lists hold.
	n := 3 + 10*binary.MaxVarintLen64 + 10*maxTime + 10*binary.MaxVarintLen32 + len(inc.Service) +
		len(inc.GroupKey) + len(inc.Title) + len(inc.Status) + len(inc.Policy) + len(inc.AcknowledgedBy) +
		len(inc.ResolvedBy) + maxTime*len(inc.Flaps)
	if p := inc.Public; p != nil {
		n += 4*binary.MaxVarintLen32 + len(p.Title) + len(p.Status) + 2*maxTime
		for _, s := range p.Services {
			n += binary.MaxVarintLen32 + len(s)
		}
	}
	for _, s := range inc.Impacted {
		n += binary.MaxVarintLen32 + len(s)
	}
	for _, r := range inc.Escalation.Runs {
		n += 2*binary.MaxVarintLen32 + len(r.Person) + len(r.Schedule) + 1 + 2*binary.MaxVarintLen64 + 2*maxTime
	}
	n += binary.MaxVarintLen32
	for _, w := range inc.Escalation.Watches {
		n += 3*binary.MaxVarintLen32 + len(w.Schedule) + len(w.Person)
	}
	b = slices.Grow(b, n)
	b = append(b, Version)
	b = binary.AppendVarint(b, inc.ID)
	b = AppendString(b, inc.Service)
	b = AppendString(b, inc.GroupKey)
	b = AppendString(b, inc.Title)
	b = AppendString(b, string(inc.Status))
	b = binary.AppendVarint(b, int64(inc.Priority))
	b = AppendString(b, inc.Policy)
	b = AppendTime(b, inc.CreatedAt)
	b = AppendTime(b, inc.UpdatedAt)
	b = AppendTime(b, inc.AcknowledgedAt)
	b = AppendString(b, inc.AcknowledgedBy)
	b = AppendTime(b, inc.ResolvedAt)
	b = AppendString(b, inc.ResolvedBy)
	b = binary.AppendVarint(b, int64(inc.Firing))
	b = binary.AppendVarint(b, int64(inc.Alerts))
	b = binary.AppendVarint(b, int64(inc.Reopened))
	b = AppendTime(b, inc.SnoozedUntil)
	b = binary.AppendVarint(b, inc.MergedInto)
	// The layout byte: 5, not public; 6, public with its priority and
	// services; both with the watches, then the impact firing and the
	// split time last. Written before: 3 and 4, the same without the last
	// two; 0, not public; 1, public without the priority and services; 2,
	// public with them; none of those three with watches.
	if p := inc.Public; p == nil {
		b = append(b, 5)
	} else {
		b = append(b, 6)
		b = AppendString(b, p.Title)
		b = AppendString(b, string(p.Status))
		b = AppendTime(b, p.StartedAt)
		b = AppendTime(b, p.UpdatedAt)
		b = binary.AppendVarint(b, int64(p.Priority))
		b = binary.AppendUvarint(b, uint64(len(p.Services)))
		for _, s := range p.Services {
			b = AppendString(b, s)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(inc.Impacted)))
	for _, s := range inc.Impacted {
		b = AppendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(inc.Flaps)))
	for _, t := range inc.Flaps {
		b = AppendTime(b, t)
	}
	b = appendBool(b, inc.Flapping)
	b = AppendTime(b, inc.HeldUntil)
	b = binary.AppendVarint(b, inc.HeldBy)
	b = AppendTime(b, inc.ResolveAt)
	esc := &inc.Escalation
	b = binary.AppendVarint(b, int64(esc.Level))
	b = binary.AppendVarint(b, int64(esc.Round))
	b = AppendTime(b, esc.NextLevelAt)
	b = binary.AppendUvarint(b, uint64(len(esc.Runs)))
	for i := range esc.Runs {
		r := &esc.Runs[i]
		b = AppendString(b, r.Person)
		b = AppendString(b, r.Schedule)
		b = appendBool(b, r.Asleep)
		b = binary.AppendVarint(b, int64(r.Level))
		b = AppendTime(b, r.Since)
		b = binary.AppendVarint(b, int64(r.Step))
		b = AppendTime(b, r.NextAt)
	}
	b = AppendTime(b, inc.NextDue)
	b = binary.AppendUvarint(b, uint64(len(esc.Watches)))
	for _, w := range esc.Watches {
		b = AppendString(b, w.Schedule)
		b = binary.AppendVarint(b, int64(w.Level))
		b = AppendString(b, w.Person)
	}
	b = binary.AppendVarint(b, int64(inc.ImpactFiring))
	return AppendTime(b, inc.SplitAt)
}

// DecodeIncident decodes what AppendIncident wrote.
func DecodeIncident(b []byte) (escalation.Incident, error) {
	d := recordDecoder(b)
	var inc escalation.Incident
	inc.ID = d.Varint()
	inc.Service = d.String()
	inc.GroupKey = d.String()
	inc.Title = d.String()
	inc.Status = escalation.Status(d.String())
	inc.Priority = escalation.Priority(d.Int())
	inc.Policy = d.String()
	inc.CreatedAt = d.Time()
	inc.UpdatedAt = d.Time()
	inc.AcknowledgedAt = d.Time()
	inc.AcknowledgedBy = d.String()
	inc.ResolvedAt = d.Time()
	inc.ResolvedBy = d.String()
	inc.Firing = d.Int()
	inc.Alerts = d.Int()
	inc.Reopened = d.Int()
	inc.SnoozedUntil = d.Time()
	inc.MergedInto = d.Varint()
	layout := d.Byte()
	switch layout {
	case 0, 3, 5:
	case 1, 2, 4, 6:
		inc.Public = &escalation.Public{Title: d.String(), Status: escalation.PublicStatus(d.String()),
			StartedAt: d.Time(), UpdatedAt: d.Time()}
		if layout != 1 {
			inc.Public.Priority = escalation.Priority(d.Int())
			if n := d.count(1); n > 0 {
				inc.Public.Services = make([]string, n)
				for i := range inc.Public.Services {
					inc.Public.Services[i] = d.String()
				}
			}
		}
	default:
		d.fail("bad layout %d", layout)
	}
	if n := d.count(1); n > 0 {
		inc.Impacted = make([]string, n)
		for i := range inc.Impacted {
			inc.Impacted[i] = d.String()
		}
	}
	if n := d.count(1); n > 0 {
		inc.Flaps = make([]time.Time, n)
		for i := range inc.Flaps {
			inc.Flaps[i] = d.Time()
		}
	}
	inc.Flapping = d.Bool()
	inc.HeldUntil = d.Time()
	inc.HeldBy = d.Varint()
	inc.ResolveAt = d.Time()
	esc := &inc.Escalation
	esc.Level = d.Int()
	esc.Round = d.Int()
	esc.NextLevelAt = d.Time()
	// A run is at least two empty strings, a flag, two numbers and two
	// zero times.
	if n := d.count(7); n > 0 {
		esc.Runs = make([]escalation.ContactRun, n)
		for i := range esc.Runs {
			esc.Runs[i] = escalation.ContactRun{Person: d.String(), Schedule: d.String(), Asleep: d.Bool(),
				Level: d.Int(), Since: d.Time(), Step: d.Int(), NextAt: d.Time()}
		}
	}
	inc.NextDue = d.Time()
	if layout >= 3 {
		// A watch is at least an empty string, a number and an empty
		// string.
		if n := d.count(3); n > 0 {
			esc.Watches = make([]escalation.Watch, n)
			for i := range esc.Watches {
				esc.Watches[i] = escalation.Watch{Schedule: d.String(), Level: d.Int(), Person: d.String()}
			}
		}
	}
	if layout >= 5 {
		inc.ImpactFiring = d.Int()
		inc.SplitAt = d.Time()
	}
	if err := d.Finish(); err != nil {
		return escalation.Incident{}, err
	}
	return inc, nil
}

// AppendEvent appends the encoding of ev, version byte first.
func AppendEvent(b []byte, ev *escalation.Event) []byte {
	b = slices.Grow(b, 1+maxTime+3*binary.MaxVarintLen64+9*binary.MaxVarintLen32+len(ev.Kind)+len(ev.Actor)+
		len(ev.Via)+len(ev.Person)+len(ev.Channel)+len(ev.Provider)+len(ev.DedupKey)+len(ev.Status)+len(ev.Message))
	b = append(b, Version)
	b = AppendTime(b, ev.At)
	b = AppendString(b, string(ev.Kind))
	b = AppendString(b, ev.Actor)
	b = AppendString(b, ev.Via)
	b = AppendString(b, ev.Person)
	b = AppendString(b, string(ev.Channel))
	b = AppendString(b, ev.Provider)
	b = binary.AppendVarint(b, ev.PageID)
	b = binary.AppendVarint(b, int64(ev.Level))
	b = AppendString(b, ev.DedupKey)
	b = binary.AppendVarint(b, int64(ev.Count))
	b = AppendString(b, string(ev.Status))
	return AppendString(b, ev.Message)
}

// DecodeEvent decodes what AppendEvent wrote.
func DecodeEvent(b []byte) (escalation.Event, error) {
	d := recordDecoder(b)
	ev := escalation.Event{At: d.Time(), Kind: escalation.EventKind(d.String()), Actor: d.String(), Via: d.String(),
		Person: d.String(), Channel: escalation.Channel(d.String()), Provider: d.String(), PageID: d.Varint(),
		Level: d.Int(), DedupKey: d.String(), Count: d.Int(), Status: escalation.PublicStatus(d.String()),
		Message: d.String()}
	if err := d.Finish(); err != nil {
		return escalation.Event{}, err
	}
	return ev, nil
}

// AppendPage appends the encoding of p, version byte first.
func AppendPage(b []byte, p *escalation.Page) []byte {
	b = slices.Grow(b, 2+4*binary.MaxVarintLen64+3*maxTime+8*binary.MaxVarintLen32+len(p.Person)+len(p.Channel)+
		len(p.Address)+len(p.Text)+len(p.Status)+len(p.Provider)+len(p.ProviderID)+len(p.Error))
	b = append(b, Version)
	b = binary.AppendVarint(b, p.ID)
	b = binary.AppendVarint(b, p.IncidentID)
	b = AppendString(b, p.Person)
	b = AppendString(b, string(p.Channel))
	b = AppendString(b, p.Address)
	b = AppendString(b, p.Text)
	b = AppendString(b, string(p.Status))
	b = binary.AppendVarint(b, int64(p.Step))
	b = binary.AppendVarint(b, int64(p.Attempts))
	b = AppendTime(b, p.NotBefore)
	b = AppendTime(b, p.CreatedAt)
	b = AppendTime(b, p.SentAt)
	b = AppendString(b, p.Provider)
	b = AppendString(b, p.ProviderID)
	b = AppendString(b, p.Error)
	return appendBool(b, p.Bundle)
}

// DecodePage decodes what AppendPage wrote.
func DecodePage(b []byte) (escalation.Page, error) {
	d := recordDecoder(b)
	p := escalation.Page{ID: d.Varint(), IncidentID: d.Varint(), Person: d.String(),
		Channel: escalation.Channel(d.String()), Address: d.String(), Text: d.String(),
		Status: escalation.PageStatus(d.String()), Step: d.Int(), Attempts: d.Int(), NotBefore: d.Time(),
		CreatedAt: d.Time(), SentAt: d.Time(), Provider: d.String(), ProviderID: d.String(), Error: d.String(),
		Bundle: d.Bool()}
	if err := d.Finish(); err != nil {
		return escalation.Page{}, err
	}
	return p, nil
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// Bool reads what appendBool wrote.
func (d *Decoder) Bool() bool {
	switch d.Byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail("bad bool")
	return false
}

// Int reads a signed varint that must fit an int.
func (d *Decoder) Int() int {
	v := d.Varint()
	if int64(int(v)) != v {
		d.fail("%d does not fit an int", v)
		return 0
	}
	return int(v)
}
