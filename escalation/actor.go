package escalation

// Via names the path an action or alert arrived by.
const (
	ViaAPI     = "api"
	ViaSMS     = "sms"
	ViaVoice   = "voice"
	ViaMonitor = "monitor"
)

// Actor is who did something and how: a configured person (or, for
// monitors and API tokens, the integration or token name) and the channel.
type Actor struct {
	Name string `json:"name"`
	Via  string `json:"via"`
}

// IngestResult says what one delivery of alerts did.
type IngestResult struct {
	// Incidents lists the incidents the alerts landed in, in alert order
	// (0 for an alert that was ignored).
	Incidents []int64 `json:"incidents"`
	Created   int     `json:"created"`
	Reopened  int     `json:"reopened"`
	Updated   int     `json:"updated"`
	Unchanged int     `json:"unchanged"`
	Ignored   int     `json:"ignored"`
	// Queued counts alerts accepted durably into the intake journal, to be
	// applied right after the answer; Incidents does not list them.
	Queued int `json:"queued,omitempty"`
}
