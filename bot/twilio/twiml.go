// Package twilio pages people by SMS and phone call through Twilio's REST API
// and takes their answers back: SMS replies in the bot command grammar and
// keypresses on the call, both through signed Twilio webhooks. It speaks the
// wire format directly (no Twilio SDK).
package twilio

import (
	"encoding/xml"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Limits Twilio enforces; exceeding them fails the request (a lost page),
// so text is cut to fit instead.
const (
	maxTwiMLChars = 4000 // inline Twiml parameter of a call
	maxSMSChars   = 1600 // Message body, in UTF-16 code units to be safe
)

const (
	xmlHeader     = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"
	keypadPrompt  = "Press 1 to acknowledge. Press 2 to resolve."
	noInputNotice = "We did not receive your answer. Klaxon will keep paging until someone acknowledges."
	gatherPath    = "/twilio/voice/gather"
	statusPath    = "/twilio/status"
	ellipsis      = "..."
)

// esc escapes s for XML text and attribute values (EscapeText escapes
// quotes too).
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// escLimit escapes s, cutting it at a rune boundary so the escaped form is at
// most limit bytes; bytes bound characters, so it also fits Twilio's
// character limits.
func escLimit(s string, limit int) string {
	out := esc(s)
	if len(out) <= limit {
		return out
	}
	var b strings.Builder
	for _, r := range s {
		e := esc(string(r))
		if b.Len()+len(e)+len(ellipsis) > limit {
			break
		}
		b.WriteString(e)
	}
	b.WriteString(ellipsis)
	return b.String()
}

// truncateUTF16 cuts s to at most limit UTF-16 code units, the unit Twilio
// counts message length in. The ASCII ellipsis keeps an otherwise GSM-7
// message from switching to the costlier UCS-2 encoding.
func truncateUTF16(s string, limit int) string {
	if utf16Len(s) <= limit {
		return s
	}
	n := 0
	for i, r := range s {
		w := utf16RuneLen(r)
		if n+w > limit-len(ellipsis) {
			return s[:i] + ellipsis
		}
		n += w
	}
	return s
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16RuneLen(r)
	}
	return n
}

// utf16RuneLen counts an invalid rune as the one unit of U+FFFD it is sent as.
func utf16RuneLen(r rune) int {
	if w := utf16.RuneLen(r); w > 0 {
		return w
	}
	return 1
}

// gatherURL is the Gather action for a page; Webhooks signs requests
// against the same public URL.
func gatherURL(publicURL string, pageID int64) string {
	return strings.TrimRight(publicURL, "/") + gatherPath + "?page=" + strconv.FormatInt(pageID, 10)
}

// gatherTwiML reads the page text and the keypad prompt twice inside a
// one-digit Gather whose answer goes to action; the no-input path says so
// and hangs up. lead, when set, is said first (a re-prompt's apology). The
// text is cut so the whole document stays under Twilio's inline limit.
func gatherTwiML(action, text, lead string) string {
	build := func(escText string) string {
		var b strings.Builder
		b.WriteString(`<Response><Gather numDigits="1" action="`)
		b.WriteString(esc(action))
		b.WriteString(`" method="POST" timeout="10">`)
		if lead != "" {
			b.WriteString("<Say>" + esc(lead) + "</Say>")
		}
		for i := range 2 {
			if i > 0 {
				b.WriteString(`<Pause length="1"/>`)
			}
			b.WriteString("<Say>" + escText + "</Say><Say>" + keypadPrompt + "</Say>")
		}
		b.WriteString("</Gather><Say>" + noInputNotice + "</Say><Hangup/></Response>")
		return b.String()
	}
	// Leave headroom under the limit for the XML header of webhook replies.
	budget := (maxTwiMLChars - 100 - len(build(""))) / 2
	return build(escLimit(text, max(budget, 0)))
}

// messageTwiML replies to an inbound SMS with one message.
func messageTwiML(text string) string {
	return xmlHeader + "<Response><Message>" + esc(truncateUTF16(text, maxSMSChars)) + "</Message></Response>"
}

// sayHangupTwiML says one sentence and ends the call.
func sayHangupTwiML(text string) string {
	return xmlHeader + "<Response><Say>" + esc(text) + "</Say><Hangup/></Response>"
}

// statusURL is where Twilio reports a page's delivery.
func statusURL(publicURL string, pageID int64) string {
	return strings.TrimRight(publicURL, "/") + statusPath + "?page=" + strconv.FormatInt(pageID, 10)
}
