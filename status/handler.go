package status

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"
)

// Source gives the status page what it shows now.
type Source interface {
	Snapshot(ctx context.Context) (Snapshot, error)
}

// servedLinks are the renderings' places relative to /status.
func servedLinks() links {
	return links{JSON: "status.json", Feed: "status/feed.atom", Summary: "api/v2/summary.json"}
}

// maxAge is how long browsers and CDNs may reuse a rendering: short enough
// that an update shows within a minute, long enough that a CDN in front
// absorbs everyone reloading the page during an outage.
const maxAge = 30 * time.Second

// Handler serves the status page: GET /status, /status.json,
// /status/feed.atom and /api/v2/summary.json.
type Handler struct {
	src Source
	log *slog.Logger
	r   *renderer
}

// NewHandler serves the snapshots of src; log may be nil.
func NewHandler(src Source, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{src: src, log: log, r: newRenderer()}
}

// Register adds the status page's routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	const htmlType, jsonType = "text/html; charset=utf-8", "application/json; charset=utf-8"
	page := http.Header{"Content-Security-Policy": {h.r.csp}}
	// The data is public; widgets on other sites may read it.
	data := http.Header{"Access-Control-Allow-Origin": {"*"}}
	mux.Handle("GET /status", h.route(htmlType, page, func(m *model) ([]byte, error) {
		return h.r.html(m, servedLinks())
	}))
	mux.Handle("GET /status.json", h.route(jsonType, data, (*model).json))
	mux.Handle("GET /status/feed.atom", h.route("application/atom+xml; charset=utf-8", data, func(m *model) ([]byte, error) {
		return m.atom(servedLinks().Feed)
	}))
	mux.Handle("GET /api/v2/summary.json", h.route(jsonType, data, (*model).statuspage))
}

// route serves one rendering of the current snapshot, with extra headers.
func (h *Handler) route(contentType string, extra http.Header, render func(*model) ([]byte, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := h.current(r.Context(), render)
		if err != nil {
			h.log.ErrorContext(r.Context(), "status page unavailable", "path", r.URL.Path, "err", err)
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, "The status page is unavailable right now; please try again shortly.", http.StatusServiceUnavailable)
			return
		}
		hd := w.Header()
		for k, v := range extra {
			hd[k] = slices.Clone(v)
		}
		hd.Set("Content-Type", contentType)
		hd.Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(maxAge.Seconds())))
		hd.Set("X-Content-Type-Options", "nosniff")
		sum := sha256.Sum256(body)
		hd.Set("ETag", `"`+base64.RawURLEncoding.EncodeToString(sum[:16])+`"`)
		// ServeContent answers conditional requests (304) and HEAD.
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	})
}

// current renders the source's snapshot as it is now.
func (h *Handler) current(ctx context.Context, render func(*model) ([]byte, error)) ([]byte, error) {
	snap, err := h.src.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("status page: taking a snapshot: %w", err)
	}
	m, err := newModel(snap)
	if err != nil {
		return nil, err
	}
	return render(m)
}
