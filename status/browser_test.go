package status

import (
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

var chromium = flag.String("chromium", "/usr/bin/chromium", "the Chromium binary the browser tests drive")

// The status page as people read it: exported and opened from disk, and
// served by Klaxon, on a phone in India.

func TestBrowserReadsTheExportedPage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "public")
	if err := Export(dir, phoneSnapshot()); err != nil {
		t.Fatal(err)
	}
	page := (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(dir, "index.html"))}).String()
	readOnAPhone(t, newBrowser(t), page)
}

func TestBrowserReadsTheServedPage(t *testing.T) {
	mux := http.NewServeMux()
	NewHandler(&source{snap: phoneSnapshot()}, nil).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	readOnAPhone(t, newBrowser(t), srv.URL+"/status")
}

func TestBrowserReadsThePageWithoutJavaScript(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "public")
	if err := Export(dir, phoneSnapshot()); err != nil {
		t.Fatal(err)
	}
	tab := newTab(t, newBrowser(t))
	page := (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(dir, "index.html"))}).String()
	err := chromedp.Do(tab,
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
			return err
		}),
		chromedp.Navigate(page),
		chromedp.WaitVisible(chromedp.CSS("#incident-42 li p")),
	)
	if err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(tab, chromedp.Evaluate[facts](factsJS))
	if err != nil {
		t.Fatal(err)
	}
	if got.Banner != "Partial outage" || got.Title != "IPv4 traffic failing to reach some services" ||
		got.Time != "2025-07-09 12:48 UTC" || got.TimeTitle != "" {
		t.Errorf("without JavaScript the page reads %+v; want the incident, its times in UTC", got)
	}
}

// phoneSnapshot is the IPv4 outage with an update that pastes a long link,
// as responders do, which must not widen the page on a phone.
func phoneSnapshot() Snapshot {
	snap := ipv4Outage()
	u := &snap.Incidents[1].Updates[0]
	u.Message += " Details: https://provider.example.net/network/incidents/2025-07-09/upstream-ipv4-routing-instability-eu-west-1"
	return snap
}

// facts are what a reader of the page sees, read in the browser.
type facts struct {
	Banner      string `json:"banner"`
	Title       string `json:"title"`
	Update      string `json:"update"`
	Time        string `json:"time"`
	TimeTitle   string `json:"timeTitle"`
	Viewport    int    `json:"viewport"`
	ScrollWidth int    `json:"scrollWidth"`
	DaysShown   int    `json:"daysShown"`
	BannerEdge  string `json:"bannerEdge"`
}

const factsJS = `(() => {
	const q = s => document.querySelector(s);
	const time = q("#incident-42 li time");
	return {
		banner: q(".banner b").innerText,
		title: q("#incident-42 h3").innerText,
		update: q("#incident-42 li p").innerText,
		time: time.innerText,
		timeTitle: time.title,
		viewport: window.innerWidth,
		scrollWidth: document.documentElement.scrollWidth,
		daysShown: [...q(".days").children].filter(d => d.offsetWidth > 0).length,
		bannerEdge: getComputedStyle(q(".banner")).borderLeftWidth,
	};
})()`

func readOnAPhone(t *testing.T, browser context.Context, page string) {
	t.Helper()
	tab := newTab(t, browser)
	consoleErrors := watchConsole(t, tab)
	err := chromedp.Do(tab,
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			if _, err := cdp.Call(ctx, t, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Kolkata"}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, t, emulation.SetLocaleOverride, emulation.SetLocaleOverrideParams{Locale: "en_US"})
			return err
		}),
		chromedp.EmulateViewport(375, 812, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(page),
		chromedp.WaitVisible(chromedp.CSS("#incident-42 h3")),
		chromedp.WaitVisible(chromedp.CSS("#incident-42 li p")),
		// The local-time script has run once the first time carries its UTC text as a title.
		chromedp.Poll[chromedp.Void](`document.querySelector("#incident-42 li time").title !== ""`,
			chromedp.WithPollingTimeout(15*time.Second)),
	)
	if err != nil {
		t.Fatalf("reading %s: the incident or its local times never showed: %v", page, err)
	}
	got, err := chromedp.Run(tab, chromedp.Evaluate[facts](factsJS))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s on a phone: %+v", page, got)

	if got.Banner != "Partial outage" {
		t.Errorf("banner %q, want Partial outage", got.Banner)
	}
	if got.Title != "IPv4 traffic failing to reach some services" || !strings.HasPrefix(got.Update, "Our hosting provider's upstream IPv4 routing is unstable.") {
		t.Errorf("incident %q with update %q; want the IPv4 incident and its latest update", got.Title, got.Update)
	}
	// 12:48 UTC is 18:18 in India.
	if local := strings.ReplaceAll(got.Time, "\u202f", " "); local != "Jul 9, 2025, 6:18 PM" || got.TimeTitle != "2025-07-09 12:48 UTC" {
		t.Errorf("the update's time reads %q (title %q); want it in the reader's time, Jul 9, 2025, 6:18 PM", got.Time, got.TimeTitle)
	}
	if got.Viewport != 375 || got.ScrollWidth > got.Viewport {
		t.Errorf("the page is %dpx wide in a %dpx viewport; want no horizontal scroll at 375px", got.ScrollWidth, got.Viewport)
	}
	if got.DaysShown != 30 {
		t.Errorf("a phone shows %d days of history, want the last 30", got.DaysShown)
	}
	if got.BannerEdge != "8px" {
		t.Errorf("the banner's edge is %q: the page's own style did not apply", got.BannerEdge)
	}
	if errs := consoleErrors(); len(errs) > 0 {
		t.Errorf("the page logged errors: %q", errs)
	}
	shot, err := chromedp.Run(tab, chromedp.FullScreenshot(90))
	if err != nil || len(shot) == 0 {
		t.Fatalf("screenshot: %v", err)
	}
	file := filepath.Join(t.TempDir(), "status-phone.jpg")
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of %s: %s (%d bytes)", page, file, len(shot))
}

// watchConsole collects what the page reports as errors: console.error,
// uncaught exceptions, and browser log errors (a blocked script or style).
func watchConsole(t *testing.T, tab context.Context) func() []string {
	t.Helper()
	var mu sync.Mutex
	var errs []string
	err := chromedp.Listen(tab, func(ev any) {
		var msg string
		switch e := ev.(type) {
		case *cdpruntime.EventConsoleAPICalled:
			if e.Type != cdpruntime.ConsoleAPICalledTypeError {
				return
			}
			for _, a := range e.Args {
				msg += string(a.Value) + a.Description + " "
			}
		case *cdpruntime.EventExceptionThrown:
			msg = e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
		case *cdplog.EventEntryAdded:
			if e.Entry.Level != cdplog.EntryLevelError {
				return
			}
			msg = e.Entry.Text
		default:
			return
		}
		mu.Lock()
		errs = append(errs, strings.TrimSpace(msg))
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tab, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, cdplog.Enable, cdp.Empty{})
		return err
	})); err != nil {
		t.Fatal(err)
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), errs...)
	}
}

// newBrowser starts Chromium for one test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath(*chromium)
	if err != nil {
		t.Fatalf("no Chromium at %s (%v): install it with apt-get install -y chromium, or pass -chromium=PATH", *chromium, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		// Chromium's sandbox needs user namespaces, which containers and root lack.
		chromedp.NoSandbox,
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first run starts the browser, which lives as long as its context:
	// no timeout here, only on the tabs.
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return browser
}

// newTab opens a tab whose actions give up after a minute.
func newTab(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	if err := chromedp.Do(tab); err != nil {
		t.Fatal(err)
	}
	tab, cancelTimeout := context.WithTimeout(tab, time.Minute)
	t.Cleanup(cancelTimeout)
	return tab
}
