package demo

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/courts"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
)

// TestDemoRunsAndReruns runs `bebpo-gateway demo` twice on one directory,
// as `make run` does: both runs deliver their message into the folder
// intake (the second with a PDF of its own, so it is not quarantined as
// a repeat), the second reuses the keys, and SIGTERM ends each with 0.
func TestDemoRunsAndReruns(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the whole demo twice; skipped with -short")
	}
	l := NewTestDir(t, "127.0.0.1:1", "127.0.0.1:2") // keys from the shared fixture
	for run := 1; run <= 2; run++ {
		var mu sync.Mutex
		var out bytes.Buffer
		w := apitest.LockedWriter{W: &out, Mu: &mu}
		sig := make(chan os.Signal, 1)
		done := make(chan error, 1)
		go func() {
			done <- runDemo(w, func(string) string { return "" }, l, sig, Options{})
		}()
		text := func() string { mu.Lock(); defer mu.Unlock(); return out.String() }
		deadline := time.Now().Add(5 * time.Minute) // the walkthrough gives up on its own before
		for !strings.Contains(text(), "Running until Ctrl-C") {
			select {
			case err := <-done:
				t.Fatalf("run %d: demo ended: %v\n%s", run, err, text())
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %d: no walkthrough within 5 minutes:\n%s", run, text())
			}
		}
		got := text()
		if !strings.Contains(got, "reusing "+l.Keys()) {
			t.Errorf("run %d: keys not reused:\n%s", run, got)
		}
		m := regexp.MustCompile(`Arrived in the folder intake of "gericht" \(outgoing message now "(sent|confirmed)"\):\n   (\S+)\n`).FindStringSubmatch(got)
		if m == nil {
			t.Fatalf("run %d: no arrival reported:\n%s", run, got)
		}
		if _, err := os.Stat(m[2]); err != nil {
			t.Errorf("run %d: printed intake path: %v", run, err)
		}
		// The court lives at the second intermediary: its intake has the
		// message with a valid report, and its process card the reception.
		m = regexp.MustCompile(`Arrived in the folder intake of "landgericht" \(outgoing message now "(sent|confirmed)"\):\n   (\S+)\n(?:     \S+\n)+   verification report \(pruefprotokoll\): valid\n`).FindStringSubmatch(got)
		if m == nil {
			t.Fatalf("run %d: no valid arrival at the court reported:\n%s", run, got)
		}
		if !strings.Contains(m[2], l.Intake(Landgericht.ID)) {
			t.Errorf("run %d: the court's entry %s is not in its intake", run, m[2])
		}
		if !regexp.MustCompile(`process card \(Laufzettel\) of \S+ from justiz-nrw, message now "confirmed":\n(?:.*\n)*   received by the court \(reception\) +\d{4}-`).MatchString(got) {
			t.Errorf("run %d: the court's reception is not shown:\n%s", run, got)
		}
		// The eEB both ways and the proof of filing, on a second run too
		// (TestDemoEEBAnsweredByCLIAndProofOfFiling checks them in depth).
		if strings.Contains(got, "   stopped:") || !strings.Contains(got, "= the summons' record\n") ||
			!strings.Contains(got, "received by the court (reception, process card) ") {
			t.Errorf("run %d: the eEB walkthrough did not complete:\n%s", run, got)
		}
		// The web application: the printed address and sign-in work.
		wa := regexp.MustCompile(`Web application \(German, for the clerks\): (\S+)\n   sign in as "(\S+)" with password "(\S+)"`).FindStringSubmatch(got)
		if wa == nil || !strings.Contains(got, "  Web:       "+wa[1]+"   (sign in: "+wa[2]+" / "+wa[3]+")") {
			t.Errorf("run %d: no web address and sign-in printed:\n%s", run, got)
		} else if err := webSignInWorks(wa[1], wa[2], wa[3]); err != nil {
			t.Errorf("run %d: signing in at %s: %v", run, wa[1], err)
		}
		sig <- syscall.SIGTERM
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("run %d: %v after SIGTERM:\n%s", run, err, text())
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("run %d: demo did not stop on SIGTERM", run)
		}
	}
}

func TestDemoPKIKeysFollowOwnKeyPolicy(t *testing.T) {
	l := NewTestDir(t, "127.0.0.1:1", "127.0.0.1:2")
	pki := demoPKI{dir: l.Keys()}
	for _, p := range Parties() {
		party := p.ID
		t.Run(party, func(t *testing.T) {
			sig, err := pki.load(party, certs.PurposeSignature)
			if err != nil {
				t.Fatal(err)
			}
			ciph, err := pki.load(party, certs.PurposeCipher)
			if err != nil {
				t.Fatal(err)
			}
			if err := (&certs.Identity{Signature: sig, Cipher: ciph}).Check(time.Now()); err != nil {
				t.Fatalf("identity check: %v", err)
			}
			for _, p := range []certs.Purpose{certs.PurposeSignature, certs.PurposeCipher} {
				p12, pw, _ := pki.keystore(party, p)
				for _, f := range []string{p12, pw} {
					fi, err := os.Stat(f)
					if err != nil {
						t.Fatal(err)
					}
					if fi.Mode().Perm() != 0o600 {
						t.Errorf("%s: mode %04o, want 0600", f, fi.Mode().Perm())
					}
				}
			}
		})
	}
}

// TestDemoCourtIsInTheCodeList: the demo court's organisation is the
// name GDS.Gerichte gives its court code.
func TestDemoCourtIsInTheCodeList(t *testing.T) {
	c, ok := courts.Lookup(Landgericht.CourtCode)
	if !ok || c.Name != Landgericht.Organisation || c.Dissolved {
		t.Fatalf("court code %q: %+v (found %v), want %q", Landgericht.CourtCode, c, ok, Landgericht.Organisation)
	}
}

func TestDemoPDFIsWellFormed(t *testing.T) {
	pdf := PDF("Test (1) \\ ü")
	if !bytes.HasPrefix(pdf, []byte("%PDF-1.4\n")) || !bytes.HasSuffix(pdf, []byte("%%EOF\n")) {
		t.Fatal("missing PDF header or trailer")
	}
	m := regexp.MustCompile(`startxref\n(\d+)\n`).FindSubmatch(pdf)
	if m == nil {
		t.Fatal("no startxref")
	}
	xref, _ := strconv.Atoi(string(m[1]))
	if !bytes.HasPrefix(pdf[xref:], []byte("xref\n")) {
		t.Fatalf("startxref %d does not point at the xref table", xref)
	}
	offs := regexp.MustCompile(`(\d{10}) 00000 n `).FindAllSubmatch(pdf, -1)
	if len(offs) != 5 {
		t.Fatalf("%d xref entries, want 5", len(offs))
	}
	for i, o := range offs {
		off, _ := strconv.Atoi(string(o[1]))
		if want := fmt.Sprintf("%d 0 obj\n", i+1); !bytes.HasPrefix(pdf[off:], []byte(want)) {
			t.Errorf("xref entry %d points at %q", i+1, pdf[off:off+10])
		}
	}
}

// TestRunRefusesBrokenConfiguration: exit 2 and a message naming the key,
// before the store is created.

func TestMain(m *testing.M) {
	code := m.Run()
	RemoveTestKeys()
	os.Exit(code)
}

// webSignInWorks signs in at the web application at base with the
// sign-in form, as a person would.
func webSignInWorks(base, name, password string) error {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(strings.TrimSuffix(base, "/") + "/anmeldung")
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	tok := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(string(body))
	if tok == nil {
		return fmt.Errorf("no sign-in form (%d)", resp.StatusCode)
	}
	resp, err = c.PostForm(strings.TrimSuffix(base, "/")+"/anmeldung", url.Values{"csrf": {tok[1]}, "name": {name}, "passwort": {password}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("sign-in answered %d", resp.StatusCode)
	}
	return nil
}
