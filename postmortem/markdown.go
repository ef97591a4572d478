package postmortem

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon/escalation"
)

// maxText bounds one piece of text from a monitor or a responder: as long
// as the longest note or public update the core accepts, so a runaway alert
// summary cannot swamp the draft.
const maxText = 2000

// text makes a piece of text from outside — an alert summary, a note, a
// name — safe inside a Markdown table cell or list item: it stays on one
// line, cannot end the cell (|), open a code span (`), a link or an image
// ([ ]), HTML or an autolink (< >), or a heading (leading #), and a
// backslash of its own cannot undo those escapes. Emphasis is left alone:
// it cannot break anything and escaping it would make text hard to read.
func text(s string) string {
	s = strings.TrimSpace(strings.ToValidUTF8(s, "\uFFFD"))
	if utf8.RuneCountInString(s) > maxText {
		s = string([]rune(s)[:maxText]) + "…"
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i, r := range s {
		switch {
		case r == '\\', r == '`', r == '|', r == '[', r == ']', r == '#' && i == 0:
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '\n':
			b.WriteString("<br>")
		case r == '\r':
			if !strings.HasPrefix(s[i+1:], "\n") {
				b.WriteString("<br>")
			}
		case r == '\u2028', r == '\u2029':
			b.WriteString("<br>")
		case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
			b.WriteByte(' ')
		case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
			// Bidirectional overrides would let text read as something it
			// is not; drop them.
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// oneLine is text for a heading or a title, where a line break would
// read as a stray tag: line breaks and runs of spaces become one space.
func oneLine(s string) string {
	return text(strings.Join(strings.Fields(s), " "))
}

// joinAnd lists items as a sentence does: "a", "a and b", "a, b and c".
func joinAnd(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// stamp is a moment in full, for the summary.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "unknown time"
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

// fromTo is "from 2026-03-14 02:05:12 UTC to 11:09:30 UTC", the date
// said again only when the day changed.
func fromTo(from, to time.Time) string {
	end := stamp(to)
	if !from.IsZero() && !to.IsZero() && from.UTC().Format(time.DateOnly) == to.UTC().Format(time.DateOnly) {
		end = to.UTC().Format(time.TimeOnly) + " UTC"
	}
	return "from " + stamp(from) + " to " + end
}

// clock is a moment to the minute, for sentences about one day's events.
func clock(t time.Time) string {
	if t.IsZero() {
		return "unknown time"
	}
	return t.UTC().Format("15:04") + " UTC"
}

// span is how long from one moment to another: seconds count while they
// matter (an acknowledgement in 40s or 4m 30s), not over hours.
func span(from, to time.Time) string {
	d := to.Sub(from)
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	d = d.Truncate(time.Second)
	h, m, s := int64(d/time.Hour), int64(d%time.Hour/time.Minute), int64(d%time.Minute/time.Second)
	switch {
	case h >= 48:
		return fmt.Sprintf("%s%dd %dh %dm", sign, h/24, h%24, m)
	case h > 0:
		return fmt.Sprintf("%s%dh %dm", sign, h, m)
	case m > 0 && s > 0:
		return fmt.Sprintf("%s%dm %ds", sign, m, s)
	case m > 0:
		return fmt.Sprintf("%s%dm", sign, m)
	}
	return fmt.Sprintf("%s%ds", sign, s)
}

// via names the path an action came by, as people say it.
func via(v string) string {
	switch v {
	case escalation.ViaSMS:
		return "SMS reply"
	case escalation.ViaVoice:
		return "phone keypress"
	case escalation.ViaAPI:
		return "the API"
	case "slack":
		return "Slack"
	case "discord":
		return "Discord"
	case "cli":
		return "the command line"
	}
	return text(v)
}

// byWhom is " by bob via Slack", " by alertmanager (monitor)", or nothing
// when the entry has no actor (the engine did it).
func byWhom(actor, how string) string {
	switch {
	case actor == "":
		return ""
	case how == escalation.ViaMonitor:
		return " by " + text(actor) + " (monitor)"
	case how == "":
		return " by " + text(actor)
	}
	return " by " + text(actor) + " via " + via(how)
}

// channel names a paging channel, counted: "1 SMS", "3 voice calls".
func channel(ch escalation.Channel, n int) string {
	switch ch {
	case escalation.ChannelSMS:
		return fmt.Sprintf("%d SMS", n)
	case escalation.ChannelVoice:
		return plural(n, "voice call")
	case "":
		return plural(n, "page")
	}
	return plural(n, "page") + " by " + text(string(ch))
}

// channelName is a channel as a noun: "SMS", "voice call".
func channelName(ch escalation.Channel) string {
	switch ch {
	case escalation.ChannelSMS:
		return "SMS"
	case escalation.ChannelVoice:
		return "voice call"
	case "":
		return "page"
	}
	return "page by " + text(string(ch))
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// describeTally is one person's unanswered pages: "alice (1 SMS, 4 voice
// calls, 1 failed; 02:07–02:38 UTC)".
func describeTally(t *tally) string {
	var parts []string
	chans := make([]escalation.Channel, 0, len(t.sent))
	for ch := range t.sent {
		chans = append(chans, ch)
	}
	slices.SortFunc(chans, func(x, y escalation.Channel) int {
		if c := channelOrder(x) - channelOrder(y); c != 0 {
			return c
		}
		return strings.Compare(string(x), string(y))
	})
	for _, ch := range chans {
		parts = append(parts, channel(ch, t.sent[ch]))
	}
	if len(parts) == 0 {
		parts = append(parts, "none delivered")
	}
	if t.failed > 0 {
		parts = append(parts, plural(t.failed, "failed attempt"))
	}
	when := "at " + clock(t.first)
	if t.last.Sub(t.first) >= time.Minute {
		when = t.first.UTC().Format("15:04") + "–" + clock(t.last)
	}
	return fmt.Sprintf("%s (%s; %s)", text(t.person), strings.Join(parts, ", "), when)
}

func channelOrder(ch escalation.Channel) int {
	switch ch {
	case escalation.ChannelSMS:
		return 0
	case escalation.ChannelVoice:
		return 1
	}
	return 2
}

func describeTallies(ts []*tally) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = describeTally(t)
	}
	return joinAnd(parts)
}

// service is a service by the name people know it by.
func service(name string, opts Options) string {
	if shown, ok := opts.Services[name]; ok && strings.TrimSpace(shown) != "" {
		return text(shown)
	}
	return text(name)
}
