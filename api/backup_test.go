package api

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// failingBackup writes a first page of the copy, then the disk fails.
type failingBackup struct{}

func (failingBackup) Backup(w io.Writer) (int64, error) {
	n, _ := w.Write(make([]byte, 4096))
	return int64(n), errors.New("read klaxon.db: input/output error")
}

// A backup that fails half way must not reach `klaxon backup` as a short
// copy that looks whole: the download ends in an error.
func TestABackupThatFailsHalfWayIsABrokenDownload(t *testing.T) {
	h := NewHandler(Options{Tokens: []Token{{Name: "ops", Token: "ops-token-0123456789"}}, Backup: failingBackup{},
		Logger: slog.New(slog.DiscardHandler)})
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/api/v1/backup", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer ops-token-0123456789")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Fatal("the broken copy read to its end without an error")
	}
}
