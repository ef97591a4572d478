package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/bot/discord"
	"github.com/klaxonhq/klaxon/bot/slack"
	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/status"
)

// chats are the configured chat platforms: their API clients, which the
// engine's mirror posts through, and — once the engine exists — their
// command endpoints.
type chats struct {
	cfg     *config.Config
	log     *slog.Logger
	slack   *slack.Client
	discord *discord.Client
	// HTTP clients for the chat APIs; tests give their own.
	httpClient *http.Client

	slackHandler   *slack.Handler
	discordHandler *discord.Handler
	// publicID is an incident's id on the status page, for subscribers.
	publicID func(ctx context.Context, n int64) (string, error)
}

func newChats(cfg *config.Config, log *slog.Logger, httpClient *http.Client) (*chats, error) {
	c := &chats{cfg: cfg, log: log, httpClient: httpClient}
	if cfg.SlackEnabled() {
		c.slack = slack.NewClient(slack.ClientOptions{Token: cfg.Slack.BotToken, BaseURL: cfg.Slack.BaseURL, HTTPClient: httpClient})
	}
	if cfg.DiscordEnabled() {
		opts := discord.ClientOptions{Token: cfg.Discord.BotToken, BaseURL: cfg.Discord.BaseURL}
		if httpClient != nil {
			opts.Transport = httpClient.Transport
		}
		d, err := discord.NewClient(opts)
		if err != nil {
			return nil, fmt.Errorf("discord: %w", err)
		}
		c.discord = d
	}
	return c, nil
}

// mirrors are the engine's chats: one live message per incident in each.
func (c *chats) mirrors() map[string]escalation.Chat {
	out := map[string]escalation.Chat{}
	if c.slack != nil {
		out["slack"] = &bot.Mirror{Client: c.slack, Channels: c.cfg.SlackChannels(), Default: c.cfg.Slack.Channel}
	}
	if c.discord != nil {
		out["discord"] = &bot.Mirror{Client: c.discord, Channels: c.cfg.DiscordChannels(), Default: c.cfg.Discord.Channel}
	}
	// Public updates, and only they, go to the public channels and the
	// subscribers, each through its own outbox.
	if c.slack != nil && c.cfg.Status.SlackChannel != "" {
		out["public-slack"] = &bot.PublicMirror{Client: c.slack, Channel: c.cfg.Status.SlackChannel}
	}
	if c.discord != nil && c.cfg.Status.DiscordChannel != "" {
		out["public-discord"] = &bot.PublicMirror{Client: c.discord, Channel: c.cfg.Status.DiscordChannel}
	}
	for i, sub := range c.cfg.Status.Subscribers {
		out[fmt.Sprintf("subscriber-%d", i+1)] = &status.Subscriber{Page: c.cfg.PublicName(), URL: sub.URL, Secret: sub.Secret,
			Client: c.httpClient, IncidentID: c.publicID}
	}
	return out
}

// pagers page by direct message in each configured chat.
func (c *chats) pagers(into map[escalation.Channel]escalation.Pager) {
	if c.slack != nil {
		into[escalation.ChannelSlack] = bot.DMPager{Client: c.slack, Provider: "slack"}
	}
	if c.discord != nil {
		into[escalation.ChannelDiscord] = bot.DMPager{Client: c.discord, Provider: "discord"}
	}
}

// handlers builds the command endpoints over the engine.
func (c *chats) handlers(eng *escalation.Engine, clock escalation.Clock) error {
	if c.slack != nil {
		c.slackHandler = slack.NewHandler(slack.Options{SigningSecret: c.cfg.Slack.SigningSecret, Engine: eng,
			People: slack.StaticPeople(c.cfg.PeopleBySlackID()), Clock: clock, Log: c.log})
	}
	if c.discord != nil {
		key, err := discord.ParsePublicKey(c.cfg.Discord.PublicKey)
		if err != nil {
			return fmt.Errorf("discord: %w", err)
		}
		people := c.cfg.PeopleByDiscordID()
		h, err := discord.NewHandler(discord.HandlerOptions{PublicKey: key, AppID: c.cfg.Discord.ApplicationID, Engine: eng,
			People:    discord.PeopleFunc(func(id string) (string, bool) { p, ok := people[id]; return p, ok }),
			Followups: c.discord, Clock: clock, Log: c.log})
		if err != nil {
			return fmt.Errorf("discord: %w", err)
		}
		c.discordHandler = h
	}
	return nil
}

func (c *chats) register(mux *http.ServeMux) {
	if c.slackHandler != nil {
		c.slackHandler.Register(mux) // POST /slack/commands, POST /slack/interactions
	}
	if c.discordHandler != nil {
		c.discordHandler.Register(mux) // POST /discord/interactions
	}
}

// background starts what connects outward — Slack's Socket Mode, Discord's
// command registration — without ever blocking or failing startup.
func (c *chats) background(ctx context.Context) {
	if c.slackHandler != nil && c.cfg.Slack.AppToken != "" {
		go c.slackHandler.RunSocketMode(ctx, slack.SocketModeOptions{AppToken: c.cfg.Slack.AppToken, BaseURL: c.cfg.Slack.BaseURL, HTTPClient: c.httpClient})
	}
	if c.discordHandler != nil && c.cfg.Discord.Gateway {
		go c.discordHandler.RunGateway(ctx, discord.GatewayOptions{Client: c.discord})
	}
	if c.discord != nil {
		go func() {
			ctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			if err := c.discord.RegisterCommands(ctx, c.cfg.Discord.ApplicationID, c.cfg.Discord.GuildID); err != nil {
				c.log.Warn("discord: registering /klaxon failed; commands typed there will not reach Klaxon until it succeeds at the next start", "err", err)
			}
		}()
	}
}

// wait lets replies still running in the background finish.
func (c *chats) wait() {
	if c.slackHandler != nil {
		c.slackHandler.Wait()
	}
}
