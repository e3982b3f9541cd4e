package api_test

import (
	"context"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// dirSize sums the sizes of the files below dir.
func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			n += fi.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Anyone who reaches the API can send requests without credentials. 2,000
// of them with 60 KiB paths must not grow the data directory by 2 MB: they
// are counted and journaled as one summary, not one entry each.
func TestUnauthenticatedRequestsCannotFillTheDisk(t *testing.T) {
	e := apitest.NewEnv(t, api.Limits{})
	before := dirSize(t, e.Dir)
	path := "/v1/messages/" + strings.Repeat("a", 60<<10)
	for i := 0; i < 2000; i++ {
		req, _ := http.NewRequest("GET", e.TS.URL+path, nil)
		if i%2 == 1 {
			req.Header.Set("Authorization", "Bearer not-a-valid-token-at-all")
		}
		resp, err := e.TS.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	e.Srv.FlushRefused(context.Background())
	grown := dirSize(t, e.Dir) - before
	if grown >= 2<<20 {
		t.Errorf("the data directory grew by %d bytes", grown)
	}
	t.Logf("2,000 refused requests with 60 KiB paths grew the data directory by %d bytes", grown)
	evs, err := e.Store.Events(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var summaries []mailbox.Event
	for _, ev := range evs {
		switch ev.Kind {
		case "api":
			t.Fatalf("an unauthenticated request was journaled one by one: %.200s", ev.Detail)
		case "api_refused":
			summaries = append(summaries, ev)
		}
	}
	if len(summaries) != 1 || !strings.Contains(summaries[0].Detail, `"total":"2000"`) ||
		!strings.Contains(summaries[0].Detail, `"anonymous 401":"1000"`) || !strings.Contains(summaries[0].Detail, `"invalid-credentials 401":"1000"`) {
		t.Fatalf("summary entries: %+v", summaries)
	}
	if len(summaries[0].Detail) > 4096 {
		t.Errorf("summary entry of %d bytes", len(summaries[0].Detail))
	}
}
