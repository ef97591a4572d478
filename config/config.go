// Package config loads Klaxon's YAML configuration: it decodes the file
// strictly (unknown keys are errors), expands ${VAR} references to the
// environment inside string values, applies defaults, validates everything
// with the path of each problem, and builds the escalation.Catalog the engine
// runs on.
//
// The environment is injected (Load and Parse take a lookup function), so the
// package never reads os.Getenv and tests control every variable.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/klaxonhq/klaxon/escalation"
)

// Defaults applied by Parse when a key is absent.
const (
	DefaultListen        = "127.0.0.1:8080"
	DefaultDatabase      = "./klaxon.db"
	DefaultLogLevel      = "info"
	DefaultMaxBodyBytes  = 1 << 20
	DefaultReopenWindow  = 30 * time.Minute
	DefaultPriority      = "P3"
	DefaultResolve       = ResolveAuto
	DefaultTwilioBaseURL = "https://api.twilio.com"
)

// MinRetention is the shortest retention: the status page's history.
const MinRetention = 90 * 24 * time.Hour

// Service resolve modes.
const (
	ResolveAuto   = "auto"
	ResolveManual = "manual"
)

// Integration formats Klaxon can ingest.
const (
	FormatAlertmanager = "alertmanager"
	FormatPagerDuty    = "pagerduty"
	FormatGrafana      = "grafana"
	FormatUptimeKuma   = "uptime-kuma"
	FormatDatadog      = "datadog"
	FormatOpsgenie     = "opsgenie"
	FormatGeneric      = "generic"
)

// DefaultSeverityPriority is the severity_priority map a service gets when
// it sets none. It returns a new map each call, so callers may keep it.
func DefaultSeverityPriority() map[string]string {
	return map[string]string{"critical": "P1", "error": "P2", "warning": "P3", "info": "P4"}
}

// Config mirrors the YAML file. After Parse every default is filled in;
// the Catalog is built from it once, so later edits of these fields do not
// reach the catalog.
type Config struct {
	Listen       string `yaml:"listen"`
	Database     string `yaml:"database"`
	PublicURL    string `yaml:"public_url"`
	LogLevel     string `yaml:"log_level"`
	MaxBodyBytes int64  `yaml:"max_body_bytes"`
	// RateLimit bounds each integration's requests (default 100/s, burst
	// 1000; per_second 0 turns it off).
	RateLimit    *RateLimit    `yaml:"rate_limit"`
	API          API           `yaml:"api"`
	Twilio       Twilio        `yaml:"twilio"`
	Slack        Slack         `yaml:"slack"`
	Discord      Discord       `yaml:"discord"`
	People       []Person      `yaml:"people"`
	Schedules    []Schedule    `yaml:"schedules"`
	Teams        []Team        `yaml:"teams"`
	Policies     []Policy      `yaml:"policies"`
	Services     []Service     `yaml:"services"`
	Integrations []Integration `yaml:"integrations"`
	Heartbeats   []Heartbeat   `yaml:"heartbeats"`
	// SMSGateways are SMS/voice providers beside Twilio, tried in order
	// after it.
	SMSGateways []SMSGateway `yaml:"sms_gateways"`
	// Watch checks certificate and domain expiry.
	Watch *Watch `yaml:"watch"`
	// Watchdog pings an outside dead man's switch while Klaxon runs.
	Watchdog Watchdog `yaml:"watchdog"`
	// Silences are recurring maintenance windows; one-off silences are
	// made through the API.
	Silences []SilenceWindow `yaml:"silences"`
	// Status configures the public status page.
	Status Status `yaml:"status"`
	// PublicUpdates says who may publish status page updates.
	PublicUpdates PublicUpdates `yaml:"public_updates"`
	// Retention is how long a settled incident is kept, with its timeline,
	// pages and alerts (0, the default: for ever).
	Retention time.Duration `yaml:"retention"`

	catalog *escalation.Catalog
	// publicURLDefaulted records that PublicURL was derived from Listen, so
	// SetListen can derive it again.
	publicURLDefaulted bool
}

// API configures the /api/v1 bearer tokens.
type API struct {
	Tokens []APIToken `yaml:"tokens"`
	// CalendarToken, when set, lets calendar apps (which cannot send a
	// bearer token) read the .ics feeds with ?token=...; it grants nothing
	// else.
	CalendarToken string `yaml:"calendar_token"`
}

// APIToken is one bearer token; Name is recorded as the actor of what it does.
type APIToken struct {
	Name  string `yaml:"name"`
	Token string `yaml:"token"`
}

// Twilio configures SMS and voice pages. All three of AccountSID, AuthToken
// and From empty means Twilio is not used.
type Twilio struct {
	AccountSID string `yaml:"account_sid"`
	AuthToken  string `yaml:"auth_token"`
	From       string `yaml:"from"`
	BaseURL    string `yaml:"base_url"`
}

// SMSGateway is a generic HTTP SMS (or voice) provider: a request built
// from templates (see bot/smsgateway). Channels are the page channels it
// serves (default: sms).
type SMSGateway struct {
	Name          string            `yaml:"name"`
	Channels      []string          `yaml:"channels"`
	URL           string            `yaml:"url"`
	Method        string            `yaml:"method"`
	Headers       map[string]string `yaml:"headers"`
	ContentType   string            `yaml:"content_type"`
	Body          string            `yaml:"body"`
	Secret        string            `yaml:"secret"`
	SuccessStatus []int             `yaml:"success_status"`
	IDPath        string            `yaml:"id_path"`
	Timeout       time.Duration     `yaml:"timeout"`
}

// Watch is the expiry watch: TLS certificates (per address family) and
// domain registrations, checked every Every; findings become alerts on
// Service.
type Watch struct {
	Service  string        `yaml:"service"`
	Every    time.Duration `yaml:"every"`
	RDAPBase string        `yaml:"rdap_base"`
	Timeout  time.Duration `yaml:"timeout"`
	Targets  []WatchTarget `yaml:"targets"`
}

// WatchTarget is a host whose certificate is checked on Port (default
// 443), and a registrable Domain whose registration is checked by RDAP.
type WatchTarget struct {
	Host   string `yaml:"host"`
	Port   int    `yaml:"port"`
	Domain string `yaml:"domain"`
}

// SilenceWindow holds pages for matching alerts at each time of Cron, for
// Duration: alerts are recorded, and page only if still firing after.
type SilenceWindow struct {
	Service  string            `yaml:"service"`
	Matchers map[string]string `yaml:"matchers"`
	Cron     string            `yaml:"cron"`
	Duration time.Duration     `yaml:"duration"`
	Comment  string            `yaml:"comment"`
}

// Watchdog is an outside URL Klaxon pings every Every (default 1m) while
// its runner ticks; an empty URL turns it off.
type Watchdog struct {
	URL   string        `yaml:"url"`
	Every time.Duration `yaml:"every"`
}

// WatchIntegration is the internal integration the expiry watch's alerts
// arrive through; no sender can use it over HTTP.
const WatchIntegration = "expiry-watch"

// GenericFields are the paths (a.b.0.c) a generic integration reads its
// alerts from; see ingest.GenericSpec.
type GenericFields struct {
	Alerts         string   `yaml:"alerts"`
	DedupKey       string   `yaml:"dedup_key"`
	GroupKey       string   `yaml:"group_key"`
	Summary        string   `yaml:"summary"`
	Details        string   `yaml:"details"`
	Severity       string   `yaml:"severity"`
	Source         string   `yaml:"source"`
	Labels         string   `yaml:"labels"`
	Status         string   `yaml:"status"`
	ResolvedValues []string `yaml:"resolved_values"`
}

// RateLimit is a per-integration request budget.
type RateLimit struct {
	PerSecond int `yaml:"per_second"`
	Burst     int `yaml:"burst"`
}

// Status is the public status page: its name, where it is published, and
// where a static copy is written on every change.
type Status struct {
	Name string `yaml:"name"`
	URL  string `yaml:"url"`
	// ExportDir, when set, is re-rendered (atomically) on every public
	// change, for syncing to hosting outside the infrastructure it reports on.
	ExportDir string `yaml:"export_dir"`
	// SlackChannel and DiscordChannel receive every public update.
	SlackChannel   string `yaml:"slack_channel"`
	DiscordChannel string `yaml:"discord_channel"`
	// Subscribers receive every public update as signed JSON.
	Subscribers []Subscriber `yaml:"subscribers"`
}

// Subscriber is a webhook that receives public updates, signed with
// HMAC-SHA256 of the body in X-Klaxon-Signature.
type Subscriber struct {
	URL    string `yaml:"url"`
	Secret string `yaml:"secret"`
}

// PublicComponent is how a service shows on the status page.
type PublicComponent struct {
	Name  string `yaml:"name"`
	Group string `yaml:"group"`
}

// PublicName is the status page's name ("Status" when unset).
func (c *Config) PublicName() string {
	if c.Status.Name != "" {
		return c.Status.Name
	}
	return "Status"
}

// Heartbeat is a dead man's switch: a job pings /heartbeat/{name} every
// Every, or around each time of Cron, within Grace; a missed ping opens an
// incident on Service.
type Heartbeat struct {
	Name    string        `yaml:"name"`
	Service string        `yaml:"service"`
	Token   string        `yaml:"token"`
	Every   time.Duration `yaml:"every"`
	Cron    string        `yaml:"cron"`
	Grace   time.Duration `yaml:"grace"`
}

// PublicUpdates lists who may post public updates: People, and with
// Responders also whoever was paged for or acted on the incident. Both
// empty: any configured person.
type PublicUpdates struct {
	Responders bool     `yaml:"responders"`
	People     []string `yaml:"people"`
}

// Person is someone who can be paged.
type Person struct {
	Name         string        `yaml:"name"`
	Timezone     string        `yaml:"timezone"`
	Phone        string        `yaml:"phone"`
	ContactRules []ContactRule `yaml:"contact_rules"`
	RepeatEvery  time.Duration `yaml:"repeat_every"`
	WorkingHours *WorkingHours `yaml:"working_hours"`
	// SlackID and DiscordID are the person's chat user ids: only people
	// with one can act from that chat.
	SlackID   string `yaml:"slack_id"`
	DiscordID string `yaml:"discord_id"`
	// CallLimit caps calls to the person across incidents; calls over it
	// are bundled into one SMS.
	CallLimit *CallLimit `yaml:"call_limit"`
}

// CallLimit is at most Max calls in any Window.
type CallLimit struct {
	Max    int           `yaml:"max"`
	Window time.Duration `yaml:"window"`
}

// WorkingHours are when a person is awake to answer, in their timezone.
type WorkingHours struct {
	From string   `yaml:"from"` // HH:MM
	To   string   `yaml:"to"`   // HH:MM; before From wraps past midnight
	Days []string `yaml:"days"` // weekdays; empty: every day
}

// ContactRule pages a person on Channel After their paging started.
type ContactRule struct {
	Channel string        `yaml:"channel"`
	After   time.Duration `yaml:"after"`
}

// Schedule is an on-call rotation: a schedule:NAME target pages whoever it
// puts on call when the level is paged. Times of day, dates and shifts are
// kept as written; Parse checks them and builds an oncall.Schedule.
type Schedule struct {
	Name string `yaml:"name"`
	// Timezone is the IANA zone handoffs and restriction windows are local
	// times in.
	Timezone string `yaml:"timezone"`
	// Layers: later layers win over earlier ones.
	Layers []Layer `yaml:"layers"`
	// Overrides win over all layers; the latest listed wins among them.
	Overrides []Override `yaml:"overrides"`
	// Notify says what people are told about their shifts.
	Notify *Notify `yaml:"notify"`
}

// Notify configures a schedule's notices, sent by SMS.
type Notify struct {
	// ShiftStart tells the incoming person when their shift starts.
	ShiftStart bool `yaml:"shift_start"`
	// Digest is a cron expression ("CRON_TZ=Europe/Stockholm 0 9 * * MON";
	// without CRON_TZ, in the schedule's timezone) at which everyone with
	// shifts in the coming week gets the list of them.
	Digest string `yaml:"digest"`
}

// Layer is one rotation of Participants (person names, in order).
type Layer struct {
	Name         string   `yaml:"name"`
	Participants []string `yaml:"participants"`
	// Shift is "<N>h", "<N>d" or "<N>w". Not a Go duration: days and weeks
	// keep the local handoff time across DST, so they are not 24h or 168h.
	Shift string `yaml:"shift"`
	// Handoff is the local time of day shifts change, "HH:MM".
	Handoff string `yaml:"handoff"`
	// Weekday is the handoff day of weekly shifts ("monday", "mon"); empty
	// means Start's weekday.
	Weekday string `yaml:"weekday"`
	// Start is the local date "YYYY-MM-DD" of the first shift.
	Start string `yaml:"start"`
	// Restrictions, when present, limit the layer to these windows.
	Restrictions []Restriction `yaml:"restrictions"`
}

// Restriction is a local window [From, To): daily ("09:00" to "17:00") or,
// with weekdays on both ends, weekly ("fri 17:00" to "mon 09:00"). Either
// may wrap past midnight or the end of the week.
type Restriction struct {
	From string `yaml:"from"`
	To   string `yaml:"to"`
}

// Override puts Person on call over [From, To), RFC 3339 instants.
type Override struct {
	Person string `yaml:"person"`
	From   string `yaml:"from"`
	To     string `yaml:"to"`
}

// Policy is an escalation policy: levels, repeated Repeat more times.
type Policy struct {
	Name   string  `yaml:"name"`
	Repeat int     `yaml:"repeat"`
	Levels []Level `yaml:"levels"`
}

// Level pages Targets ("alice", "person:alice" or "schedule:primary"), then
// waits Delay before the next level is paged too.
// Team is people and schedules paged together: a level's target
// team:NAME pages every member, each by their own contact rules.
type Team struct {
	Name string `yaml:"name"`
	// Members are written as a level's targets are: a person's name,
	// person:NAME or schedule:NAME.
	Members []string `yaml:"members"`
}

type Level struct {
	Targets     []string      `yaml:"targets"`
	Delay       time.Duration `yaml:"delay"`
	PreferAwake bool          `yaml:"prefer_awake"`
	WakeAfter   time.Duration `yaml:"wake_after"`
	WakeAtOnce  string        `yaml:"wake_at_once"`
}

// Service is something that can break.
type Service struct {
	Name             string            `yaml:"name"`
	Policy           string            `yaml:"policy"`
	PolicyByPriority map[string]string `yaml:"policy_by_priority"`
	SeverityPriority map[string]string `yaml:"severity_priority"`
	DefaultPriority  string            `yaml:"default_priority"`
	GroupBy          []string          `yaml:"group_by"`
	Resolve          string            `yaml:"resolve"`
	// Public makes the service a component of the status page.
	Public *PublicComponent `yaml:"public"`
	// SlackChannel and DiscordChannel override the chats' default channel
	// for this service's incidents.
	SlackChannel   string `yaml:"slack_channel"`
	DiscordChannel string `yaml:"discord_channel"`
	// ReopenWindow is a pointer because an explicit 0 (never reopen) differs
	// from absent (the default); Parse always sets it.
	ReopenWindow *time.Duration `yaml:"reopen_window"`
	// Flap damps an incident that keeps resolving and firing again.
	Flap *Flap `yaml:"flap"`
	// DependsOn lists services this one needs: while one has an open
	// incident, this one's new alerts join it instead of paging anew.
	DependsOn []string `yaml:"depends_on"`
	// Correlate: false opts the service out of joining its dependencies'
	// incidents.
	Correlate *bool `yaml:"correlate"`
	// SplitAfter is how long the alerts of services depending on this one
	// may go on firing in its incident after its own alerts resolved,
	// before they move to incidents of their own (default 10m).
	SplitAfter time.Duration `yaml:"split_after"`
}

// Flap: after Count reopens within Window the incident is flapping; its
// pages are held and its resolution waits for Cooldown.
type Flap struct {
	Count    int           `yaml:"count"`
	Window   time.Duration `yaml:"window"`
	Cooldown time.Duration `yaml:"cooldown"`
}

// Integration is how one monitor sends alerts to one service, at
// /hooks/{Name}.
type Integration struct {
	Name    string `yaml:"name"`
	Service string `yaml:"service"`
	Format  string `yaml:"format"`
	Token   string `yaml:"token"`
	// Fields maps a generic integration's JSON to alerts.
	Fields *GenericFields `yaml:"fields"`
}

// Load reads and parses the config file at path; see Parse.
func Load(path string, lookupEnv func(string) (string, bool)) (*Config, error) {
	return Checks{}.Load(path, lookupEnv)
}

// Load is Load with the adapters' checks.
func (ch Checks) Load(path string, lookupEnv func(string) (string, bool)) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := ch.Parse(data, lookupEnv)
	if err != nil {
		var ps Problems
		if errors.As(err, &ps) {
			return nil, fmt.Errorf("invalid config %s:\n%w", path, err)
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes, expands, defaults and validates a config. lookupEnv
// resolves ${VAR} references (nil means an empty environment). A YAML
// syntax error is returned wrapped; anything else wrong is returned as
// Problems, all of them at once. What only the adapters can judge (see
// Checks) is not checked: serve and check parse with Checks.Parse.
func Parse(data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	return Checks{}.Parse(data, lookupEnv)
}

// Parse is Parse with the adapters' checks.
func (ch Checks) Parse(data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	if lookupEnv == nil {
		lookupEnv = func(string) (string, bool) { return "", false }
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Problems{{Message: "the config is empty"}}
		}
		return nil, fmt.Errorf("parse yaml: %w", err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, Problems{{Message: fmt.Sprintf("only one YAML document is allowed; another starts at line %d", extra.Line)}}
	case !errors.Is(err, io.EOF):
		return nil, fmt.Errorf("parse yaml: %w", err)
	}

	c := &Config{
		Listen:       DefaultListen,
		Database:     DefaultDatabase,
		LogLevel:     DefaultLogLevel,
		MaxBodyBytes: DefaultMaxBodyBytes,
	}
	d := newDecoder(lookupEnv)
	d.decode(&doc, c)
	v := &validator{bad: d.bad, checks: ch}
	c.catalog = v.validate(c)
	if ps := append(d.problems, v.problems...); len(ps) > 0 {
		return nil, ps
	}
	if err := c.catalog.Validate(); err != nil {
		// Unreachable unless validate misses a rule the core checks.
		return nil, Problems{{Message: fmt.Sprintf("catalog: %v", err)}}
	}
	return c, nil
}

// Catalog is the catalog built from the validated config. It is shared:
// treat it as read-only.
func (c *Config) Catalog() *escalation.Catalog { return c.catalog }

// TwilioEnabled reports whether Twilio is configured; Parse has checked that
// a configured Twilio has all of account_sid, auth_token and from.
func (c *Config) TwilioEnabled() bool { return c.Twilio.AccountSID != "" }

// SetListen overrides the listen address (the --listen flag) and, when
// public_url was not set in the file, derives it again from the new address.
func (c *Config) SetListen(addr string) error {
	if err := checkListen(addr); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	c.Listen = addr
	if c.publicURLDefaulted {
		c.PublicURL = defaultPublicURL(addr)
	}
	return nil
}

// defaultPublicURL is where a local provider could reach addr; a wildcard
// host is replaced by localhost because a URL needs a concrete host.
func defaultPublicURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
