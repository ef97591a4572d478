package status

import (
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
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
