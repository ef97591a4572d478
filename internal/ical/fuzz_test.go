package ical

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// FuzzWrite checks that Write never panics, writes nothing when it fails,
// and otherwise writes the same valid feed every time, whose values read
// back as what was given, less what a content line cannot hold.
func FuzzWrite(f *testing.F) {
	f.Add("payments", "payments/2026-03-09@klaxon", "On call: Zoë", "a;b,c\\d\r\ne", "payments", "https://klaxon.example.com/s?a=1,2", int64(1773043200), int64(604800), int64(3600))
	f.Add(strings.Repeat("é", 80), strings.Repeat("🚨", 40), strings.Repeat("€,", 50), strings.Repeat("\\;", 60), "\t\x00\x7f\u0085", "\r\n", int64(0), int64(1), int64(0))
	f.Add("\xff\xfe", "\xe2\x82", "\r\r\n\n", "", "", "", int64(-62135596800), int64(86400), int64(86400))
	f.Add("", "", "", "", "", "", int64(253402300799), int64(1), int64(-1))
	f.Fuzz(func(t *testing.T, name, uid, summary, desc, loc, url string, start, length, refresh int64) {
		from := time.Unix(start, 0)
		cal := Calendar{
			Name:        name,
			Description: desc,
			Refresh:     time.Duration(refresh) * time.Second,
			Events: []Event{
				{UID: uid, Summary: summary, Description: desc, Location: loc, URL: url, Start: from, End: from.Add(time.Duration(length) * time.Second)},
				{UID: uid + "/next", Summary: name, Start: from, End: from.Add(time.Hour)},
			},
		}
		var buf bytes.Buffer
		if err := Write(&buf, cal, stamp); err != nil {
			if buf.Len() > 0 {
				t.Fatalf("failed (%v) after writing %d octets", err, buf.Len())
			}
			return
		}
		out := buf.Bytes()
		feed, err := parseFeed(out)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if err := checkFeed(feed); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		var again bytes.Buffer
		if err := Write(&again, cal, stamp); err != nil || !bytes.Equal(again.Bytes(), out) {
			t.Fatalf("a second Write differs (%v)", err)
		}

		readText(t, "X-WR-CALNAME", feed.props, name)
		readText(t, "X-WR-CALDESC", feed.props, desc)
		if len(feed.events) != 2 {
			t.Fatalf("%d events, want 2", len(feed.events))
		}
		for _, e := range feed.events {
			got, _ := unescapeText(e["UID"].value)
			switch got {
			case wantText(uid):
				readText(t, "SUMMARY", e, summary)
				readText(t, "DESCRIPTION", e, desc)
				readText(t, "LOCATION", e, loc)
				if got, want := e["URL"].value, wantURI(url); got != want {
					t.Errorf("URL reads %q, want %q", got, want)
				}
			case wantText(uid + "/next"):
				readText(t, "SUMMARY", e, name)
			default:
				t.Errorf("unexpected UID %q", got)
			}
		}
	})
}

// readText checks that property name of props reads back as given; an
// absent property reads as "".
func readText(t *testing.T, name string, props map[string]prop, given string) {
	t.Helper()
	got, err := unescapeText(props[name].value)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if want := wantText(given); got != want {
		t.Errorf("%s reads %q, want %q (given %q)", name, got, want, given)
	}
}

// wantText is what a TEXT value should read as: each invalid byte as
// U+FFFD, CRLF and CR as LF, and no control characters but tab and LF.
func wantText(s string) string {
	u := strings.ReplaceAll(valid(s), "\r\n", "\n")
	u = strings.ReplaceAll(u, "\r", "\n")
	return strings.Map(func(r rune) rune {
		if r != '\n' && r != '\t' && unicode.IsControl(r) {
			return -1
		}
		return r
	}, u)
}

// wantURI is what a URI value should read as: no control characters at all.
func wantURI(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, valid(s))
}

// valid replaces each invalid byte of s with U+FFFD.
func valid(s string) string {
	var runes []rune
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		runes = append(runes, r)
		s = s[n:]
	}
	return string(runes)
}
