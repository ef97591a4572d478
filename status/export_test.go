package status

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"html"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

var exportedFiles = []string{"index.html", "status.json", "feed.atom", "api/v2/summary.json"}

func TestExportWritesEveryPage(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "public")
	if err := Export(dir, ipv4Outage()); err != nil {
		t.Fatal(err)
	}
	for _, name := range exportedFiles {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "export/"+name, b)
	}

	// Every link of the page leads to an exported file, relative to it.
	page, _ := os.ReadFile(filepath.Join(dir, "index.html"))
	hrefs := regexp.MustCompile(`href="([^"#]+)"`).FindAllStringSubmatch(string(page), -1)
	if len(hrefs) < 3 {
		t.Fatalf("the page has %d links, want its three other renderings", len(hrefs))
	}
	for _, m := range hrefs {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(html.UnescapeString(m[1])))); err != nil {
			t.Errorf("link %s from index.html: %v", m[1], err)
		}
	}

	// A web server running as another user must be able to read it all.
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o644)
		if d.IsDir() {
			want = 0o755 | fs.ModeDir
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	onlyExportBeside(t, parent)
}

func TestExportAlwaysLeavesACompleteDirectory(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skipf("%s has no atomic directory exchange; Export moves the old export aside first", runtime.GOOS)
	}
	parent := t.TempDir()
	dir := filepath.Join(parent, "public")
	if err := Export(dir, ipv4Outage()); err != nil {
		t.Fatal(err)
	}

	// A syncer reads the directory over and over while exports replace it.
	done := make(chan struct{})
	var (
		wg    sync.WaitGroup
		reads int
		bad   []string
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			if err := complete(dir); err != nil {
				bad = append(bad, err.Error())
			}
			reads++
		}
	}()
	for i := range 50 {
		snap := ipv4Outage()
		snap.Generated = snap.Generated.Add(time.Duration(i) * time.Minute)
		if i%2 == 1 {
			snap = busyQuarter()
		}
		if err := Export(dir, snap); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	if len(bad) > 0 {
		t.Errorf("a reader found the export incomplete %d times in %d reads, first: %s", len(bad), reads, bad[0])
	}
	t.Logf("%d complete reads during 50 exports", reads)
	onlyExportBeside(t, parent)
}

func TestExportFailingHalfWayKeepsTheOldExport(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "public")
	if err := Export(dir, ipv4Outage()); err != nil {
		t.Fatal(err)
	}
	before := readAll(t, dir)

	// The disk fills up after two files.
	written := 0
	diskFull := func(name string, data []byte) error {
		if written == 2 {
			return errors.New("no space left on device")
		}
		written++
		return writeFile(name, data)
	}
	err := export(dir, busyQuarter(), diskFull)
	if err == nil || !strings.Contains(err.Error(), "writing feed.atom: no space left on device") {
		t.Fatalf("error %v, want the failed write", err)
	}
	if after := readAll(t, dir); !maps.Equal(before, after) {
		t.Error("a failed export changed the published one")
	}
	onlyExportBeside(t, parent)

	// A snapshot that cannot be rendered never touches the disk.
	bad := busyQuarter()
	bad.Page.TimeZone = "Nowhere/Special"
	if err := Export(dir, bad); err == nil {
		t.Fatal("an export of an invalid snapshot succeeded")
	}
	if after := readAll(t, dir); !maps.Equal(before, after) {
		t.Error("an invalid snapshot changed the published export")
	}
	onlyExportBeside(t, parent)
}

func TestExportRefusesToReplaceAFile(t *testing.T) {
	parent := t.TempDir()
	file := filepath.Join(parent, "notes.txt")
	if err := os.WriteFile(file, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Export(file, ipv4Outage()); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("error %v, want a refusal", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep me" {
		t.Error("the file was replaced")
	}
}

func TestSwapByRenames(t *testing.T) {
	parent := t.TempDir()
	dir, next := filepath.Join(parent, "public"), filepath.Join(parent, ".public.new")
	for d, content := range map[string]string{dir: "old", next: "new"} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "index.html"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := swapByRenames(next, dir); err != nil {
		t.Fatal(err)
	}
	for d, want := range map[string]string{dir: "new", next: "old"} {
		if b, _ := os.ReadFile(filepath.Join(d, "index.html")); string(b) != want {
			t.Errorf("%s holds %q, want %q", d, b, want)
		}
	}

	// The first export has nothing to move aside.
	first := filepath.Join(parent, "first")
	if err := swapByRenames(next, first); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(first, "index.html")); string(b) != "old" {
		t.Errorf("the first export holds %q", b)
	}
}

// complete checks that every exported file is there and whole.
func complete(dir string) error {
	for _, name := range exportedFiles {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		switch filepath.Ext(name) {
		case ".html":
			if !strings.HasSuffix(string(b), "</html>\n") {
				return errors.New(name + " is cut short")
			}
		case ".json":
			if !json.Valid(b) {
				return errors.New(name + " is not valid JSON")
			}
		case ".atom":
			var f parsedFeed
			if err := xml.Unmarshal(b, &f); err != nil {
				return errors.New(name + ": " + err.Error())
			}
		}
	}
	return nil
}

// onlyExportBeside checks that no temporary directory is left next to the export.
func onlyExportBeside(t *testing.T, parent string) {
	t.Helper()
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "public" {
			t.Errorf("%s left beside the export", e.Name())
		}
	}
}

func readAll(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		files[path] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
