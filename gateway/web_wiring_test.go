package gateway_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/demo"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/web"
)

// TestDaemonServesTheWebApplication starts the daemon with a web section
// and signs the demo user in on the web listener.
func TestDaemonServesTheWebApplication(t *testing.T) {
	t.Parallel()
	apiLn := listen(t)
	webLn := listen(t)
	l := demo.NewTestDir(t, "127.0.0.1:9", apiLn.Addr().String())
	cfg, err := os.ReadFile(l.Config())
	if err != nil {
		t.Fatal(err)
	}
	cfg = append(cfg, []byte("\nweb:\n  listen: "+webLn.Addr().String()+"\n  session_ttl: 2h\n")...)
	if err := os.WriteFile(l.Config(), cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	d := startInProcess(t, gateway.DaemonOptions{ConfigPath: l.Config(), LogOutput: io.Discard, APIListener: apiLn, WebListener: webLn}).d
	name, pw, err := web.DemoUsers(context.Background(), d.WebUsers(), nil)
	if err != nil {
		t.Fatal(err)
	}

	base := strings.TrimSuffix(d.WebURL(), "/")
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.Get(base + "/anmeldung")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	tok := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(string(body))
	if tok == nil {
		t.Fatalf("sign-in page: %d", resp.StatusCode)
	}
	resp, err = c.PostForm(base+"/anmeldung", url.Values{"csrf": {tok[1]}, "name": {name}, "passwort": {pw}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Posteingang "+demo.Stadt.ID) {
		t.Fatalf("after sign-in: %d %s", resp.StatusCode, body)
	}
}
