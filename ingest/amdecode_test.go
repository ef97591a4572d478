package ingest

import (
	"encoding/json"
	"reflect"
	"testing"
)

// Webhooks as Alertmanager sends them take the token reader, and it reads
// them as encoding/json does; the fuzz test covers every other body.
func TestAlertmanagerWebhooksTakeTheTokenReader(t *testing.T) {
	for _, file := range fixtures(t, "alertmanager_*.json") {
		body := readFile(t, file)
		var fast, std amMessage
		if !readAlertmanager(body, &fast) {
			t.Errorf("%s: left the token reader", file)
			continue
		}
		if err := json.Unmarshal(body, &std); err != nil || !reflect.DeepEqual(fast, std) {
			t.Errorf("%s: read %+v; encoding/json %+v (%v)", file, fast, std, err)
		}
	}
}

// offTokenPath are bodies encoding/json reads in its own way, so the token
// reader hands them to it: a field name in other case or with a letter it
// folds, a null, a number an int refuses, a repeated name, a lone
// surrogate, a second value.
var offTokenPath = []string{
	`{"version":"4","ALERTS":[]}`,
	`{"version":"4","alerts":[{"\u212aey":"x","fingerprint":"f"}]}`,
	`{"version":"4","alerts":[{"fingerprint":"f","labels":null}]}`,
	`{"version":null,"alerts":[]}`,
	`{"truncatedAlerts":1.0}`, `{"truncatedAlerts":1e3}`, `{"truncatedAlerts":99999999999999999999}`,
	`{"version":"4","version":"5"}`,
	`{"alerts":[{"labels":{"a":"b","a":"c"}}]}`,
	`{"alerts":[{"labels":{"a":"\ud800"}}]}`,
	`{"version":"4"} {}`, `null`, `{"alerts":[null]}`,
}

func TestTheTokenReaderLeavesWhatEncodingJSONReadsItsOwnWay(t *testing.T) {
	for _, body := range offTokenPath {
		var m amMessage
		if readAlertmanager([]byte(body), &m) {
			t.Errorf("%s: read as %+v; want it left to encoding/json", body, m)
		}
	}
}
