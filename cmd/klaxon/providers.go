package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/bot/smsgateway"
	"github.com/klaxonhq/klaxon/bot/twilio"
	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/escalation"
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
