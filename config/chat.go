package config

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// Default chat API base URLs; only tests point them elsewhere.
const (
	DefaultSlackBaseURL   = "https://slack.com/api/"
	DefaultDiscordBaseURL = "https://discord.com"
)

// Slack configures chat ops in Slack: slash commands and buttons, and one
// live message per incident. signing_secret, bot_token and channel work
// together; all empty disables Slack.
type Slack struct {
	SigningSecret string `yaml:"signing_secret"`
	BotToken      string `yaml:"bot_token"`
	// AppToken (xapp-...) turns on Socket Mode, for a Klaxon without a
	// public URL.
	AppToken string `yaml:"app_token"`
	// Channel is where incidents are posted unless their service names
	// its own slack_channel.
	Channel string `yaml:"channel"`
	BaseURL string `yaml:"base_url"`
}

// Discord configures chat ops in Discord: the /klaxon application command
// and buttons through the interactions endpoint, and one live message per
// incident. public_key, bot_token, application_id and channel work
// together; all empty disables Discord.
type Discord struct {
	PublicKey     string `yaml:"public_key"`
	BotToken      string `yaml:"bot_token"`
	ApplicationID string `yaml:"application_id"`
	// GuildID registers /klaxon in one server (at once) rather than
	// globally (which Discord takes up to an hour to show).
	GuildID string `yaml:"guild_id"`
	Channel string `yaml:"channel"`
	BaseURL string `yaml:"base_url"`
	// Gateway receives commands over Discord's Gateway (a websocket
	// Klaxon opens) instead of the interactions endpoint, for a Klaxon
	// without a public URL. The application's Interactions Endpoint URL
	// must then be empty in Discord's developer portal.
	Gateway bool `yaml:"gateway"`
}

// SlackEnabled reports whether Slack is configured.
func (c *Config) SlackEnabled() bool { return c.Slack.BotToken != "" }

// DiscordEnabled reports whether Discord is configured.
func (c *Config) DiscordEnabled() bool { return c.Discord.BotToken != "" }

// PeopleBySlackID maps Slack user ids to person names.
func (c *Config) PeopleBySlackID() map[string]string {
	out := map[string]string{}
	for _, p := range c.People {
		if p.SlackID != "" {
			out[p.SlackID] = p.Name
		}
	}
	return out
}

// PeopleByDiscordID maps Discord user ids to person names.
func (c *Config) PeopleByDiscordID() map[string]string {
	out := map[string]string{}
	for _, p := range c.People {
		if p.DiscordID != "" {
			out[p.DiscordID] = p.Name
		}
	}
	return out
}

// SlackChannels maps services to their own Slack channel.
func (c *Config) SlackChannels() map[string]string {
	out := map[string]string{}
	for _, s := range c.Services {
		if s.SlackChannel != "" {
			out[s.Name] = s.SlackChannel
		}
	}
	return out
}

// DiscordChannels maps services to their own Discord channel.
func (c *Config) DiscordChannels() map[string]string {
	out := map[string]string{}
	for _, s := range c.Services {
		if s.DiscordChannel != "" {
			out[s.Name] = s.DiscordChannel
		}
	}
	return out
}

func (v *validator) slack(s *Slack) {
	on := v.together("slack", "Slack", setting{"signing_secret", s.SigningSecret}, setting{"bot_token", s.BotToken}, setting{"channel", s.Channel})
	if s.AppToken != "" && !on {
		v.add("slack.app_token", "Socket Mode needs signing_secret, bot_token and channel too")
	}
	if s.BotToken != "" && !strings.HasPrefix(s.BotToken, "xoxb-") {
		v.add("slack.bot_token", "want a bot token (xoxb-...)")
	}
	if s.AppToken != "" && !strings.HasPrefix(s.AppToken, "xapp-") {
		v.add("slack.app_token", "want an app-level token (xapp-...)")
	}
	if s.BaseURL == "" {
		s.BaseURL = DefaultSlackBaseURL
	} else {
		s.BaseURL = v.baseURL("slack.base_url", s.BaseURL)
	}
}

func (v *validator) discord(d *Discord) {
	v.together("discord", "Discord", setting{"public_key", d.PublicKey}, setting{"bot_token", d.BotToken},
		setting{"application_id", d.ApplicationID}, setting{"channel", d.Channel})
	// The Discord client sends "Bot <token>": a token of several words
	// (a paste with a comment, say) passes for set but fails serve.
	words := strings.Fields(d.BotToken)
	if len(words) > 0 && words[0] == "Bot" {
		words = words[1:]
	}
	if d.BotToken != "" && len(words) != 1 {
		v.add("discord.bot_token", "want the bot token alone, with or without \"Bot \" before it")
	}
	if d.PublicKey != "" {
		if b, err := hex.DecodeString(d.PublicKey); err != nil || len(b) != 32 {
			v.add("discord.public_key", "want the application's public key: 64 hex characters")
		}
	}
	for _, f := range []setting{{"application_id", d.ApplicationID}, {"guild_id", d.GuildID}, {"channel", d.Channel}} {
		if f.value != "" && !snowflake(f.value) {
			v.add("discord."+f.name, "%q is not a Discord id (digits)", f.value)
		}
	}
	if d.BaseURL == "" {
		d.BaseURL = DefaultDiscordBaseURL
	} else {
		d.BaseURL = v.baseURL("discord.base_url", d.BaseURL)
	}
}

func snowflake(s string) bool {
	if len(s) == 0 || len(s) > 20 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// chatIDs checks people's chat ids and services' channels: unique and
// well-formed. They may be set while a chat is off (its credentials empty),
// so one config serves with and without the chat.
func (v *validator) chatIDs(c *Config) {
	slack, discord := map[string]string{}, map[string]string{}
	for i, p := range c.People {
		path := fmt.Sprintf("people[%d]", i)
		if p.SlackID != "" {
			switch {
			case !slackID(p.SlackID):
				v.add(path+".slack_id", "%q is not a Slack user id (like U024BE7LH)", p.SlackID)
			case slack[p.SlackID] != "":
				v.add(path+".slack_id", "%q is already %s's", p.SlackID, slack[p.SlackID])
			default:
				slack[p.SlackID] = p.Name
			}
		}
		if p.DiscordID != "" {
			switch {
			case !snowflake(p.DiscordID):
				v.add(path+".discord_id", "%q is not a Discord user id (digits)", p.DiscordID)
			case discord[p.DiscordID] != "":
				v.add(path+".discord_id", "%q is already %s's", p.DiscordID, discord[p.DiscordID])
			default:
				discord[p.DiscordID] = p.Name
			}
		}
	}
	for i, s := range c.Services {
		if s.DiscordChannel != "" && !snowflake(s.DiscordChannel) {
			v.add(fmt.Sprintf("services[%d].discord_channel", i), "%q is not a Discord channel id (digits)", s.DiscordChannel)
		}
	}
}

// slackID accepts Slack's user and bot ids: U or W, then letters and digits.
func slackID(s string) bool {
	if len(s) < 2 || len(s) > 24 || (s[0] != 'U' && s[0] != 'W') {
		return false
	}
	for _, r := range s[1:] {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
