package slack

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	slackgo "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackutilsx"

	"github.com/klaxonhq/klaxon/escalation"
)

// Button action ids. Each is a verb of the bot grammar; a click runs
// "<action_id> <value>" through bot.Parse, so the grammar stays in one place.
const (
	ActionAck      = "ack"
	ActionResolve  = "resolve"
	ActionEscalate = "escalate"
)

const (
	// maxHeaderChars is Slack's limit on a header block's text.
	maxHeaderChars = 150
	timeLayout     = "2006-01-02 15:04 UTC"
)

// IncidentBlocks renders an incident as a Slack message: a header with its
// id and title, its facts, and the buttons that still make sense for its
// status (Ack only while triggered or snoozed, none once resolved).
func IncidentBlocks(inc *escalation.Incident) []slackgo.Block {
	header := truncate(fmt.Sprintf("#%d %s", inc.ID, inc.Title), maxHeaderChars)
	blocks := []slackgo.Block{
		slackgo.NewHeaderBlock(slackgo.NewTextBlockObject(slackgo.PlainTextType, header, true, false)),
		slackgo.NewSectionBlock(nil, incidentFields(inc), nil),
	}
	if buttons := incidentButtons(inc); len(buttons) > 0 {
		blocks = append(blocks, slackgo.NewActionBlock("", buttons...))
	}
	return blocks
}

// IncidentText is the one-line fallback of IncidentBlocks, which Slack shows
// in notifications and to clients that cannot render blocks.
func IncidentText(inc *escalation.Incident) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] #%d %s", inc.Priority, inc.ID, inc.Title)
	if inc.Service != "" {
		fmt.Fprintf(&b, " (%s)", inc.Service)
	}
	b.WriteString(": ")
	b.WriteString(string(inc.Status))
	switch {
	case inc.Status == escalation.StatusResolved && inc.ResolvedBy != "":
		b.WriteString(" by " + inc.ResolvedBy)
	case inc.Status == escalation.StatusAcknowledged && inc.AcknowledgedBy != "":
		b.WriteString(" by " + inc.AcknowledgedBy)
	}
	if snoozed(inc) {
		b.WriteString(", snoozed until " + formatTime(inc.SnoozedUntil))
	}
	if inc.MergedInto != 0 {
		fmt.Fprintf(&b, ", merged into #%d", inc.MergedInto)
	}
	return slackutilsx.EscapeMessage(b.String())
}

func incidentFields(inc *escalation.Incident) []*slackgo.TextBlockObject {
	fields := []*slackgo.TextBlockObject{
		field("Status", statusLabel(inc.Status)),
		field("Priority", inc.Priority.String()),
		field("Service", esc(orDash(inc.Service))),
		field("Started", formatTime(inc.CreatedAt)),
	}
	if inc.AcknowledgedBy != "" {
		fields = append(fields, field("Acknowledged by", byAt(inc.AcknowledgedBy, inc.AcknowledgedAt)))
	}
	if snoozed(inc) {
		fields = append(fields, field("Snoozed until", formatTime(inc.SnoozedUntil)))
	}
	if inc.ResolvedBy != "" {
		fields = append(fields, field("Resolved by", byAt(inc.ResolvedBy, inc.ResolvedAt)))
	}
	if inc.MergedInto != 0 {
		fields = append(fields, field("Merged into", "#"+strconv.FormatInt(inc.MergedInto, 10)))
	}
	return fields
}

// snoozed: acknowledged for a while, paging starts over at SnoozedUntil.
func snoozed(inc *escalation.Incident) bool {
	return inc.Status == escalation.StatusAcknowledged && !inc.SnoozedUntil.IsZero()
}

func incidentButtons(inc *escalation.Incident) []slackgo.BlockElement {
	id := strconv.FormatInt(inc.ID, 10)
	button := func(action, label string) *slackgo.ButtonBlockElement {
		return slackgo.NewButtonBlockElement(action, id, slackgo.NewTextBlockObject(slackgo.PlainTextType, label, false, false))
	}
	switch {
	// An ack during a snooze makes it for good.
	case inc.Status == escalation.StatusTriggered, snoozed(inc):
		return []slackgo.BlockElement{
			button(ActionAck, "Ack").WithStyle(slackgo.StylePrimary),
			button(ActionResolve, "Resolve"),
			button(ActionEscalate, "Escalate"),
		}
	case inc.Status == escalation.StatusAcknowledged:
		return []slackgo.BlockElement{
			button(ActionResolve, "Resolve").WithStyle(slackgo.StylePrimary),
			button(ActionEscalate, "Escalate"),
		}
	}
	return nil
}

func field(label, value string) *slackgo.TextBlockObject {
	return slackgo.NewTextBlockObject(slackgo.MarkdownType, "*"+label+"*\n"+value, false, false)
}

func statusLabel(s escalation.Status) string {
	switch s {
	case escalation.StatusTriggered:
		return ":rotating_light: Triggered"
	case escalation.StatusAcknowledged:
		return ":eyes: Acknowledged"
	case escalation.StatusResolved:
		return ":white_check_mark: Resolved"
	}
	return esc(orDash(string(s)))
}

func byAt(who string, at time.Time) string {
	if at.IsZero() {
		return esc(who)
	}
	return esc(who) + ", " + formatTime(at)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(timeLayout)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// esc keeps names from monitors and config from turning into Slack markup:
// "<!channel>" in an alert title must not notify a whole channel.
func esc(s string) string { return slackutilsx.EscapeMessage(s) }

// truncate cuts s to at most n characters, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
