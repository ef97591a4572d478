package discord

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/klaxonhq/klaxon/escalation"
)

// Embed colours by status: red needs a human, amber has one, green is done.
const (
	colourTriggered    = 0xED4245
	colourAcknowledged = 0xFEE75C
	colourResolved     = 0x57F287
)

// Discord's limits on embed text.
const (
	maxEmbedTitle = 256
	maxFieldValue = 1024
)

// Button verbs: a button's custom_id is "<verb>:<incident id>", and the
// verb and id run as the command line "<verb> <id>".
const (
	buttonAck      = "ack"
	buttonResolve  = "resolve"
	buttonEscalate = "escalate"
)

// emptyField stands in for a missing value: Discord rejects empty fields.
const emptyField = "—"

// IncidentMessage renders an incident as Discord shows it in the alert
// channel: one embed coloured by status, and the buttons that still make
// sense — Acknowledge, Resolve and Escalate while triggered, no Acknowledge
// once acknowledged, none once resolved. The components slice is never nil,
// so an edit that sends it clears the buttons of a resolved incident.
func IncidentMessage(inc *escalation.Incident) ([]*discordgo.MessageEmbed, []discordgo.MessageComponent) {
	fields := []*discordgo.MessageEmbedField{
		{Name: "Status", Value: statusText(inc.Status), Inline: true},
		{Name: "Priority", Value: inc.Priority.String(), Inline: true},
		{Name: "Service", Value: fieldValue(inc.Service), Inline: true},
	}
	if inc.AcknowledgedBy != "" {
		fields = append(fields, &discordgo.MessageEmbedField{Name: "Acknowledged by", Value: fieldValue(inc.AcknowledgedBy), Inline: true})
	}
	if inc.Status == escalation.StatusResolved && inc.ResolvedBy != "" {
		fields = append(fields, &discordgo.MessageEmbedField{Name: "Resolved by", Value: fieldValue(inc.ResolvedBy), Inline: true})
	}
	fields = append(fields, &discordgo.MessageEmbedField{Name: "Started", Value: startedText(inc), Inline: true})

	embed := &discordgo.MessageEmbed{
		// Set here rather than left to discordgo, which fills it in on send:
		// what the tests see is what Discord gets.
		Type:   discordgo.EmbedTypeRich,
		Title:  truncate(strings.TrimSpace(fmt.Sprintf("#%d %s", inc.ID, inc.Title)), maxEmbedTitle),
		Color:  statusColour(inc.Status),
		Fields: fields,
	}
	return []*discordgo.MessageEmbed{embed}, incidentButtons(inc)
}

func incidentButtons(inc *escalation.Incident) []discordgo.MessageComponent {
	id := strconv.FormatInt(inc.ID, 10)
	var buttons []discordgo.MessageComponent
	switch inc.Status {
	case escalation.StatusTriggered:
		buttons = append(buttons, discordgo.Button{Label: "Acknowledge", Style: discordgo.PrimaryButton, CustomID: buttonAck + ":" + id})
		fallthrough
	case escalation.StatusAcknowledged:
		buttons = append(buttons,
			discordgo.Button{Label: "Resolve", Style: discordgo.SuccessButton, CustomID: buttonResolve + ":" + id},
			discordgo.Button{Label: "Escalate", Style: discordgo.DangerButton, CustomID: buttonEscalate + ":" + id},
		)
	}
	if len(buttons) == 0 {
		return []discordgo.MessageComponent{}
	}
	return []discordgo.MessageComponent{discordgo.ActionsRow{Components: buttons}}
}

func statusText(s escalation.Status) string {
	switch s {
	case escalation.StatusTriggered:
		return "Triggered"
	case escalation.StatusAcknowledged:
		return "Acknowledged"
	case escalation.StatusResolved:
		return "Resolved"
	}
	return fieldValue(string(s))
}

func statusColour(s escalation.Status) int {
	switch s {
	case escalation.StatusAcknowledged:
		return colourAcknowledged
	case escalation.StatusResolved:
		return colourResolved
	}
	return colourTriggered
}

func startedText(inc *escalation.Incident) string {
	if inc.CreatedAt.IsZero() {
		return emptyField
	}
	return inc.CreatedAt.UTC().Format("2006-01-02 15:04 UTC")
}

func fieldValue(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return emptyField
	}
	return truncate(s, maxFieldValue)
}

// truncate cuts s to at most n characters, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
