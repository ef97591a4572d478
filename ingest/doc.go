// Package ingest turns monitor webhooks into escalation alerts: pure parsers
// for each wire format (Alertmanager, Grafana, Uptime Kuma and Datadog at
// /hooks; the PagerDuty Events API v2 and the Opsgenie Alert API at their own
// paths) and the HTTP handlers that authenticate the sender, parse the body
// and hand the alerts to the engine. A webhook is acknowledged only after the
// engine has stored its alerts, so a sender that sees a 2xx never has to
// resend.
package ingest
