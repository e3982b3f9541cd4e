package gateway_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/intermediaries"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/demo"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// TestE2ETwoIntermediaries: a city gateway whose mailboxes live at
// intermediary A (bebpo) sends to a court whose mailbox lives at
// intermediary B (justiz-nrw), served by a gateway of its own; A and B are
// separate `bebpo-gateway simulator` processes with their own keys. The
// court receives the message with a valid report, and the city sees it
// confirmed by B's process card. While B is down (killed), messages to A
// are still sent and confirmed, those to the court wait with B's circuit
// open; after B restarts on the same port and data directory they go out.
// `messages requeue` asks a sent message's process card at once. What B
// stored on disk and what the court's intake holds show that nothing was
// lost or sent twice.
func TestE2ETwoIntermediaries(t *testing.T) {
	t.Parallel()
	bin := gatewayBinary(t)
	phase := phaseClock(t)
	addrA, addrB := freeAddr(t), freeAddr(t)
	sites := map[string]string{demo.Intermediary.ConfigName: addrA, demo.JustizIntermediary.ConfigName: addrB}
	cityAPI, courtAPI := freeAddr(t), freeAddr(t)
	city := newSiteEnv(t, bin, cityAPI, demo.Installation{API: cityAPI, Sites: sites,
		Mailboxes: []demo.Mailbox{demo.Stadt, demo.Gericht}, Recipients: []demo.Mailbox{demo.Gericht, demo.Landgericht}})
	court := newSiteEnv(t, bin, courtAPI, demo.Installation{API: courtAPI, Sites: sites,
		Mailboxes: []demo.Mailbox{demo.Landgericht}, Recipients: []demo.Mailbox{demo.Stadt}})
	// The city checks process cards within seconds and retries B one second
	// after its circuit opened; both poll every second.
	setConfig(t, city.l, func(s string) string {
		pin := fmt.Sprintf("    signature_certs: [keys/%s-signature.pem]\n", demo.JustizIntermediary.ID)
		s = strings.Replace(s, pin, pin+"    circuit_open: 1s\n", 1)
		s = strings.Replace(s, "\nintakes:\n", "\nsending:\n  confirm_first: 1s\n  confirm_max: 2s\n\nintakes:\n", 1)
		return strings.ReplaceAll(s, "poll_interval: 2s", "poll_interval: 1s")
	})
	setConfig(t, court.l, func(s string) string { return strings.ReplaceAll(s, "poll_interval: 2s", "poll_interval: 1s") })
	simA := newSimProcess(t, bin, city.l, demo.Intermediary, addrA)
	simB := newSimProcess(t, bin, city.l, demo.JustizIntermediary, addrB)
	simA.start()
	simB.start()
	city.start()
	court.start()
	phase("start: two simulator processes, two gateways")
	ctx := context.Background()

	// 1. The city sends to the court at B.
	first := sendTo(t, city, demo.Landgericht, "Klage an das Landgericht", "two-1")
	waitEntries(t, court.l, demo.Landgericht, 1, 30*time.Second)
	m := waitState(t, city, first, mailbox.StateConfirmed, 30*time.Second)
	checkCourtEntry(t, court.l, m.OSCIMessageID)
	checkConfirmedByB(t, m)
	phase("city → court at B: received with a valid report, confirmed by B's process card")

	// 2. B goes down. The city keeps sending to Gericht at A; the messages
	// to the court wait, temporary, with B's circuit open.
	simB.kill()
	var toCourt, toA []int64
	for i := range 3 {
		toCourt = append(toCourt, sendTo(t, city, demo.Landgericht, fmt.Sprintf("Während des Ausfalls %d", i), fmt.Sprintf("two-out-%d", i)))
	}
	for i := range 2 {
		toA = append(toA, sendTo(t, city, demo.Gericht, fmt.Sprintf("An A %d", i), fmt.Sprintf("two-a-%d", i)))
	}
	for _, id := range toA {
		waitState(t, city, id, mailbox.StateConfirmed, 30*time.Second)
	}
	waitEntries(t, city.l, demo.Gericht, 2, 10*time.Second)
	waitCircuit(t, city, demo.JustizIntermediary.ConfigName, "open", 30*time.Second)
	for _, id := range toCourt {
		m, err := city.client.GetMessage(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if m.State != string(mailbox.StateQueued) || m.LastError == nil {
			t.Errorf("message %d to the court during the outage: state %q, error %+v; want queued with the failure", id, m.State, m.LastError)
		}
	}
	phase("B down: messages to A confirmed, those to the court queued, B's circuit open")

	// 3. B comes back on the same port and data directory: the waiting
	// messages go out at their next try and are confirmed.
	simB.start()
	for _, id := range toCourt {
		waitState(t, city, id, mailbox.StateConfirmed, 150*time.Second)
	}
	waitEntries(t, court.l, demo.Landgericht, 4, 10*time.Second)
	waitCircuit(t, city, demo.JustizIntermediary.ConfigName, "ok", 10*time.Second)
	phase("B back: the waiting messages sent and confirmed")

	// 4. A sent message whose next process card check is far off is
	// confirmed at once by `messages requeue`.
	setConfig(t, city.l, func(s string) string {
		return strings.Replace(s, "confirm_first: 1s\n  confirm_max: 2s", "confirm_first: 10m\n  confirm_max: 10m", 1)
	})
	if err := city.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog(t, city, "configuration reloaded", 1, 10*time.Second)
	last := sendTo(t, city, demo.Landgericht, "Nachgereicht", "two-requeue")
	waitEntries(t, court.l, demo.Landgericht, 5, 30*time.Second)
	time.Sleep(2 * time.Second) // the court's next poll records the reception at B
	if m, err := city.client.GetMessage(ctx, last); err != nil || m.State != string(mailbox.StateSent) {
		t.Fatalf("before requeue: state %q (%v), want sent until the check 10 minutes on", m.State, err)
	}
	requeued := time.Now()
	if out, code := city.cli("messages", "requeue", "--config", city.l.Config(), fmt.Sprint(last)); code != 0 {
		t.Fatalf("messages requeue: exit %d: %s", code, out)
	}
	m = waitState(t, city, last, mailbox.StateConfirmed, 10*time.Second)
	checkConfirmedByB(t, m)
	t.Logf("confirmed %s after `messages requeue`", time.Since(requeued).Round(time.Millisecond))
	phase("requeue of a sent message: its process card asked at once")

	// Nothing lost, nothing sent twice: B stored each message to the court
	// once, A each message to Gericht once and none to the court, and the
	// intakes hold exactly those.
	time.Sleep(1500 * time.Millisecond) // one more poll: nothing arrives twice
	if got := simB.stored(); got != 5 {
		t.Errorf("B stored %d deliveries, want 5 (one per message to the court)", got)
	}
	if got := simA.stored(); got != 2 {
		t.Errorf("A stored %d deliveries, want 2 (the messages to Gericht)", got)
	}
	if got := len(intakeEntries(court.l, demo.Landgericht)); got != 5 {
		t.Errorf("the court's intake holds %d entries, want 5", got)
	}
	if got := court.incomingCount(ctx); got != 5 {
		t.Errorf("the court's store holds %d incoming messages, want 5", got)
	}
	for _, e := range []*e2eEnv{city, court} {
		if code := e.stop(syscall.SIGTERM); code != 0 {
			t.Errorf("SIGTERM: exit %d, want 0\n%s", code, e.logText())
		}
	}
	simA.kill()
	simB.kill()
}

// phaseClock returns a function that logs how long the phase since the
// last call took.
func phaseClock(t *testing.T) func(string) {
	start := time.Now()
	return func(what string) {
		t.Logf("phase %-80s %6.1f s", what, time.Since(start).Seconds())
		start = time.Now()
	}
}

// newSiteEnv is a gateway installation configured as inst, run with the
// real binary.
func newSiteEnv(t *testing.T, bin, apiAddr string, inst demo.Installation) *e2eEnv {
	t.Helper()
	return runEnv(t, bin, apiAddr, demo.NewTestInstallation(t, inst))
}

// sendTo submits a PDF of its own from Stadt to a recipient.
func sendTo(t *testing.T, e *e2eEnv, to demo.Mailbox, subject, key string) int64 {
	t.Helper()
	r, err := e.client.Send(context.Background(), submit.MessageRequest{Mailbox: demo.Stadt.ID, To: to.SafeID, Subject: subject},
		[]string{e.pdf(key)}, key)
	if err != nil {
		t.Fatal(err)
	}
	return r.ID
}

// waitState waits until a message is in state.
func waitState(t *testing.T, e *e2eEnv, id int64, state mailbox.State, within time.Duration) api.MessageView {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	m, err := demo.WaitForState(ctx, e.client, id, string(state))
	if err != nil {
		t.Fatalf("%v (last error %+v)\n%s", err, m.LastError, e.logText())
	}
	return m
}

// intakeEntries returns the complete entries of a mailbox's folder intake.
func intakeEntries(l demo.Layout, mb demo.Mailbox) []string {
	ents, _ := os.ReadDir(l.Intake(mb.ID))
	var out []string
	for _, d := range ents {
		if d.IsDir() && !strings.HasPrefix(d.Name(), ".") {
			if _, err := os.Stat(filepath.Join(l.Intake(mb.ID), d.Name(), mailbox.FileManifest)); err == nil {
				out = append(out, d.Name())
			}
		}
	}
	return out
}

// waitEntries waits until a mailbox's intake holds n entries, and fails
// when it holds more.
func waitEntries(t *testing.T, l demo.Layout, mb demo.Mailbox, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for len(intakeEntries(l, mb)) < n && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if got := len(intakeEntries(l, mb)); got != n {
		t.Fatalf("the intake of %s holds %d entries, want %d", mb.ID, got, n)
	}
}

// checkCourtEntry checks the court's intake entry of a message: a valid
// verdict, and the response that carried it signed by B.
func checkCourtEntry(t *testing.T, l demo.Layout, osciID string) {
	t.Helper()
	entry := filepath.Join(l.Intake(demo.Landgericht.ID), mailbox.EntryName(osciID))
	b, err := os.ReadFile(filepath.Join(entry, mailbox.FileMetadataJSON))
	if err != nil {
		t.Fatal(err)
	}
	var meta mailbox.IntakeMetadata
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.VerificationStatus != checkresult.Valid || !meta.VHNPresent || meta.Sender.Confirmed.SafeID != demo.Stadt.SafeID {
		t.Errorf("court's entry: verdict %q, VHN %v, confirmed sender %q; want valid from %s", meta.VerificationStatus,
			meta.VHNPresent, meta.Sender.Confirmed.SafeID, demo.Stadt.SafeID)
	}
	b, err = os.ReadFile(filepath.Join(entry, mailbox.FileReportXML))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Signatures []struct {
			Kind      string `xml:"Art"`
			Integrity string `xml:"Integritaet"`
			Signer    string `xml:"Signierer"`
		} `xml:"Signaturen>Signatur"`
	}
	if err := xml.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	var bySupplier []string
	for _, s := range rep.Signatures {
		if s.Kind == "supplier" && s.Integrity == checkresult.OK {
			bySupplier = append(bySupplier, s.Signer)
		}
	}
	if len(bySupplier) != 1 || !strings.Contains(bySupplier[0], demo.JustizIntermediary.Name) {
		t.Errorf("the intermediary's signature in the court's report: %q, want one by %s", bySupplier, demo.JustizIntermediary.Name)
	}
}

// checkConfirmedByB checks a confirmed message to the court: routed to B
// by name, its process card with the reception and B's inspection of the
// court's cipher certificate. The card was accepted only under B's pinned
// signature certificate: the city's client for B trusts no other.
func checkConfirmedByB(t *testing.T, m api.MessageView) {
	t.Helper()
	var meta submit.OutgoingMeta
	if err := json.Unmarshal(m.Meta, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.RecipientIntermediary != demo.JustizIntermediary.ConfigName {
		t.Errorf("message %d pinned to intermediary %q, want %q", m.ID, meta.RecipientIntermediary, demo.JustizIntermediary.ConfigName)
	}
	pc := m.ProcessCard
	if pc == nil || pc.Reception.IsZero() || pc.Creation.IsZero() || pc.Reception.Before(pc.Creation) || pc.OSCIMessageID != m.OSCIMessageID {
		t.Fatalf("message %d: process card %+v, want creation and reception of %s", m.ID, pc, m.OSCIMessageID)
	}
	inspected := false
	for _, in := range pc.Inspections {
		inspected = inspected || strings.Contains(in.Subject, demo.Landgericht.Name) && in.MathResult == checkresult.OK
	}
	if !inspected {
		t.Errorf("message %d: no inspection of the court's certificate on the card: %+v", m.ID, pc.Inspections)
	}
}

// waitCircuit waits until the gateway's status and GET /v1/intermediaries
// both show the named intermediary in state.
func waitCircuit(t *testing.T, e *e2eEnv, name, state string, within time.Duration) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		out, _ := e.cli("status", "--config", e.l.Config(), "--json")
		var rep api.StatusReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("status --json: %v\n%s", err, out)
		}
		var list api.IntermediaryList
		if err := getJSON(e, "/v1/intermediaries", &list); err != nil {
			t.Fatal(err)
		}
		inStatus, inList := viewState(rep.Intermediaries, name), viewState(list.Intermediaries, name)
		last = fmt.Sprintf("status %q, /v1/intermediaries %q", inStatus, inList)
		if inStatus == state && inList == state {
			return
		}
	}
	t.Fatalf("intermediary %s not %s within %s: %s\n%s", name, state, within, last, e.logText())
}

func viewState(views []intermediaries.View, name string) string {
	for _, v := range views {
		if v.Name == name {
			return v.State
		}
	}
	return ""
}

// getJSON reads a private API resource of e.
func getJSON(e *e2eEnv, path string, out any) error {
	req, err := http.NewRequest(http.MethodGet, e.api+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+e.client.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// waitLog waits until the gateway's log holds a text n times.
func waitLog(t *testing.T, e *e2eEnv, text string, n int, within time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if strings.Count(e.logText(), text) >= n {
			return
		}
	}
	t.Fatalf("log lacks %q ×%d\n%s", text, n, e.logText())
}

// simProcess is one `bebpo-gateway simulator` process playing an
// intermediary with its own keys, address and data directory; its state
// outside the stored files ends with the process.
type simProcess struct {
	t          *testing.T
	bin        string
	l          demo.Layout // whose keys directory holds the site's keys
	site       demo.Site
	addr, data string
	log        string
	cmd        *exec.Cmd
	exited     chan error
}

func newSimProcess(t *testing.T, bin string, l demo.Layout, site demo.Site, addr string) *simProcess {
	s := &simProcess{t: t, bin: bin, l: l, site: site, addr: addr, data: t.TempDir(), log: filepath.Join(t.TempDir(), "simulator.log")}
	t.Cleanup(s.kill)
	return s
}

// start runs the simulator and waits until it accepts connections.
func (s *simProcess) start() {
	s.t.Helper()
	cipherP12, cipherPW := s.l.Keystore(s.site.ID, certs.PurposeCipher)
	sigP12, sigPW := s.l.Keystore(s.site.ID, certs.PurposeSignature)
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	s.cmd = exec.Command(s.bin, "simulator", "--listen", s.addr, "--data", s.data,
		"--cipher-p12", cipherP12, "--password-file", cipherPW, "--signature-p12", sigP12, "--signature-password-file", sigPW)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.exited = make(chan error, 1)
	go func() { s.exited <- s.cmd.Wait(); logf.Close() }()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		if c, err := net.Dial("tcp", s.addr); err == nil {
			c.Close()
			return
		}
		select {
		case err := <-s.exited:
			b, _ := os.ReadFile(s.log)
			s.t.Fatalf("simulator %s exited at start: %v\n%s", s.site.ConfigName, err, b)
		case <-time.After(50 * time.Millisecond):
		}
	}
	s.t.Fatalf("simulator %s not listening on %s within 15 s", s.site.ConfigName, s.addr)
}

// kill ends the process at once (SIGKILL), as an outage would.
func (s *simProcess) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// stored counts the deliveries the simulator wrote to its data directory
// (mailboxes/<addressee>/<message>), across its restarts.
func (s *simProcess) stored() int {
	dirs, err := filepath.Glob(filepath.Join(s.data, "mailboxes", "*", "*"))
	if err != nil {
		s.t.Fatal(err)
	}
	return len(dirs)
}
