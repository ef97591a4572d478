package config

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

const chats = `slack:
  signing_secret: ${SLACK_SIGNING_SECRET}
  bot_token: ${SLACK_BOT_TOKEN}
  channel: C0INCIDENTS
discord:
  public_key: 7dbb2ab7b9b5c8c6f0f1f3e2d1c0b9a8f7e6d5c4b3a2918070605040302010ff
  bot_token: ${DISCORD_BOT_TOKEN}
  application_id: "1100000000000000001"
  channel: "1200000000000000002"
`

func TestChatsWithPeopleAndChannels(t *testing.T) {
	doc := chats + edit(t,
		"    repeat_every: 10m\n", "    repeat_every: 10m\n    slack_id: U024BE7LH\n    discord_id: \"80351110224678912\"\n",
		"    policy: default\n", "    policy: default\n    slack_channel: C0API\n")
	c, err := Parse([]byte(doc), env(map[string]string{
		"SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99yyyzzz85a5", "SLACK_BOT_TOKEN": "xoxb-1-2-3", "DISCORD_BOT_TOKEN": "MTA.discord.token",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.SlackEnabled() || !c.DiscordEnabled() || c.Slack.BaseURL != DefaultSlackBaseURL || c.Discord.BaseURL != DefaultDiscordBaseURL {
		t.Fatalf("chats: %+v %+v", c.Slack, c.Discord)
	}
	if got := c.PeopleBySlackID(); !maps.Equal(got, map[string]string{"U024BE7LH": "alice"}) {
		t.Errorf("slack people %v", got)
	}
	if got := c.PeopleByDiscordID(); !maps.Equal(got, map[string]string{"80351110224678912": "alice"}) {
		t.Errorf("discord people %v", got)
	}
	if got := c.SlackChannels(); !maps.Equal(got, map[string]string{"api": "C0API"}) {
		t.Errorf("slack channels %v", got)
	}
}

func TestChatProblems(t *testing.T) {
	for _, tc := range []struct {
		name  string
		yaml  string
		wants []string
	}{
		{"slack half configured", "slack: {bot_token: xoxb-1}\n" + base, []string{
			`slack.signing_secret: required when bot_token is set (leave signing_secret, bot_token and channel all empty to disable Slack)`,
			`slack.channel: required when bot_token is set (leave signing_secret, bot_token and channel all empty to disable Slack)`,
		}},
		{"wrong kinds of tokens and keys", "slack: {signing_secret: s, bot_token: xoxp-user, app_token: abc, channel: C1}\n" +
			"discord: {public_key: nothex, bot_token: t, application_id: app, channel: '1'}\n" + base, []string{
			`slack.bot_token: want a bot token (xoxb-...)`,
			`slack.app_token: want an app-level token (xapp-...)`,
			`discord.public_key: want the application's public key: 64 hex characters`,
			`discord.application_id: "app" is not a Discord id (digits)`,
		}},
		{"a discord bot token with a comment pasted after it", "discord: {public_key: " + strings.Repeat("ab", 32) +
			", bot_token: 'MTA.discord.token # from the portal', application_id: '1', channel: '2'}\n" + base, []string{
			`discord.bot_token: want the bot token alone, with or without "Bot " before it`,
		}},
		{"chat ids malformed and twice", edit(t,
			"    repeat_every: 10m\n", "    repeat_every: 10m\n    slack_id: alice\n    discord_id: \"12\"\n",
			"    contact_rules: [{channel: sms, after: 0}]\n", "    contact_rules: [{channel: sms, after: 0}]\n    discord_id: \"12\"\n",
			"    policy: default\n", "    policy: default\n    discord_channel: general\n"), []string{
			`people[0].slack_id: "alice" is not a Slack user id (like U024BE7LH)`,
			`people[1].discord_id: "12" is already alice's`,
			`services[0].discord_channel: "general" is not a Discord channel id (digits)`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), env(nil))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			got := problemLines(t, err)
			if !slices.Equal(got, tc.wants) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.wants, "\n"))
			}
		})
	}
}
