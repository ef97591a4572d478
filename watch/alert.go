package watch

import (
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// The severities the watch reports, as the escalation core normalises them.
const (
	severityInfo     = "info"
	severityWarning  = "warning"
	severityError    = "error"
	severityCritical = "critical"
)

// severityCheckFailed is the severity of a check that could not run: it
// says nothing about the expiry yet, but it must not go unnoticed.
const severityCheckFailed = severityWarning

const day = 24 * time.Hour

// expirySeverity grades the time left before something expires: info from
// 30 days out, warning from 14, error from 7, critical on the last day and
// after. More than 30 days left is nothing to report (""). The wording
// names the band rather than counting days, so an alert's content changes
// only when it crosses into the next band and the engine records no daily
// update.
func expirySeverity(left time.Duration) (severity, within string) {
	switch {
	case left <= 0:
		return severityCritical, ""
	case left <= day:
		return severityCritical, "1 day"
	case left <= 7*day:
		return severityError, "7 days"
	case left <= 14*day:
		return severityWarning, "14 days"
	case left <= 30*day:
		return severityInfo, "30 days"
	}
	return "", ""
}

// when writes an instant the way summaries show it: in UTC, to the minute.
func when(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// firing builds a firing alert.
func firing(key, group, severity, summary, details, source string, labels map[string]string) escalation.Alert {
	return escalation.Alert{
		DedupKey: key,
		GroupKey: group,
		State:    escalation.AlertFiring,
		Severity: severity,
		Summary:  summary,
		Details:  details,
		Source:   source,
		Labels:   labels,
	}
}

// resolved builds a resolved alert. Every check that ran sends one for each
// key it found fine, every round: the engine ignores a resolve for an alert
// it never saw without a write, and a restart of Klaxon cannot leave an
// alert firing that the watch no longer remembers.
func resolved(key, group, summary, source string, labels map[string]string) escalation.Alert {
	return escalation.Alert{
		DedupKey: key,
		GroupKey: group,
		State:    escalation.AlertResolved,
		Summary:  summary,
		Source:   source,
		Labels:   labels,
	}
}
