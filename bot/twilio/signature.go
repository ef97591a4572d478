package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// ValidSignature reports whether signature is Twilio's X-Twilio-Signature
// for a form POST of form to fullURL: base64(HMAC-SHA1(authToken, fullURL +
// every param sorted by name, each as name+value)).
//
// As twilio-python does, a repeated name contributes its distinct values in
// sorted order. Because Twilio is inconsistent about default ports, the URL
// with the scheme's default port (:443, :80) added or removed is accepted
// too. An empty auth token never validates: anyone could sign with it.
func ValidSignature(authToken, fullURL string, form url.Values, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	params := signedParams(form)
	for _, u := range urlVariants(fullURL) {
		if hmac.Equal([]byte(computeSignature(authToken, u, params)), []byte(signature)) {
			return true
		}
	}
	return false
}

// signedParams is the part of the signed data that follows the URL.
func signedParams(form url.Values) string {
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(form)) {
		values := slices.Clone(form[name])
		slices.Sort(values)
		for _, v := range slices.Compact(values) {
			b.WriteString(name)
			b.WriteString(v)
		}
	}
	return b.String()
}

func computeSignature(authToken, fullURL, params string) string {
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(fullURL))
	mac.Write([]byte(params))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// urlVariants is fullURL itself and, for http(s), the same URL with the
// default port added or removed. It edits the string rather than
// re-serialising a parsed URL, so the path and query stay byte-for-byte what
// Twilio signed.
func urlVariants(fullURL string) []string {
	variants := []string{fullURL}
	scheme, rest, ok := strings.Cut(fullURL, "://")
	if !ok {
		return variants
	}
	var port string
	switch strings.ToLower(scheme) {
	case "https":
		port = "443"
	case "http":
		port = "80"
	default:
		return variants
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	host, tail := rest[:end], rest[end:]
	prefix := scheme + "://"
	// A colon after the last "]" (IPv6 literal) and "@" (userinfo) starts
	// the port.
	hostStart := max(strings.LastIndex(host, "]"), strings.LastIndex(host, "@"))
	if i := strings.LastIndex(host, ":"); i > hostStart {
		if host[i+1:] == port {
			variants = append(variants, prefix+host[:i]+tail)
		}
		return variants
	}
	if host == "" {
		return variants
	}
	return append(variants, prefix+host+":"+port+tail)
}
