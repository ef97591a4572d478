package scenario

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/bot/twilio"
	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/escalation/escalationtest"
	"github.com/klaxonhq/klaxon/ingest"
	"github.com/klaxonhq/klaxon/store"
)

const (
	twilioSID   = "AC00000000000000000000000000000001"
	twilioToken = "twilio-auth-token-for-tests"
	publicURL   = "https://klaxon.example.com"
)

// fakeTwilio speaks Twilio's REST API: form posts with Basic auth, 201 with
// the created resource.
type fakeTwilio struct {
	mu    sync.Mutex
	calls []url.Values // every Messages.json and Calls.json request
	paths []string
}

func (f *fakeTwilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || user != twilioSID || pass != twilioToken {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"code":20003,"message":"Authenticate","status":401}`)
		return
	}
	if err := r.ParseForm(); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.calls = append(f.calls, r.PostForm)
	f.paths = append(f.paths, r.URL.Path)
	n := len(f.calls)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"sid":"SM%032d","status":"queued"}`, n)
}

func (f *fakeTwilio) requests() ([]string, []url.Values) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.paths), slices.Clone(f.calls)
}

// sign computes X-Twilio-Signature as Twilio does: HMAC-SHA1 over the URL
// and the sorted POST parameters.
func sign(fullURL string, form url.Values) string {
	mac := hmac.New(sha1.New, []byte(twilioToken))
	io.WriteString(mac, fullURL)
	for _, k := range slices.Sorted(maps.Keys(form)) {
		for _, v := range form[k] {
			io.WriteString(mac, k+v)
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// A night page through Twilio: the SMS and the call go out over Twilio's
// wire format; bikram's sleepy "a1" reply, signed by Twilio, acknowledges;
// a forged reply is refused and changes nothing.
func TestTwilioPagesAndSignedReplies(t *testing.T) {
	tw := &fakeTwilio{}
	api := httptest.NewServer(tw)
	defer api.Close()

	cfg, err := config.Parse([]byte(team), nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := escalationtest.NewClock(mustTime(t, "2025-03-13T16:00:00Z"))
	db, err := store.Open(filepath.Join(t.TempDir(), "k.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	client := twilio.NewClient(twilio.Options{AccountSID: twilioSID, AuthToken: twilioToken,
		From: "+15005550006", BaseURL: api.URL, PublicURL: publicURL})
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	eng, err := escalation.New(escalation.Options{Store: db, Catalog: cfg.Catalog(), Clock: clock, Logger: log,
		Pagers: map[escalation.Channel]escalation.Pager{escalation.ChannelSMS: client, escalation.ChannelVoice: client}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	ingest.NewHandler(cfg.Catalog().Integrations, eng, log, 0).Register(mux)
	twilio.NewWebhooks(twilioToken, publicURL, eng, cfg.Catalog(), log).Register(mux)
	ctx := context.Background()
	runDue := func() {
		t.Helper()
		if err := eng.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	post := func(path string, form url.Values, signature string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if signature != "" {
			req.Header.Set("X-Twilio-Signature", signature)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		runDue()
		return rec
	}

	req := httptest.NewRequest(http.MethodPost, "/hooks/prometheus",
		strings.NewReader(string(alertmanager("firing", "ProbeHTTP502", "a1b2c3d4e5f60718", "error", "shop answers 502"))))
	req.Header.Set("Authorization", "Bearer prometheus-token-0123456789")
	mux.ServeHTTP(httptest.NewRecorder(), req)
	runDue()
	clock.Advance(2 * time.Minute)
	runDue()

	paths, calls := tw.requests()
	if len(calls) != 2 {
		t.Fatalf("twilio got %d requests, want the SMS and the call", len(calls))
	}
	if paths[0] != "/2010-04-01/Accounts/"+twilioSID+"/Messages.json" || calls[0].Get("To") != "+61255501001" ||
		calls[0].Get("From") != "+15005550006" || !strings.Contains(calls[0].Get("Body"), "Reply A1 to ack") {
		t.Fatalf("SMS request: %s %v", paths[0], calls[0])
	}
	if paths[1] != "/2010-04-01/Accounts/"+twilioSID+"/Calls.json" || calls[1].Get("To") != "+61255501001" {
		t.Fatalf("call request: %s %v", paths[1], calls[1])
	}
	var twiml struct {
		Gather struct {
			NumDigits string `xml:"numDigits,attr"`
			Action    string `xml:"action,attr"`
		}
	}
	if err := xml.Unmarshal([]byte(calls[1].Get("Twiml")), &twiml); err != nil {
		t.Fatalf("call TwiML: %v\n%s", err, calls[1].Get("Twiml"))
	}
	if twiml.Gather.NumDigits != "1" || !strings.HasPrefix(twiml.Gather.Action, publicURL+"/twilio/voice/gather?page=") {
		t.Fatalf("gather: %+v", twiml.Gather)
	}

	reply := url.Values{"From": {"+61255501001"}, "To": {"+15005550006"}, "Body": {"a1"}, "MessageSid": {"SM1"}}
	forged := post("/twilio/sms", reply, sign(publicURL+"/twilio/sms", url.Values{"Body": {"a1"}}))
	if forged.Code != http.StatusForbidden {
		t.Fatalf("forged reply: %d %s", forged.Code, forged.Body)
	}
	if inc, _, _ := eng.Incident(ctx, 1); inc.Status != escalation.StatusTriggered {
		t.Fatalf("a forged reply changed the incident to %s", inc.Status)
	}

	rec := post("/twilio/sms", reply, sign(publicURL+"/twilio/sms", reply))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Acknowledged #1") {
		t.Fatalf("signed reply: %d %s", rec.Code, rec.Body)
	}
	inc, events, _ := eng.Incident(ctx, 1)
	if inc.Status != escalation.StatusAcknowledged || inc.AcknowledgedBy != "bikram" {
		t.Fatalf("after the reply: %s by %q", inc.Status, inc.AcknowledgedBy)
	}
	for _, ev := range events {
		if ev.Kind == escalation.EventAcknowledged && ev.Via != escalation.ViaSMS {
			t.Fatalf("ack recorded via %q", ev.Via)
		}
	}
	clock.Advance(time.Hour)
	runDue()
	if _, calls := tw.requests(); len(calls) != 2 {
		t.Fatalf("%d Twilio requests after the ack", len(calls)-2)
	}

	// The keypress path: a second incident, answered with 2 on the call.
	req = httptest.NewRequest(http.MethodPost, "/hooks/prometheus",
		strings.NewReader(string(alertmanager("firing", "Disk", "00000000000000d1", "error", "disk full"))))
	req.Header.Set("Authorization", "Bearer prometheus-token-0123456789")
	mux.ServeHTTP(httptest.NewRecorder(), req)
	runDue()
	clock.Advance(2 * time.Minute)
	runDue()
	_, calls = tw.requests()
	if err := xml.Unmarshal([]byte(calls[len(calls)-1].Get("Twiml")), &twiml); err != nil {
		t.Fatal(err)
	}
	action, _ := url.Parse(twiml.Gather.Action)
	press := url.Values{"Digits": {"2"}, "CallSid": {"CA1"}, "CallStatus": {"in-progress"}, "To": {"+61255501001"}}
	rec = post(action.RequestURI(), press, sign(twiml.Gather.Action, press))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "resolved") {
		t.Fatalf("keypress: %d %s", rec.Code, rec.Body)
	}
	if inc, _, _ := eng.Incident(ctx, 2); inc.Status != escalation.StatusResolved || inc.ResolvedBy != "bikram" {
		t.Fatalf("after pressing 2: %s by %q", inc.Status, inc.ResolvedBy)
	}
}
