package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/bot/smsgateway"
	"github.com/klaxonhq/klaxon/bot/twilio"
	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/ingest"
	"github.com/klaxonhq/klaxon/watch"
)

// phonePagers builds the SMS and voice pagers: per channel, Twilio first
// and then the SMS gateways in config order, tried in turn; the console
// pager when no provider serves a channel.
func phonePagers(cfg *config.Config, log *slog.Logger) (map[escalation.Channel]escalation.Pager, error) {
	providers := map[escalation.Channel][]bot.Provider{}
	if cfg.TwilioEnabled() {
		tw := twilio.NewClient(twilio.Options{
			AccountSID: cfg.Twilio.AccountSID, AuthToken: cfg.Twilio.AuthToken, From: cfg.Twilio.From,
			BaseURL: cfg.Twilio.BaseURL, PublicURL: cfg.PublicURL,
		})
		for _, ch := range []escalation.Channel{escalation.ChannelSMS, escalation.ChannelVoice} {
			providers[ch] = append(providers[ch], bot.Provider{Name: "twilio", Pager: tw})
		}
	}
	gws, err := smsGateways(cfg, log)
	if err != nil {
		return nil, err
	}
	for i, g := range cfg.SMSGateways {
		for _, ch := range g.Channels {
			c := escalation.Channel(ch)
			providers[c] = append(providers[c], bot.Provider{Name: g.Name, Pager: gws[i]})
		}
	}
	pagers := map[escalation.Channel]escalation.Pager{}
	for _, ch := range []escalation.Channel{escalation.ChannelSMS, escalation.ChannelVoice} {
		if len(providers[ch]) == 0 {
			pagers[ch] = consolePager{log: log}
			continue
		}
		pagers[ch] = bot.Failover{Providers: providers[ch]}
	}
	return pagers, nil
}

// smsGateways builds the configured gateways; a template that does not
// render is a config error, reported at startup and by klaxon check.
func smsGateways(cfg *config.Config, log *slog.Logger) ([]*smsgateway.Gateway, error) {
	var out []*smsgateway.Gateway
	for i, g := range cfg.SMSGateways {
		gw, err := smsgateway.New(smsgateway.Options{
			Name: g.Name, URL: g.URL, Method: g.Method, Headers: g.Headers, Body: g.Body, ContentType: g.ContentType,
			Secret: g.Secret, SuccessStatus: g.SuccessStatus, IDPath: g.IDPath, Timeout: g.Timeout, Logger: log,
		})
		if err != nil {
			return nil, fmt.Errorf("sms_gateways[%d]: %w", i, err)
		}
		out = append(out, gw)
	}
	return out, nil
}

// adapterChecks are the config checks only the adapters can make, run by
// check and serve inside config validation: every problem is reported in
// one run, at its path, with the rest of the config's.
func adapterChecks() config.Checks {
	return config.Checks{SMSGateway: gatewayProblems, GenericFields: genericProblems, WatchTarget: watchTargetProblems}
}

// gatewayProblems builds one sms_gateways entry as serve would.
func gatewayProblems(g config.SMSGateway) config.Problems {
	ps := newGatewayProblems(g)
	if len(ps) == 0 {
		return nil
	}
	// New renders the templates for a probe page only once all of them
	// parse, and stops at the first rendering that fails (url, then body,
	// then headers): each part alone, beside a URL that renders, shows
	// what those hid.
	const renders = "https://gateway.invalid/send"
	parts := []config.SMSGateway{{URL: g.URL, Secret: g.Secret}}
	body := config.SMSGateway{URL: renders, Body: g.Body, ContentType: g.ContentType, Secret: g.Secret}
	for _, h := range slices.Sorted(maps.Keys(g.Headers)) {
		one := map[string]string{h: g.Headers[h]}
		if http.CanonicalHeaderKey(strings.TrimSpace(h)) == "Content-Type" {
			body.Headers = one // the body's JSON is checked by its type
		}
		parts = append(parts, config.SMSGateway{URL: renders, Headers: one, Secret: g.Secret})
	}
	parts = append(parts, body)
	for _, part := range parts {
		for _, p := range newGatewayProblems(part) {
			if !slices.ContainsFunc(ps, func(q config.Problem) bool { return q.Path == p.Path }) {
				ps = append(ps, p)
			}
		}
	}
	return ps
}

// newGatewayProblems are smsgateway.New's errors, one "NAME: FIELD:
// MESSAGE" a line with the secret redacted, each at its field.
func newGatewayProblems(g config.SMSGateway) config.Problems {
	const name = "gateway" // the entry's path names it; this is only to cut off
	_, err := smsgateway.New(smsgateway.Options{
		Name: name, URL: g.URL, Method: g.Method, Headers: g.Headers, Body: g.Body, ContentType: g.ContentType,
		Secret: g.Secret, SuccessStatus: g.SuccessStatus, IDPath: g.IDPath, Timeout: g.Timeout,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err == nil {
		return nil
	}
	fields := map[string]string{}
	for _, f := range []string{"url", "method", "body", "content_type", "success_status", "id_path", "timeout"} {
		fields[f] = f
	}
	// New names a header as the config spells it, but as canonical when
	// rendering it: either is the key as spelled (which wins where two
	// keys differ only in case).
	for h := range g.Headers {
		fields["headers."+http.CanonicalHeaderKey(strings.TrimSpace(h))] = "headers." + h
	}
	for h := range g.Headers {
		fields["headers."+h] = "headers." + h
	}
	var ps config.Problems
	for line := range strings.Lines(err.Error()) {
		line = strings.TrimRight(line, "\n")
		rest, ok := strings.CutPrefix(line, name+": ")
		if !ok && len(ps) > 0 { // a message of several lines
			ps[len(ps)-1].Message += " " + line
			continue
		}
		field, msg, _ := strings.Cut(rest, ": ")
		if path, known := fields[field]; known {
			ps = append(ps, config.Problem{Path: path, Message: msg})
		} else {
			ps = append(ps, config.Problem{Message: rest})
		}
	}
	return ps
}

// genericSpec is a generic integration's field paths for ingest.
func genericSpec(f config.GenericFields) ingest.GenericSpec {
	return ingest.GenericSpec{Alerts: f.Alerts, DedupKey: f.DedupKey, GroupKey: f.GroupKey, Summary: f.Summary,
		Details: f.Details, Severity: f.Severity, Source: f.Source, Labels: f.Labels, Status: f.Status, ResolvedValues: f.ResolvedValues}
}

func genericProblems(f config.GenericFields) config.Problems {
	var ps config.Problems
	for _, p := range genericSpec(f).Problems() {
		ps = append(ps, config.Problem{Path: p.Field, Message: p.Message})
	}
	return ps
}

// watchTargetProblems checks a target's names as the watch does. Host and
// domain are checked apart: the watch stops at the first, and both may be
// wrong.
func watchTargetProblems(t config.WatchTarget) config.Problems {
	var ps config.Problems
	if strings.TrimSpace(t.Host) != "" {
		if err := (watch.Target{Host: t.Host, Port: t.Port}).Validate(); err != nil {
			ps = append(ps, fieldProblem(err, "host", "port"))
		}
	}
	if strings.TrimSpace(t.Domain) != "" {
		if err := (watch.Target{Domain: t.Domain}).Validate(); err != nil {
			ps = append(ps, fieldProblem(err, "domain"))
		}
	}
	return ps
}

// fieldProblem places an error that starts with a field's name ("host:
// ...", "domain \"x\": ...") at that field.
func fieldProblem(err error, fields ...string) config.Problem {
	msg := err.Error()
	for _, f := range fields {
		for _, sep := range []string{": ", " "} {
			if rest, ok := strings.CutPrefix(msg, f+sep); ok {
				return config.Problem{Path: f, Message: rest}
			}
		}
	}
	return config.Problem{Message: msg}
}

// providerNames describes the pagers for the startup log and check.
func providerNames(cfg *config.Config) string {
	var names []string
	if cfg.TwilioEnabled() {
		names = append(names, "twilio")
	}
	for _, g := range cfg.SMSGateways {
		names = append(names, g.Name)
	}
	if len(names) == 0 {
		return "console (pages are logged)"
	}
	return strings.Join(names, " then ")
}

// newWatch builds the expiry watch, nil when none is configured.
func newWatch(cfg *config.Config, clock escalation.Clock, log *slog.Logger) (*watch.Checker, error) {
	if cfg.Watch == nil {
		return nil, nil
	}
	var targets []watch.Target
	for _, t := range cfg.Watch.Targets {
		targets = append(targets, watch.Target{Host: t.Host, Port: t.Port, Domain: t.Domain})
	}
	c, err := watch.NewChecker(watch.Options{Targets: targets, RDAPBase: cfg.Watch.RDAPBase, Timeout: cfg.Watch.Timeout,
		Clock: clock, Logger: log.With("component", "watch")})
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	return c, nil
}

// runWatch checks expiry in the background until ctx ends.
func runWatch(ctx context.Context, c *watch.Checker, eng *escalation.Engine, cfg *config.Config) {
	if c != nil {
		go c.Run(ctx, eng, config.WatchIntegration, cfg.Watch.Every)
	}
}
