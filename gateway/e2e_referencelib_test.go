package gateway_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/intermediary"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// libraryMessage is one storeDelivery the reference library wrote: its
// content package and attachment parts as transmitted.
type libraryMessage struct {
	shape   string
	subject string
	content []byte
	atts    map[string][]byte
	docs    []string // the documents it must arrive with, sorted
}

func loadLibraryMessage(t *testing.T, shape string, docs ...string) libraryMessage {
	t.Helper()
	f, err := os.Open(filepath.Join(certstest.RepoRoot(t), "testdata", "osci-java", shape, "storeDelivery.mime"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	parts := &osci.DirAttachments{Dir: t.TempDir()}
	e, err := osci.ReadEntity(f, osci.MIMELimits{}, parts)
	if err != nil {
		t.Fatal(err)
	}
	m, err := osci.Parse(e.SOAP, xmlsec.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	i, j := bytes.Index(e.SOAP, []byte("<osci:ContentPackage")), bytes.Index(e.SOAP, []byte("</osci:ContentPackage>"))
	lm := libraryMessage{shape: shape, subject: m.Subject, content: e.SOAP[i : j+len("</osci:ContentPackage>")], atts: map[string][]byte{}, docs: docs}
	for _, a := range e.Attachments {
		r, err := parts.Open(a.Header.ContentID)
		if err != nil {
			t.Fatal(err)
		}
		lm.atts[a.Header.ContentID], _ = io.ReadAll(r)
		r.Close()
	}
	sort.Strings(lm.docs)
	return lm
}

// TestE2EReferenceLibraryMessagesSurviveKillDuringFetch: messages the
// reference library wrote as alice for bob's mailbox (every shape: signed
// plain and encrypted containers, an encrypted container signed with an
// encrypted attachment, no container signature at all, CON.pdf beside
// con.pdf) wait at the simulator, whose fetchDelivery answers slowly; the
// real gateway binary fetches them and is killed with SIGKILL at random
// moments while it does, and restarted. In the end every message is in
// the intake exactly once, valid, with both containers' texts and
// attachments as documents, and the simulator recorded the reception of
// each; a delivery handed out again after a kill is known as a duplicate.
func TestE2EReferenceLibraryMessagesSurviveKillDuringFetch(t *testing.T) {
	bin := gatewayBinary(t)
	dir := t.TempDir()
	intake, data := filepath.Join(dir, "intake"), filepath.Join(dir, "data")
	for _, d := range []string{intake, data} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	simLn := listen(t)
	apiAddr := freeAddr(t)
	simURL := "http://" + simLn.Addr().String() + "/osci"
	cfg := apitest.ReferenceConfig(t, dir, simURL, data, intake, apiAddr)
	// The simulator is the library's test intermediary; each fetchDelivery
	// takes 150 ms, so a kill lands inside a fetch round.
	serveSimulator(t, simLn, intermediary.Config{Cipher: apitest.ReferenceKey(t, "osci_manager_cipher_4096"),
		Signature: apitest.ReferenceKey(t, "osci_manager_signature_4096"), DataDir: t.TempDir(), Now: time.Now, Rand: rand.Reader,
		Faults: []intermediary.Fault{{Type: osci.TypeFetchDelivery, Kind: intermediary.FaultDelay, Delay: 150 * time.Millisecond}}})

	// alice stores the library's messages, three of each shape.
	inter := certs.NewTrustStore()
	inter.Pin(apitest.ReferenceKey(t, "osci_manager_signature_4096").Cert)
	alice, err := osci.NewClient(osci.ClientConfig{URL: simURL, Signature: apitest.ReferenceKey(t, "alice_signature_4096"),
		Cipher: apitest.ReferenceKey(t, "alice_cipher_4096"), IntermediaryCipher: apitest.ReferenceKey(t, "osci_manager_cipher_4096").Cert,
		IntermediaryKeys: xmlsec.ValidatorSelector{V: certs.TrustSets{Intermediary: inter}.Validators(certs.Validator{}).Intermediary},
		Rand:             rand.Reader, SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	bob := apitest.ReferenceKey(t, "bob_cipher_4096").Cert
	shapes := []libraryMessage{
		loadLibraryMessage(t, "signed-plain-encrypted", "content0.txt", "schriftsatz.txt", "content2.txt", "geheim.txt"),
		loadLibraryMessage(t, "signed-encrypted", "content0.txt", "geheim.txt"),
		loadLibraryMessage(t, "unsigned", "content0.txt", "schriftsatz.txt", "content2.txt", "geheim.txt"),
		loadLibraryMessage(t, "names", "content0.txt", "CON.pdf", "con.pdf"),
	}
	ctx := context.Background()
	want := map[string]libraryMessage{}
	for range 6 {
		for _, lm := range shapes {
			id, err := alice.GetMessageID(ctx)
			if err != nil {
				t.Fatal(err)
			}
			d := osci.OutgoingDelivery{MessageID: id, Subject: lm.subject, Addressee: bob, Readers: []*x509.Certificate{bob}, Content: lm.content}
			for cid, body := range lm.atts {
				d.Attachments = append(d.Attachments, osci.OutgoingAttachment{ContentID: cid, Size: int64(len(body)),
					Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }})
			}
			if _, err := alice.StoreDelivery(ctx, d); err != nil {
				t.Fatal(err)
			}
			want[id] = lm
		}
	}

	// The gateway fetches for bob and is killed while it does.
	seed := uint64(time.Now().UnixNano())
	rnd := mrand.New(mrand.NewPCG(seed, 7))
	logPath := filepath.Join(dir, "run.log")
	var cmd *exec.Cmd
	var exited chan error
	start := func() {
		logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		cmd = exec.Command(bin, "run", "--config", cfg)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited = make(chan error, 1)
		go func() { exited <- cmd.Wait(); logf.Close() }()
	}
	t.Cleanup(func() {
		if cmd != nil && cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	stored := func() int {
		st, err := sqlite.Open(ctx, filepath.Join(data, sqlite.FileName), sqlite.Options{MustExist: true})
		if err != nil {
			return 0
		}
		defer st.Close()
		ms, err := st.List(ctx, mailbox.Filter{Direction: mailbox.In, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return len(ms)
	}
	running := func() int {
		b, _ := os.ReadFile(logPath)
		return strings.Count(string(b), `"msg":"gateway running"`)
	}
	kills, midFetch, before := 0, 0, 0
	for kills < 8 {
		started := running()
		start()
		// The kill falls at a random time after the gateway runs, not
		// after the process started: on a loaded machine the start alone
		// can take longer than the whole window.
		for deadline := time.Now().Add(30 * time.Second); running() == started && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(time.Duration(300+rnd.IntN(1500)) * time.Millisecond)
		// A delivery whose reads keep ending without an outcome is parked
		// by design (the poison guard, after 3 of them); these kills come
		// from outside, so after a kill that found no progress the next
		// waits for one.
		if kills > 0 && stored() == before {
			for deadline := time.Now().Add(60 * time.Second); stored() == before && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
			}
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-exited
		kills++
		n := stored()
		before = n
		t.Logf("kill %d: %d of %d deliveries stored, %d in the intake", kills, n, len(want), len(completeEntries(t, intake)))
		if n > 0 && n < len(want) {
			midFetch++
		}
		if n == len(want) {
			break
		}
	}
	start()
	// A kill between a delivery's receipt and its record holds it from
	// the intake for the receipt wait (2 minutes) by design.
	deadline := time.Now().Add(150 * time.Second)
	logged := false
	for len(completeEntries(t, intake)) < len(want) && time.Now().Before(deadline) {
		if !logged && time.Until(deadline) < 140*time.Second {
			t.Logf("still waiting for the intake:\n%s", storeStates(t, data))
			logged = true
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // a late duplicate would show now
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err != nil {
		t.Errorf("gateway stopped with %v", err)
	}
	log, _ := os.ReadFile(logPath)
	dups := 0
	for _, line := range strings.Split(string(log), "\n") {
		var l struct {
			Msg        string `json:"msg"`
			Duplicates int    `json:"duplicates"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "fetched deliveries" {
			dups += l.Duplicates
		}
	}
	t.Logf("seed %d: %d messages, %d kills (%d with deliveries stored partly), %d deliveries handed out again and recognised as duplicates",
		seed, len(want), kills, midFetch, dups)

	entries := completeEntries(t, intake)
	if len(entries) != len(want) {
		t.Fatalf("intake holds %d entries, want %d\n%s\n%s", len(entries), len(want), log, storeStates(t, data))
	}
	seen := map[string]bool{}
	for _, e := range entries {
		var md mailbox.IntakeMetadata
		raw, err := os.ReadFile(filepath.Join(intake, e, mailbox.FileMetadataJSON))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &md); err != nil {
			t.Fatal(err)
		}
		lm, ok := want[md.MessageID]
		if !ok || seen[md.MessageID] {
			t.Errorf("entry %s: MessageId %s unexpected or twice", e, md.MessageID)
			continue
		}
		seen[md.MessageID] = true
		var names []string
		for _, d := range md.Documents {
			names = append(names, d.OriginalName)
		}
		sort.Strings(names)
		if md.VerificationStatus != checkresult.Valid || strings.Join(names, "|") != strings.Join(lm.docs, "|") {
			t.Errorf("%s (%s): status %s reason %s, documents %q", md.MessageID, lm.shape, md.VerificationStatus, md.VerificationReason, names)
		}
	}
	// The intermediary recorded every reception: nothing waits to be fetched again.
	for id := range want {
		pc, err := alice.FetchProcessCard(ctx, id)
		if err != nil || pc.ProcessCard.Reception == nil {
			t.Errorf("%s: card %+v %v, want Reception", id, pc, err)
		}
	}
	st, err := sqlite.Open(ctx, filepath.Join(data, sqlite.FileName), sqlite.Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	blobs, err := mailbox.OpenBlobs(filepath.Join(data, "blobs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mailbox.Check(ctx, st, blobs); err != nil {
		t.Errorf("store check: %v", err)
	}
	counts, err := st.CountByState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range counts {
		if c.State != mailbox.StateDelivered || c.N != len(want) {
			t.Errorf("store holds %+v, want %d delivered", c, len(want))
		}
	}
	if resp, err := http.Get("http://" + apiAddr + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("the gateway still answers after SIGTERM")
	}
}

// completeEntries are the intake's entries whose manifest verifies.
func completeEntries(t *testing.T, root string) []string {
	ents, _ := os.ReadDir(root)
	var out []string
	for _, d := range ents {
		if !d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			continue
		}
		m, err := os.ReadFile(filepath.Join(root, d.Name(), mailbox.FileManifest))
		if err != nil {
			continue
		}
		sums, err := mailbox.ParseManifest(m)
		if err != nil {
			t.Errorf("%s: %v", d.Name(), err)
			continue
		}
		ok := true
		for p, s := range sums {
			b, err := os.ReadFile(filepath.Join(root, d.Name(), filepath.FromSlash(p)))
			sum := sha256.Sum256(b)
			ok = ok && err == nil && hex.EncodeToString(sum[:]) == s
		}
		if !ok {
			t.Errorf("%s: manifest does not verify", d.Name())
			continue
		}
		out = append(out, d.Name())
	}
	return out
}

// storeStates describes the incoming messages of a data directory.
func storeStates(t *testing.T, data string) string {
	st, err := sqlite.Open(context.Background(), filepath.Join(data, sqlite.FileName), sqlite.Options{MustExist: true})
	if err != nil {
		return err.Error()
	}
	defer st.Close()
	ms, err := st.List(context.Background(), mailbox.Filter{Direction: mailbox.In, Limit: 1000})
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "%d %s %s next %s lease %s/%s err %s %s\n", m.ID, m.OSCIMessageID, m.State, m.NextAttemptAt.Format(time.RFC3339Nano),
			m.LeaseOwner, m.LeaseUntil.Format(time.RFC3339), m.LastErrorCode, m.LastErrorText)
	}
	return b.String()
}
