package config

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/escalation/oncall"
)

var (
	e164Pattern = regexp.MustCompile(`^\+[0-9]{8,15}$`)
	// Names appear in chat commands and "person:NAME" and "schedule:NAME"
	// targets, so no spaces or colons.
	namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	// Integration names are a URL path segment: /hooks/{name}.
	hookNamePattern = regexp.MustCompile(`^[a-z0-9_-]+$`)
)

// validator applies defaults, checks the decoded config and builds the
// catalog. It never quotes token, auth_token or account_sid values.
type validator struct {
	// bad holds paths the decoder already reported; problems at or under
	// them would only repeat it.
	bad      map[string]bool
	problems Problems
	// scheduleNames holds every schedule with a usable name, built or not,
	// so a broken schedule is not also reported as unknown where it is a
	// target.
	scheduleNames map[string]bool
	// teamNames holds every team with a usable name; teamMembers the
	// members of those whose members are all usable.
	teamNames   map[string]bool
	teamMembers map[string][]escalation.Target
	// slackOn and discordOn: the config enables the chat, so its direct
	// messages have a pager.
	slackOn, discordOn bool
	// paged are the SMS and voice channels some provider sends, once any
	// is configured (nil: none is, and every page goes to the log).
	paged map[escalation.Channel]bool
	// checks are the adapters' judgements of each entry (see Checks).
	checks Checks
}

func (v *validator) add(path, format string, args ...any) {
	for i := 0; i < len(path); i++ {
		if (path[i] == '.' || path[i] == '[') && v.bad[path[:i]] {
			return
		}
	}
	if v.bad[path] {
		return
	}
	v.problems = append(v.problems, Problem{path, fmt.Sprintf(format, args...)})
}

func (v *validator) validate(c *Config) *escalation.Catalog {
	v.server(c)
	v.api(c.API)
	v.twilio(&c.Twilio)
	v.slack(&c.Slack)
	v.discord(&c.Discord)
	v.chatIDs(c)
	if c.Twilio.AccountSID != "" && c.publicURLDefaulted {
		// Twilio signs its callbacks with the URL it calls: a guessed
		// local address would reject every SMS reply and keypress.
		v.add("public_url", "required when Twilio is enabled: the https URL at which Twilio reaches Klaxon")
	}
	cat := &escalation.Catalog{
		People:       map[string]*escalation.Person{},
		Schedules:    map[string]*oncall.Schedule{},
		Policies:     map[string]*escalation.Policy{},
		Services:     map[string]*escalation.Service{},
		Integrations: map[string]*escalation.Integration{},
		Notices:      map[string]*escalation.Notices{},
		Heartbeats:   map[string]*escalation.Heartbeat{},
	}
	v.slackOn, v.discordOn = c.SlackEnabled(), c.DiscordEnabled()
	if c.TwilioEnabled() || len(c.SMSGateways) > 0 {
		v.paged = map[escalation.Channel]bool{}
		if c.TwilioEnabled() {
			v.paged[escalation.ChannelSMS], v.paged[escalation.ChannelVoice] = true, true
		}
		for _, g := range c.SMSGateways {
			chs := g.Channels
			if len(chs) == 0 {
				chs = []string{string(escalation.ChannelSMS)} // smsGateways' default, set later
			}
			for _, ch := range chs {
				v.paged[escalation.Channel(ch)] = true
			}
		}
	}
	v.people(c.People, cat)
	v.schedules(c.Schedules, cat)
	v.teams(c.Teams, cat)
	v.policies(c.Policies, cat)
	v.services(c.Services, cat)
	v.integrations(c.Integrations, cat)
	v.heartbeats(c.Heartbeats, cat)
	v.smsGateways(c.SMSGateways)
	v.watch(c.Watch, cat)
	v.silences(c.Silences, cat)
	if rl := c.RateLimit; rl == nil {
		c.RateLimit = &RateLimit{PerSecond: DefaultRatePerSecond, Burst: DefaultRateBurst}
	} else {
		switch {
		case rl.PerSecond < 0:
			v.add("rate_limit.per_second", "must not be negative; 0 turns the limit off")
		case rl.PerSecond == 0 && rl.Burst > 0:
			// A burst alone would leave per_second at 0, which turns the
			// limit off: surely not what the burst was for.
			v.add("rate_limit.per_second", "required with a burst (0 turns the limit off; the default is %d)", DefaultRatePerSecond)
		case rl.PerSecond > 0 && rl.Burst == 0:
			rl.Burst = rl.PerSecond * 10
		}
		if rl.Burst < 0 {
			v.add("rate_limit.burst", "must not be negative")
		}
	}
	for i := range c.Status.Subscribers {
		sub := &c.Status.Subscribers[i]
		path := fmt.Sprintf("status.subscribers[%d]", i)
		sub.URL = v.pingURL(path+".url", sub.URL)
		if len(sub.Secret) < 16 {
			v.add(path+".secret", "required: at least 16 random characters, shared with the subscriber to check signatures")
		}
	}
	if c.Status.DiscordChannel != "" && !snowflake(c.Status.DiscordChannel) {
		v.add("status.discord_channel", "%q is not a Discord channel id (digits)", c.Status.DiscordChannel)
	}
	if c.Watchdog.URL != "" {
		c.Watchdog.URL = v.pingURL("watchdog.url", c.Watchdog.URL)
		if c.Watchdog.Every == 0 {
			c.Watchdog.Every = time.Minute
		}
		if c.Watchdog.Every < 10*time.Second {
			v.add("watchdog.every", "at least 10s")
		}
	}
	switch {
	case c.Retention < 0:
		v.add("retention", "must not be negative; 0 keeps everything")
	case c.Retention > 0 && c.Retention < MinRetention:
		v.add("retention", "at least %dd (got %s): the status page shows %d days of history, and reviews need their incidents",
			MinRetention/(24*time.Hour), c.Retention, MinRetention/(24*time.Hour))
	case c.Retention > 0:
		// An incident must outlive the window it may reopen in, or a
		// refire inside it opens a new one.
		for i, s := range c.Services {
			if s.ReopenWindow != nil && *s.ReopenWindow > c.Retention {
				v.add(fmt.Sprintf("services[%d].reopen_window", i), "%s is longer than the retention (%s): an incident would be deleted while it may still reopen",
					*s.ReopenWindow, c.Retention)
			}
		}
	}
	for i, name := range c.PublicUpdates.People {
		if cat.People[name] == nil {
			v.add(fmt.Sprintf("public_updates.people[%d]", i), "unknown person %q", name)
		}
	}
	cat.PublicUpdates = escalation.PublicUpdaters{Responders: c.PublicUpdates.Responders, People: c.PublicUpdates.People}
	return cat
}

func (v *validator) server(c *Config) {
	listenOK := false
	if c.Listen == "" {
		v.add("listen", "required")
	} else if err := checkListen(c.Listen); err != nil {
		v.add("listen", "%v", err)
	} else {
		listenOK = true
	}
	if c.Database == "" {
		v.add("database", "required")
	}
	switch {
	case c.PublicURL != "":
		c.PublicURL = v.baseURL("public_url", c.PublicURL)
	case listenOK:
		c.PublicURL = defaultPublicURL(c.Listen)
		c.publicURLDefaulted = true
	}
	c.LogLevel = strings.ToLower(c.LogLevel)
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	case "":
		v.add("log_level", "required")
	default:
		v.add("log_level", "unknown level %q (want debug, info, warn or error)", c.LogLevel)
	}
	if c.MaxBodyBytes <= 0 {
		v.add("max_body_bytes", "must be positive (got %d)", c.MaxBodyBytes)
	}
}

func checkListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port, like 127.0.0.1:8080 or :8080", addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

// baseURL checks an absolute http(s) URL that paths get appended to, and
// returns it without a trailing slash.
func (v *validator) baseURL(path, raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		v.add(path, "not a valid URL") // url errors quote the input; it may hold credentials
	case u.User != nil:
		v.add(path, "must not contain a user name or password")
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		v.add(path, "%q is not an absolute http or https URL", raw)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		v.add(path, "%q must not have a query or fragment", raw)
	}
	return strings.TrimRight(raw, "/")
}

// pingURL checks an absolute http(s) URL that is called as it is (a
// dead-man's switch, a subscriber's webhook). It may have a query; it is
// often a secret itself (healthchecks.io's uuid), so no message quotes it.
func (v *validator) pingURL(path, raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		v.add(path, "not a valid URL")
	case u.User != nil:
		v.add(path, "must not contain a user name or password")
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		v.add(path, "not an absolute http or https URL")
	case u.Fragment != "":
		v.add(path, "must not have a fragment")
	}
	return raw
}

func (v *validator) api(a API) {
	names := map[string]bool{}
	tokens := map[string]int{}
	for i, t := range a.Tokens {
		path := fmt.Sprintf("api.tokens[%d]", i)
		v.name(path+".name", t.Name, "token name", names)
		if t.Token == "" {
			v.add(path+".token", "required")
		} else if j, dup := tokens[t.Token]; dup {
			v.add(path+".token", "same token as api.tokens[%d]; each name needs its own token", j)
		} else {
			tokens[t.Token] = i
		}
	}
	if j, dup := tokens[a.CalendarToken]; dup && a.CalendarToken != "" {
		v.add("api.calendar_token", "same token as api.tokens[%d]; a calendar URL is shared, so it must not carry an API token", j)
	} else if a.CalendarToken != "" && len(a.CalendarToken) < 16 {
		v.add("api.calendar_token", "too short: use at least 16 random characters")
	}
}

// andList writes "a, b and c".
func andList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// setting is a config field by its YAML name, for all-or-nothing checks.
type setting struct{ name, value string }

// together reports the missing ones of fields that work only together, if
// any is set: a half-configured provider is never silently disabled. It
// reports whether the section is enabled.
func (v *validator) together(section, what string, fields ...setting) bool {
	var set, missing, names []string
	for _, f := range fields {
		names = append(names, f.name)
		if f.value != "" {
			set = append(set, f.name)
		} else {
			missing = append(missing, f.name)
		}
	}
	if len(set) == 0 {
		return false
	}
	verb := "is"
	if len(set) > 1 {
		verb = "are"
	}
	for _, name := range missing {
		v.add(section+"."+name, "required when %s %s set (leave %s all empty to disable %s)",
			strings.Join(set, " and "), verb, andList(names), what)
	}
	return true
}

func (v *validator) twilio(t *Twilio) {
	v.together("twilio", "Twilio", setting{"account_sid", t.AccountSID}, setting{"auth_token", t.AuthToken}, setting{"from", t.From})
	if t.From != "" && !e164Pattern.MatchString(t.From) {
		v.add("twilio.from", "%q is not E.164 (+ and 8 to 15 digits)", t.From)
	}
	if t.BaseURL == "" {
		t.BaseURL = DefaultTwilioBaseURL
	} else {
		t.BaseURL = v.baseURL("twilio.base_url", t.BaseURL)
	}
}

// name checks a required, unique name and reports whether it is usable.
func (v *validator) name(path, name, kind string, seen map[string]bool) bool {
	switch {
	case name == "":
		v.add(path, "required")
	case !namePattern.MatchString(name):
		v.add(path, "%q is not a valid name: use letters, digits, '.', '_' and '-', starting with a letter or digit", name)
	case seen[name]:
		v.add(path, "duplicate %s %q", kind, name)
	default:
		seen[name] = true
		return true
	}
	return false
}

func (v *validator) people(people []Person, cat *escalation.Catalog) {
	names := map[string]bool{}
	phones := map[string]string{}
	for i, p := range people {
		path := fmt.Sprintf("people[%d]", i)
		ok := v.name(path+".name", p.Name, "person", names)
		loc := v.timezone(path+".timezone", p.Timezone)
		switch {
		case p.Phone == "":
			v.add(path+".phone", "required")
		case !e164Pattern.MatchString(p.Phone):
			v.add(path+".phone", "%q is not E.164 (+ and 8 to 15 digits)", p.Phone)
		case phones[p.Phone] != "":
			// SMS replies are matched to a person by phone number.
			v.add(path+".phone", "%q is already %s's phone", p.Phone, phones[p.Phone])
		default:
			phones[p.Phone] = p.Name
		}
		rules := v.contactRules(path+".contact_rules", p)
		var latest time.Duration
		for _, r := range rules {
			latest = max(latest, r.After)
		}
		switch {
		case p.RepeatEvery < 0:
			v.add(path+".repeat_every", "must not be negative (got %s)", p.RepeatEvery)
		case p.RepeatEvery > 0 && p.RepeatEvery < minPaging:
			v.add(path+".repeat_every", "at least %s (got %s): faster is a flood of pages, not paging", minPaging, p.RepeatEvery)
		case p.RepeatEvery > 0 && p.RepeatEvery <= latest:
			v.add(path+".repeat_every", "%s must be longer than the latest contact rule's after (%s)", p.RepeatEvery, latest)
		}
		hours := v.workingHours(path+".working_hours", p.WorkingHours)
		var limit escalation.CallLimit
		if l := p.CallLimit; l != nil {
			if l.Max < 1 || l.Window <= 0 {
				v.add(path+".call_limit", "want max (at least 1) and window (like 15m)")
			}
			limit = escalation.CallLimit{Max: l.Max, Window: l.Window}
		}
		if ok {
			person := &escalation.Person{
				Name: p.Name, Timezone: loc, Phone: p.Phone, Rules: rules, RepeatEvery: p.RepeatEvery,
				WorkingHours: hours, ChatIDs: map[escalation.Channel]string{}, CallLimit: limit,
			}
			if p.SlackID != "" {
				person.ChatIDs[escalation.ChannelSlack] = p.SlackID
			}
			if p.DiscordID != "" {
				person.ChatIDs[escalation.ChannelDiscord] = p.DiscordID
			}
			cat.People[p.Name] = person
		}
	}
}

func (v *validator) timezone(path, name string) *time.Location {
	switch name {
	case "":
		v.add(path, "required")
		return nil
	case "Local":
		v.add(path, `"Local" depends on the server; use an IANA name like Europe/Stockholm`)
		return nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		v.add(path, "unknown time zone %q", name)
		return nil
	}
	return loc
}

// minPaging is the shortest level delay and contact-rule repeat: pages
// faster than this are a flood (a typo of 1ms for 1m), not escalation.
const minPaging = time.Second

func (v *validator) contactRules(path string, p Person) []escalation.ContactRule {
	rules := p.ContactRules
	if len(rules) == 0 {
		v.add(path, "at least one contact rule is required")
		return nil
	}
	out := make([]escalation.ContactRule, 0, len(rules))
	for j, r := range rules {
		rp := fmt.Sprintf("%s[%d]", path, j)
		ch, err := escalation.ParseChannel(r.Channel)
		switch {
		case r.Channel == "":
			v.add(rp+".channel", "required")
		case err != nil:
			v.add(rp+".channel", "unknown channel %q (want sms, voice, slack or discord)", r.Channel)
		case ch == escalation.ChannelSlack && p.SlackID == "":
			v.add(rp+".channel", "slack direct messages need this person's slack_id")
		case ch == escalation.ChannelDiscord && p.DiscordID == "":
			v.add(rp+".channel", "discord direct messages need this person's discord_id")
		// Every page on a channel nothing can send fails; the person would
		// be reached by their other rules only, or never.
		case ch == escalation.ChannelSlack && !v.slackOn:
			v.add(rp+".channel", "slack direct messages need the slack section (bot_token) to send them")
		case ch == escalation.ChannelDiscord && !v.discordOn:
			v.add(rp+".channel", "discord direct messages need the discord section (bot_token) to send them")
		// With providers configured, a channel none of them sends would
		// have its pages go to the log alone: no phone rings.
		case (ch == escalation.ChannelSMS || ch == escalation.ChannelVoice) && v.paged != nil && !v.paged[ch]:
			v.add(rp+".channel", "no provider sends %s (twilio is not set up, and no sms_gateways entry lists %s): its pages would only be logged", ch, ch)
		}
		switch {
		case r.After < 0:
			v.add(rp+".after", "must not be negative (got %s)", r.After)
		case j > 0 && r.After <= rules[j-1].After:
			v.add(rp+".after", "%s must be later than the previous rule's after (%s)", r.After, rules[j-1].After)
		}
		out = append(out, escalation.ContactRule{Channel: ch, After: r.After})
	}
	return out
}

func (v *validator) policies(policies []Policy, cat *escalation.Catalog) {
	names := map[string]bool{}
	for i, p := range policies {
		path := fmt.Sprintf("policies[%d]", i)
		ok := v.name(path+".name", p.Name, "policy", names)
		if p.Repeat < 0 {
			v.add(path+".repeat", "must not be negative (got %d)", p.Repeat)
		}
		if len(p.Levels) == 0 {
			v.add(path+".levels", "at least one level is required")
		}
		levels := make([]escalation.Level, 0, len(p.Levels))
		for j, l := range p.Levels {
			levels = append(levels, v.level(fmt.Sprintf("%s.levels[%d]", path, j), l, cat))
		}
		if ok {
			cat.Policies[p.Name] = &escalation.Policy{Name: p.Name, Levels: levels, Repeat: p.Repeat}
		}
	}
}

// teamTarget is a level's target kind that names a team; it never
// reaches the engine, which gets the members.
const teamTarget = "team"

func (v *validator) teams(teams []Team, cat *escalation.Catalog) {
	v.teamNames, v.teamMembers = map[string]bool{}, map[string][]escalation.Target{}
	for i, tm := range teams {
		path := fmt.Sprintf("teams[%d]", i)
		named := v.name(path+".name", tm.Name, "team", v.teamNames)
		if len(tm.Members) == 0 {
			v.add(path+".members", "at least one member is required")
		}
		var members []escalation.Target
		seen := map[escalation.Target]bool{}
		ok := true
		for k, raw := range tm.Members {
			t, good := v.target(fmt.Sprintf("%s.members[%d]", path, k), raw, false, "a member of this team", seen, cat)
			ok = ok && good
			if good {
				members = append(members, t)
			}
		}
		if named && v.scheduleNames[tm.Name] {
			// "page NAME" in chat names either.
			v.add(path+".name", "%q is a schedule's name too; name the team apart", tm.Name)
			ok = false
		}
		if named && ok && len(members) > 0 {
			v.teamMembers[tm.Name] = members
			if cat.Teams == nil {
				cat.Teams = map[string][]escalation.Target{}
			}
			cat.Teams[tm.Name] = members
		}
	}
}

// target reads one target as written (a person's name, person:NAME,
// schedule:NAME, and where teams is set team:NAME) and checks it is known
// and not in seen yet (else it is "already" what twice says); ok is false
// when it is not usable.
func (v *validator) target(path, raw string, teams bool, twice string, seen map[escalation.Target]bool, cat *escalation.Catalog) (_ escalation.Target, ok bool) {
	t := escalation.Target{Kind: escalation.TargetPerson, Name: raw}
	if kind, rest, found := strings.Cut(raw, ":"); found {
		switch {
		case escalation.TargetKind(kind) == escalation.TargetPerson, escalation.TargetKind(kind) == escalation.TargetSchedule,
			teams && kind == teamTarget:
			t = escalation.Target{Kind: escalation.TargetKind(kind), Name: rest}
		case teams:
			v.add(path, "unknown target kind %q (write a person's name, person:NAME, schedule:NAME or team:NAME)", kind)
			return t, false
		default:
			v.add(path, "unknown member kind %q (write a person's name, person:NAME or schedule:NAME)", kind)
			return t, false
		}
	}
	shown := t.Name // people are named bare, as most configs write them
	if t.Kind != escalation.TargetPerson {
		shown = raw
	}
	switch {
	case t.Name == "":
		v.add(path, "required")
	case t.Kind == escalation.TargetPerson && cat.People[t.Name] == nil:
		v.add(path, "unknown person %q", t.Name)
	case t.Kind == escalation.TargetSchedule && !v.scheduleNames[t.Name]:
		v.add(path, "unknown schedule %q", t.Name)
	case t.Kind == teamTarget && !v.teamNames[t.Name]:
		v.add(path, "unknown team %q", t.Name)
	case seen[t]:
		v.add(path, "%q is already %s", shown, twice)
	default:
		seen[t] = true
		return t, true
	}
	return t, false
}

func (v *validator) level(path string, l Level, cat *escalation.Catalog) escalation.Level {
	if len(l.Targets) == 0 {
		v.add(path+".targets", "at least one target is required")
	}
	var targets []escalation.Target
	seen := map[escalation.Target]bool{}
	for k, raw := range l.Targets {
		t, ok := v.target(fmt.Sprintf("%s.targets[%d]", path, k), raw, true, "a target of this level", seen, cat)
		switch {
		case !ok:
		case t.Kind == teamTarget:
			// Its members join the level; one named there already (or in
			// another of its teams) is paged once.
			for _, m := range v.teamMembers[t.Name] {
				if !slices.Contains(targets, m) {
					targets = append(targets, m)
				}
			}
		case slices.Contains(targets, t):
			// A team of this level named it first: paged once.
		default:
			targets = append(targets, t)
		}
	}
	switch {
	case l.Delay == 0:
		v.add(path+".delay", "required: how long before the next level is paged too, like 5m")
	case l.Delay < 0:
		v.add(path+".delay", "must be positive (got %s)", l.Delay)
	case l.Delay < minPaging:
		v.add(path+".delay", "at least %s (got %s): a level faster than that is a typo (1ms for 1m?)", minPaging, l.Delay)
	}
	lv := escalation.Level{Targets: targets, Delay: l.Delay, PreferAwake: l.PreferAwake, WakeAfter: l.WakeAfter}
	switch {
	case l.WakeAfter < 0:
		v.add(path+".wake_after", "must not be negative (got %s)", l.WakeAfter)
	case l.PreferAwake && l.WakeAfter == 0:
		v.add(path+".wake_after", "required with prefer_awake: how long the awake get before the asleep are woken, like 10m")
	case !l.PreferAwake && l.WakeAfter > 0:
		v.add(path+".wake_after", "only means something with prefer_awake: true")
	}
	if l.WakeAtOnce != "" {
		if !l.PreferAwake {
			v.add(path+".wake_at_once", "only means something with prefer_awake: true")
		} else if p, ok := v.priority(path+".wake_at_once", l.WakeAtOnce); ok {
			lv.WakeAtOnce = &p
		}
	}
	return lv
}

// workingHours checks a person's working hours.
func (v *validator) workingHours(path string, w *WorkingHours) *escalation.WorkingHours {
	if w == nil {
		return nil
	}
	out := &escalation.WorkingHours{}
	from, okFrom := parseClock(w.From)
	if !okFrom {
		v.add(path+".from", "%q is not a time HH:MM", w.From)
	}
	to, okTo := parseClock(w.To)
	if !okTo {
		v.add(path+".to", "%q is not a time HH:MM", w.To)
	}
	if okFrom && okTo && from == to {
		v.add(path+".to", "the same as from: leave working_hours out for a person who answers any time")
	}
	out.From, out.To = from, to
	for i, d := range w.Days {
		wd, ok := parseWeekday(d)
		if !ok {
			v.add(fmt.Sprintf("%s.days[%d]", path, i), "%q is not a weekday (monday or mon)", d)
			continue
		}
		out.Days = append(out.Days, wd)
	}
	return out
}

func (v *validator) services(services []Service, cat *escalation.Catalog) {
	names := map[string]bool{}
	for i := range services {
		s := &services[i]
		path := fmt.Sprintf("services[%d]", i)
		ok := v.name(path+".name", s.Name, "service", names)
		v.policyRef(path+".policy", s.Policy, cat)
		out := &escalation.Service{Name: s.Name, Policy: s.Policy, GroupBy: s.GroupBy}

		for _, key := range sortedKeys(s.PolicyByPriority) {
			kp := path + ".policy_by_priority." + key
			pr, err := escalation.ParsePriority(key)
			if err != nil {
				v.add(kp, "unknown priority %q (want P0 to P4)", key)
				continue
			}
			if _, dup := out.PolicyByPriority[pr]; dup {
				v.add(kp, "duplicate priority %s", pr)
				continue
			}
			v.policyRef(kp, s.PolicyByPriority[key], cat)
			if out.PolicyByPriority == nil {
				out.PolicyByPriority = map[escalation.Priority]string{}
			}
			out.PolicyByPriority[pr] = s.PolicyByPriority[key]
		}

		if s.SeverityPriority == nil {
			s.SeverityPriority = DefaultSeverityPriority()
		}
		out.SeverityPriority = map[string]escalation.Priority{}
		// Keys are read as monitors' severities are ("High" is error,
		// "page" critical), or a key could never match.
		spelled := map[string]string{}
		for _, key := range sortedKeys(s.SeverityPriority) {
			sev := escalation.NormalizeSeverity(key)
			if sev == "" {
				v.add(path+".severity_priority", "empty severity name")
				continue
			}
			if other, dup := spelled[sev]; dup {
				v.add(path+".severity_priority."+key, "%q and %q are the same severity to Klaxon (%s): keep one", other, key, sev)
				continue
			}
			spelled[sev] = key
			pr, good := v.priority(path+".severity_priority."+key, s.SeverityPriority[key])
			if good {
				s.SeverityPriority[key] = pr.String()
				out.SeverityPriority[sev] = pr
			}
		}

		if s.DefaultPriority == "" {
			s.DefaultPriority = DefaultPriority
		}
		if pr, good := v.priority(path+".default_priority", s.DefaultPriority); good {
			s.DefaultPriority = pr.String()
			out.DefaultPriority = pr
		}

		labels := map[string]bool{}
		for j, l := range s.GroupBy {
			switch {
			case l == "":
				v.add(fmt.Sprintf("%s.group_by[%d]", path, j), "empty label name")
			case labels[l]:
				v.add(fmt.Sprintf("%s.group_by[%d]", path, j), "duplicate label %q", l)
			}
			labels[l] = true
		}

		switch s.Resolve {
		case "":
			s.Resolve = DefaultResolve
		case ResolveAuto, ResolveManual:
		default:
			v.add(path+".resolve", "unknown resolve mode %q (want auto or manual)", s.Resolve)
		}
		out.ManualResolve = s.Resolve == ResolveManual

		if s.ReopenWindow == nil {
			w := DefaultReopenWindow
			s.ReopenWindow = &w
		}
		if *s.ReopenWindow < 0 {
			v.add(path+".reopen_window", "must not be negative (got %s); 0 disables reopening", *s.ReopenWindow)
		}
		out.ReopenWindow = *s.ReopenWindow

		if f := s.Flap; f != nil {
			if f.Count < 1 {
				v.add(path+".flap.count", "at least 1: the reopens within window that make an incident flapping")
			}
			if f.Window <= 0 {
				v.add(path+".flap.window", "required, like 1h")
			}
			if f.Cooldown <= 0 {
				v.add(path+".flap.cooldown", "required, like 15m")
			}
			if out.ReopenWindow == 0 {
				v.add(path+".flap", "flap damping needs a reopen_window: without reopening there are no flaps")
			}
			out.Flap = escalation.FlapDamping{Count: f.Count, Window: f.Window, Cooldown: f.Cooldown}
		}
		out.DependsOn = s.DependsOn
		out.NoCorrelation = s.Correlate != nil && !*s.Correlate
		if s.SplitAfter < 0 {
			v.add(path+".split_after", "must not be negative (got %s)", s.SplitAfter)
		}
		out.SplitAfter = s.SplitAfter

		if ok {
			cat.Services[s.Name] = out
		}
	}
	for i, s := range services {
		for j, d := range s.DependsOn {
			switch {
			case d == s.Name:
				v.add(fmt.Sprintf("services[%d].depends_on[%d]", i, j), "a service cannot depend on itself")
			case cat.Services[d] == nil:
				v.add(fmt.Sprintf("services[%d].depends_on[%d]", i, j), "unknown service %q", d)
			}
		}
	}
}

func (v *validator) policyRef(path, name string, cat *escalation.Catalog) {
	switch {
	case name == "":
		v.add(path, "required")
	case cat.Policies[name] == nil:
		v.add(path, "unknown policy %q", name)
	}
}

func (v *validator) priority(path, s string) (escalation.Priority, bool) {
	pr, err := escalation.ParsePriority(s)
	if err != nil {
		v.add(path, "unknown priority %q (want P0 to P4)", s)
		return 0, false
	}
	return pr, true
}

func (v *validator) integrations(integrations []Integration, cat *escalation.Catalog) {
	names := map[string]bool{}
	routingKeys := map[string]int{}
	for i, in := range integrations {
		path := fmt.Sprintf("integrations[%d]", i)
		ok := false
		switch {
		case in.Name == "":
			v.add(path+".name", "required")
		case !hookNamePattern.MatchString(in.Name):
			v.add(path+".name", "%q may contain only a-z, 0-9, '_' and '-' (it is the URL path /hooks/{name})", in.Name)
		case names[in.Name]:
			v.add(path+".name", "duplicate integration %q", in.Name)
		default:
			names[in.Name] = true
			ok = true
		}
		switch {
		case in.Service == "":
			v.add(path+".service", "required")
		case cat.Services[in.Service] == nil:
			v.add(path+".service", "unknown service %q", in.Service)
		}
		switch {
		case in.Format == "":
			v.add(path+".format", "required")
		case !slices.Contains(Formats(), in.Format):
			v.add(path+".format", "unknown format %q (want one of %s)", in.Format, strings.Join(Formats(), ", "))
		}
		switch {
		case in.Format == FormatGeneric && (in.Fields == nil || in.Fields.DedupKey == ""):
			v.add(path+".fields.dedup_key", "required for a generic integration: the path of the alert's identity, like id or labels.fingerprint")
		case in.Format != FormatGeneric && in.Fields != nil:
			v.add(path+".fields", "only a generic integration reads fields")
		}
		if in.Format == FormatGeneric && in.Fields != nil && v.checks.GenericFields != nil {
			v.adapter(path+".fields", v.checks.GenericFields(*in.Fields))
		}
		if in.Token == "" {
			v.add(path+".token", "required")
		} else if in.Format == FormatPagerDuty || in.Format == FormatOpsgenie {
			// PagerDuty routing keys and Opsgenie API keys are shared
			// endpoints' only clue: each must pick exactly one integration.
			key := in.Format + "\x00" + in.Token
			if j, dup := routingKeys[key]; dup {
				kind := "routing key"
				if in.Format == FormatOpsgenie {
					kind = "API key"
				}
				v.add(path+".token", "same %s as integrations[%d]; each %s integration needs its own token", kind, j, in.Format)
			} else {
				routingKeys[key] = i
			}
		}
		if ok {
			cat.Integrations[in.Name] = &escalation.Integration{
				Name: in.Name, Service: in.Service, Format: in.Format, Token: in.Token,
			}
		}
	}
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

func (v *validator) smsGateways(gws []SMSGateway) {
	names := map[string]bool{"twilio": true}
	for i := range gws {
		g := &gws[i]
		path := fmt.Sprintf("sms_gateways[%d]", i)
		v.name(path+".name", g.Name, "provider", names)
		if g.URL == "" {
			v.add(path+".url", "required")
		}
		if len(g.Channels) == 0 {
			g.Channels = []string{string(escalation.ChannelSMS)}
		}
		for j, ch := range g.Channels {
			if ch != string(escalation.ChannelSMS) && ch != string(escalation.ChannelVoice) {
				v.add(fmt.Sprintf("%s.channels[%d]", path, j), "unknown channel %q (want sms or voice)", ch)
			}
		}
		if v.checks.SMSGateway != nil {
			v.adapter(path, v.checks.SMSGateway(*g))
		}
	}
}

func (v *validator) silences(windows []SilenceWindow, cat *escalation.Catalog) {
	for i, w := range windows {
		path := fmt.Sprintf("silences[%d]", i)
		ok := true
		switch {
		case !(&escalation.Silence{Service: w.Service, Matchers: w.Matchers}).Narrows():
			v.add(path, "give a service, a matcher with a value, or both: a window over everything would silence Klaxon")
			ok = false
		case w.Service != "" && cat.Services[w.Service] == nil:
			v.add(path+".service", "unknown service %q", w.Service)
			ok = false
		}
		if w.Duration <= 0 {
			v.add(path+".duration", "required, like 2h")
			ok = false
		}
		rule, err := parseCron(w.Cron, time.UTC)
		switch {
		case w.Cron == "":
			v.add(path+".cron", "required: when the window starts, like \"CRON_TZ=Europe/Stockholm 0 2 * * SUN\"")
			ok = false
		case err != nil:
			v.add(path+".cron", "%v", err)
			ok = false
		}
		if ok {
			cat.Silences = append(cat.Silences, &escalation.Silence{Service: w.Service, Matchers: w.Matchers,
				Cron: rule, CronSpec: w.Cron, Duration: w.Duration, Comment: w.Comment})
		}
	}
}

// Each integration may send DefaultRatePerSecond requests a second on
// average and DefaultRateBurst at once unless the config says otherwise:
// far above any monitor's normal rate, far below a loop's.
const (
	DefaultRatePerSecond = 100
	DefaultRateBurst     = 1000
)

// defaultWatchEvery is how often the expiry watch checks when every is
// not set: expiry is measured in days.
const defaultWatchEvery = time.Hour

func (v *validator) watch(w *Watch, cat *escalation.Catalog) {
	if w == nil {
		return
	}
	switch {
	case w.Service == "":
		v.add("watch.service", "required: the service expiry incidents open on")
	case cat.Services[w.Service] == nil:
		v.add("watch.service", "unknown service %q", w.Service)
	default:
		if cat.Integrations[WatchIntegration] != nil {
			v.add("watch", "integration name %q is taken by an integration; rename that one", WatchIntegration)
		}
		cat.Integrations[WatchIntegration] = &escalation.Integration{Name: WatchIntegration, Service: w.Service, Format: "internal"}
	}
	if w.Every == 0 {
		w.Every = defaultWatchEvery
	}
	if w.Every < time.Minute {
		v.add("watch.every", "at least 1m")
	}
	if w.Timeout < 0 {
		v.add("watch.timeout", "must not be negative (got %s); 0 is the default", w.Timeout)
	}
	if w.RDAPBase != "" {
		w.RDAPBase = v.baseURL("watch.rdap_base", w.RDAPBase)
	}
	if len(w.Targets) == 0 {
		v.add("watch.targets", "at least one target is required")
	}
	// Endpoints as the watch tells them apart (names are not case
	// sensitive, a trailing root dot changes nothing, 443 is the default),
	// so that every repeat is reported here; serve's watch.NewChecker
	// stays the backstop.
	endpoints := map[string]int{}
	for i, t := range w.Targets {
		path := fmt.Sprintf("watch.targets[%d]", i)
		reported := len(v.problems)
		host := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(t.Host)), ".")
		domain := strings.TrimSpace(t.Domain)
		if host == "" && domain == "" {
			v.add(path, "give a host (its certificate is checked), a domain (its registration is checked), or both")
		}
		switch {
		case t.Port < 0 || t.Port > 65535:
			v.add(path+".port", "%d is not a port", t.Port)
		case host == "" && domain != "" && t.Port != 0:
			v.add(path+".port", "only means something with a host: the port its certificate is checked on")
		}
		if v.checks.WatchTarget != nil {
			v.adapter(path, v.checks.WatchTarget(t))
		}
		if host == "" || len(v.problems) > reported {
			continue // a broken target's endpoint would be a guess
		}
		ep := host
		if t.Port != 0 && t.Port != 443 {
			ep += ":" + strconv.Itoa(t.Port)
		}
		if j, dup := endpoints[ep]; dup {
			v.add(path, "%s is watch.targets[%d] again", ep, j)
			continue
		}
		endpoints[ep] = i
	}
}

// defaultHeartbeatGrace is how late a ping may be when grace is not set.
const defaultHeartbeatGrace = 5 * time.Minute

func (v *validator) heartbeats(beats []Heartbeat, cat *escalation.Catalog) {
	names := map[string]bool{}
	for i, hb := range beats {
		path := fmt.Sprintf("heartbeats[%d]", i)
		ok := v.name(path+".name", hb.Name, "heartbeat", names)
		switch {
		case hb.Service == "":
			v.add(path+".service", "required")
			ok = false
		case cat.Services[hb.Service] == nil:
			v.add(path+".service", "unknown service %q", hb.Service)
			ok = false
		}
		if len(hb.Token) < 16 {
			v.add(path+".token", "required: at least 16 random characters")
			ok = false
		}
		out := &escalation.Heartbeat{Name: hb.Name, Service: hb.Service, Token: hb.Token, Every: hb.Every, Grace: hb.Grace}
		if hb.Grace == 0 {
			out.Grace = defaultHeartbeatGrace
		}
		if hb.Grace < 0 {
			v.add(path+".grace", "must not be negative")
			ok = false
		}
		switch {
		case (hb.Every > 0) == (hb.Cron != ""):
			v.add(path, "give every (like 1h) or cron (like \"CRON_TZ=Europe/Stockholm 0 2 * * *\"), one of them")
			ok = false
		case hb.Every < 0:
			v.add(path+".every", "must be positive")
			ok = false
		case hb.Cron != "":
			rule, err := parseCron(hb.Cron, time.UTC)
			if err != nil {
				v.add(path+".cron", "%v", err)
				ok = false
			} else {
				out.Cron, out.CronSpec = rule, hb.Cron
			}
		}
		if ok {
			cat.Heartbeats[hb.Name] = out
		}
	}
}

// Formats lists the integration formats Klaxon reads, sorted; cmd/klaxon
// checks it against what ingest serves.
func Formats() []string {
	return []string{FormatAlertmanager, FormatDatadog, FormatGeneric, FormatGrafana, FormatOpsgenie, FormatPagerDuty, FormatUptimeKuma}
}
