// Package discord is Klaxon's Discord adapter: the interactions endpoint that
// runs /klaxon commands and incident buttons through the one bot grammar, the
// rendering of incidents as embeds with buttons, and a REST client (on
// discordgo) that posts and updates those messages, mirrors the timeline into
// a thread, sends direct messages and registers the /klaxon command.
package discord
