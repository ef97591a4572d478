package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/klaxonhq/klaxon/escalation"
)

// Poster is what a mirror needs of a chat client: Slack's and Discord's
// both fit (a message is a channel and a timestamp or id).
type Poster interface {
	PostIncident(ctx context.Context, channel string, inc *escalation.Incident) (string, error)
	UpdateIncident(ctx context.Context, channel, ts string, inc *escalation.Incident) error
	Reply(ctx context.Context, channel, threadTS, text string) error
}

// Mirror shows incidents in a chat, one live message each in its service's
// channel, with the timeline in its thread. It implements escalation.Chat;
// a ref is "channel/message".
type Mirror struct {
	Client Poster
	// Channels maps a service to its channel id; Default takes the rest
	// (and incidents paged by hand, which have no service).
	Channels map[string]string
	Default  string
}

// Post posts the incident's message.
func (m *Mirror) Post(ctx context.Context, inc *escalation.Incident) (string, error) {
	ch := m.Channels[inc.Service]
	if ch == "" {
		ch = m.Default
	}
	if ch == "" {
		return "", escalation.Permanent(fmt.Errorf("chat: no channel for service %q", inc.Service))
	}
	ts, err := m.Client.PostIncident(ctx, ch, inc)
	if err != nil {
		return "", err
	}
	return ch + "/" + ts, nil
}

// Update re-renders the message in place.
func (m *Mirror) Update(ctx context.Context, ref string, inc *escalation.Incident) error {
	ch, ts, err := splitRef(ref)
	if err != nil {
		return err
	}
	return m.Client.UpdateIncident(ctx, ch, ts, inc)
}

// Reply adds a timeline entry to the message's thread.
func (m *Mirror) Reply(ctx context.Context, ref string, _ *escalation.Incident, ev escalation.Event) error {
	ch, ts, err := splitRef(ref)
	if err != nil {
		return err
	}
	return m.Client.Reply(ctx, ch, ts, TimelineLine(ev))
}

func splitRef(ref string) (channel, ts string, err error) {
	channel, ts, ok := strings.Cut(ref, "/")
	if !ok || channel == "" || ts == "" {
		return "", "", escalation.Permanent(errors.New("chat: malformed message ref " + ref))
	}
	return channel, ts, nil
}

// DirectMessager is a chat client that can write to one user.
type DirectMessager interface {
	DirectMessage(ctx context.Context, userID, text string) error
}

// DMPager pages by chat direct message: a contact rule with channel slack
// or discord. It implements escalation.Pager.
type DMPager struct {
	Client   DirectMessager
	Provider string
}

// Send writes the page to the person's DM.
func (d DMPager) Send(ctx context.Context, p escalation.Page) (escalation.Delivery, error) {
	if p.Address == "" {
		return escalation.Delivery{}, escalation.Permanent(fmt.Errorf("%s: %s has no user id", d.Provider, p.Person))
	}
	if err := d.Client.DirectMessage(ctx, p.Address, p.Text); err != nil {
		return escalation.Delivery{}, err
	}
	return escalation.Delivery{Provider: d.Provider}, nil
}

// Sayer posts a message of its own to a channel.
type Sayer interface {
	Say(ctx context.Context, channel, text string) error
}

// PublicMirror posts an incident's public updates, and nothing else, to a
// public channel: customers' view, never alert text or internal notes. It
// implements escalation.Chat; an incident shows nothing until its first
// public update.
type PublicMirror struct {
	Client  Sayer
	Channel string
}

// Post starts following an incident once it is public.
func (m *PublicMirror) Post(_ context.Context, inc *escalation.Incident) (string, error) {
	if inc.Public == nil {
		return "", nil
	}
	return m.Channel, nil
}

// Follows (escalation.Follower): public updates are all it shows.
func (*PublicMirror) Follows(k escalation.EventKind) bool { return k == escalation.EventPublicUpdate }

// Update has nothing to redraw: each public update is its own message.
func (m *PublicMirror) Update(context.Context, string, *escalation.Incident) error { return nil }

// Reply posts public updates.
func (m *PublicMirror) Reply(ctx context.Context, channel string, inc *escalation.Incident, ev escalation.Event) error {
	if ev.Kind != escalation.EventPublicUpdate || inc.Public == nil {
		return nil
	}
	status := string(ev.Status)
	if status != "" {
		status = strings.ToUpper(status[:1]) + status[1:]
	}
	return m.Client.Say(ctx, channel, fmt.Sprintf("%s — %s: %s", inc.Public.Title, status, ev.Message))
}
