package ingest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// Webhooks as Alertmanager sends them take the scanner, and it reads them
// as encoding/json does; the fuzz test covers every other body.
func TestAlertmanagerWebhooksTakeTheScanner(t *testing.T) {
	for _, file := range fixtures(t, "alertmanager_*.json") {
		body := readFile(t, file)
		var fast, std amMessage
		if !readAlertmanager(body, &fast) {
			t.Errorf("%s: left the scanner", file)
			continue
		}
		if err := json.Unmarshal(body, &std); err != nil || !reflect.DeepEqual(fast, std) {
			t.Errorf("%s: read %+v; encoding/json %+v (%v)", file, fast, std, err)
		}
	}
}

// offScannerPath are bodies encoding/json reads in its own way, or
// refuses, so the scanner hands them to it: a field name in other case or
// with a letter it folds, a null, a number an int refuses, a repeated
// name, a lone surrogate, a second value, invalid UTF-8, a control
// character in a string, deep nesting, and broken syntax of every kind.
var offScannerPath = []string{
	`{"version":"4","ALERTS":[]}`,
	`{"version":"4","alerts":[{"\u212aey":"x","fingerprint":"f"}]}`,
	`{"version":"4","alerts":[{"fingerprint":"f","labels":null}]}`,
	`{"version":null,"alerts":[]}`,
	`{"truncatedAlerts":1.0}`, `{"truncatedAlerts":1e3}`, `{"truncatedAlerts":99999999999999999999}`,
	`{"version":"4","version":"5"}`,
	`{"alerts":[{"labels":{"a":"b","a":"c"}}]}`,
	`{"alerts":[{"labels":{"a":"\ud800"}}]}`,
	`{"version":"4"} {}`, `null`, `{"alerts":[null]}`,
	"{\"version\":\"4\xff\"}", "{\"version\":\"a\tb\"}", `{"version":"4\x"}`, `{"version":"4\u12"}`,
	`{"x":` + strings.Repeat("[", maxSkipDepth+2) + strings.Repeat("]", maxSkipDepth+2) + `}`,
	`{"version":"4",}`, `{"alerts":[{},]}`, `{"x":[1,]}`, `{"x":[,1]}`, `{"x" 1}`, `{"x":1 "y":2}`,
	`{"x":01}`, `{"x":1.}`, `{"x":-}`, `{"x":1e}`, `{"x":.5}`, `{"x":+1}`, `{"x":0x1}`,
	`{"x":tru}`, `{"x":nul}`, `{"x":True}`, `{"version":"4`, `{"version":"4\"}`, `{"version":"4"`,
	"{\"version\":\"4\"}\x00", `{'version':'4'}`, "\ufeff{}",
}

// onScannerPath are bodies the scanner reads itself, all the way: JSON's
// whitespace anywhere, escapes, UTF-8, and skipped values of every kind.
var onScannerPath = []string{
	" \t\r\n{ \"version\" : \"4\" , \"alerts\" : [ { \"labels\" : { \"a\" : \"b\" } } , { } ] } \n",
	`{"v\u0065rsion":"4","groupKey":"{}:{alertname=\"X\"}\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}`,
	`{"alerts":[{"annotations":{"summary":"Ölçüm — 断线 🔥","description":"a\"b"}}]}`,
	`{"truncatedAlerts":-0,"x":[true,false,null,0,-1,1.5,-0.25e+10,2E-3,"s",{},[],{"y":[{"z":null}]}]}`,
	`{"truncatedAlerts":9223372036854775807,"commonLabels":{"a":"b","a":"c"},"alerts":[]}`,
	`{"alerts":[{"status":"firing","generatorURL":"http://h/g?x=1\u0026y=2","fingerprint":"0123456789abcdef01234"}]}`,
	`{}`,
}

func TestTheScannerReadsWhatItCanAndAsEncodingJSONDoes(t *testing.T) {
	for _, body := range onScannerPath {
		var fast, std amMessage
		if !readAlertmanager([]byte(body), &fast) {
			t.Errorf("%s: left the scanner", body)
			continue
		}
		if err := json.Unmarshal([]byte(body), &std); err != nil || !reflect.DeepEqual(fast, std) {
			t.Errorf("%s: read %+v; encoding/json %+v (%v)", body, fast, std, err)
		}
	}
	for _, body := range offScannerPath {
		var got, std amMessage
		err, errStd := decodeAlertmanager([]byte(body), &got), json.Unmarshal([]byte(body), &std)
		if fmt.Sprint(err) != fmt.Sprint(errStd) || errStd == nil && !reflect.DeepEqual(got, std) {
			t.Errorf("%s: %+v, %v; encoding/json %+v, %v", body, got, err, std, errStd)
		}
	}
}

func TestTheScannerLeavesWhatEncodingJSONReadsItsOwnWay(t *testing.T) {
	for _, body := range offScannerPath {
		var m amMessage
		if readAlertmanager([]byte(body), &m) {
			t.Errorf("%s: read as %+v; want it left to encoding/json", body, m)
		}
	}
}
