package main

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/durable"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlenc"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// intakeEntry is one complete directory of the folder intake.
type intakeEntry struct {
	Name      string
	MessageID string
	Docs      []string // SHA-256 of every file under dokumente/
	Problems  []string // manifest mismatches, missing files
}

// scanIntake reads every complete entry below root (names not starting
// with "."), checks every file against manifest.sha256 and that nothing
// unlisted is there, and hashes the documents. Names starting with "."
// are returned as unfinished.
func scanIntake(root string) (entries []intakeEntry, unfinished []string, err error) {
	ents, err := os.ReadDir(root)
	if os.IsNotExist(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			unfinished = append(unfinished, e.Name())
			continue
		}
		entries = append(entries, checkEntry(filepath.Join(root, e.Name())))
	}
	return entries, unfinished, nil
}

func checkEntry(dir string) intakeEntry {
	en := intakeEntry{Name: filepath.Base(dir)}
	bad := func(format string, a ...any) { en.Problems = append(en.Problems, fmt.Sprintf(format, a...)) }
	mb, err := os.ReadFile(filepath.Join(dir, "manifest.sha256"))
	if err != nil {
		bad("no manifest: %v", err)
		return en
	}
	sums, err := mailbox.ParseManifest(mb)
	if err != nil {
		bad("%v", err)
		return en
	}
	seen := map[string]bool{}
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == "manifest.sha256" {
			return nil
		}
		seen[rel] = true
		sum, err := durable.FileSHA256(p)
		if err != nil {
			return err
		}
		switch want, ok := sums[rel]; {
		case !ok:
			bad("%s is not in the manifest", rel)
		case want != sum:
			bad("%s: SHA-256 %s, manifest says %s", rel, sum, want)
		}
		if strings.HasPrefix(rel, "dokumente/") {
			en.Docs = append(en.Docs, sum)
		}
		return nil
	})
	if err != nil {
		bad("walk: %v", err)
	}
	for p := range sums {
		if !seen[p] {
			bad("%s is in the manifest but missing", p)
		}
	}
	var meta struct {
		MessageID string `json:"messageId"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "metadata.json")); err != nil {
		bad("metadata.json: %v", err)
	} else if err := json.Unmarshal(b, &meta); err != nil || meta.MessageID == "" {
		bad("metadata.json has no messageId (%v)", err)
	}
	en.MessageID = meta.MessageID
	return en
}

// simDelivery is one delivery the simulator accepted with storeDelivery:
// a directory mailboxes/<addressee cipher fingerprint>/<sha256(MessageId)>.
type simDelivery struct {
	Mailbox  string // fingerprint of the addressee's cipher certificate
	IDHash   string // hex SHA-256 of the MessageId
	Docs     []string
	Problems []string
}

// scanSimulator decrypts every delivery the simulator stored for key (B's
// cipher key) and hashes its attachments; deliveries for other mailboxes
// are listed without contents. This does not depend on the gateway: it
// reads the simulator's files with B's key only.
func scanSimulator(dir string, key *certs.KeyPair) ([]simDelivery, error) {
	root := filepath.Join(dir, "mailboxes")
	boxes, err := os.ReadDir(root)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	mine := certs.Fingerprint(key.Cert)
	var out []simDelivery
	for _, b := range boxes {
		ds, err := os.ReadDir(filepath.Join(root, b.Name()))
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			sd := simDelivery{Mailbox: b.Name(), IDHash: d.Name()}
			if b.Name() == mine {
				sd.Docs, err = decryptDelivery(filepath.Join(root, b.Name(), d.Name()), key)
				if err != nil {
					sd.Problems = append(sd.Problems, err.Error())
				}
			}
			out = append(out, sd)
		}
	}
	return out, nil
}

// simParts opens the attachment octets the simulator stored.
type simParts string

func (p simParts) OpenPart(cid string) (io.ReadCloser, error) {
	s := sha256.Sum256([]byte(cid))
	return os.Open(filepath.Join(string(p), "attachments", hex.EncodeToString(s[:])))
}

func decryptDelivery(dir string, key *certs.KeyPair) ([]string, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "contentpackage.xml"))
	if err != nil {
		return nil, err
	}
	doc, err := xmlsec.ParseBytes(raw, xmlsec.Limits{})
	if err != nil {
		return nil, fmt.Errorf("content package: %w", err)
	}
	dec, ok := key.Key.(crypto.Decrypter)
	if !ok {
		return nil, fmt.Errorf("cipher key cannot decrypt")
	}
	cs, err := osci.OpenContentPackage(&osci.Message{ContentPackage: doc.Root()}, &xmlenc.Decrypter{Key: dec, Parts: simParts(dir),
		// The simulator keeps the message's certificate block in memory only;
		// the EncryptedKey names it by Id. Offer B's certificate for any
		// reference: a key not wrapped for B fails to unwrap.
		ResolveURI: func(string) (*x509.Certificate, error) { return key.Cert, nil }})
	if err != nil {
		return nil, err
	}
	var sums []string
	var walk func(rc *osci.ReadContainer, c *osci.Container) error
	walk = func(rc *osci.ReadContainer, c *osci.Container) error {
		for _, ct := range c.Contents {
			switch {
			case ct.Container != nil:
				if err := walk(rc, ct.Container); err != nil {
					return err
				}
			case ct.Href != "":
				h := sha256.New()
				var w io.Writer = h
				if !rc.AttachmentEncrypted(ct.Href) {
					f, err := simParts(dir).OpenPart(ct.Href)
					if err != nil {
						return err
					}
					_, err = io.Copy(h, f)
					f.Close()
					if err != nil {
						return err
					}
				} else if _, err := rc.DecryptAttachment(w, ct.Href, simParts(dir), ""); err != nil {
					return err
				}
				sums = append(sums, hex.EncodeToString(h.Sum(nil)))
			default:
				s := sha256.Sum256(ct.Data)
				sums = append(sums, hex.EncodeToString(s[:]))
			}
		}
		return nil
	}
	for _, rc := range cs {
		if err := walk(rc, &rc.Container); err != nil {
			return sums, err
		}
	}
	return sums, nil
}

// tally is the verdict of one run.
type tally struct {
	Sent, Lost, Duplicated, Intake int
	AtSimulator                    int
	Mismatches                     int // intake entries whose MessageId or documents the simulator does not confirm
	Details                        []string
}

func (t tally) line() string {
	return fmt.Sprintf("sent=%d lost=%d duplicated=%d intake=%d", t.Sent, t.Lost, t.Duplicated, t.Intake)
}

// clean: nothing lost, duplicated or altered, and every message sent is
// in the intake.
func (t tally) clean() bool {
	return t.Lost == 0 && t.Duplicated == 0 && t.Mismatches == 0 && t.Intake == t.Sent
}

// verdict prints the tally's line and whether the run passed (a clean
// tally and ok, the run's own checks); it returns the exit code.
func (t tally) verdict(mode string, ok bool) int {
	fmt.Println(t.line())
	if !ok || !t.clean() {
		fmt.Println(mode + ": FAIL")
		return 1
	}
	fmt.Println(mode + ": PASS")
	return 0
}

// count compares what was submitted with what the simulator holds for B
// and what the intake folder holds. Lost: a document missing from either
// place. Duplicated: every copy beyond the first, at the simulator or in
// the intake, and any delivery or entry with a document nobody submitted.
func count(docs []document, sim []simDelivery, intake []intakeEntry, unfinished []string, mailboxB string) tally {
	t := tally{Sent: len(docs)}
	want := map[string]document{}
	for _, d := range docs {
		want[d.SHA] = d
	}
	atSim := map[string][]string{}
	for _, s := range sim {
		if s.Mailbox != mailboxB {
			t.Duplicated++
			t.Details = append(t.Details, fmt.Sprintf("simulator: delivery %s for an unexpected mailbox %s", s.IDHash, s.Mailbox))
			continue
		}
		for _, p := range s.Problems {
			t.Details = append(t.Details, fmt.Sprintf("simulator: delivery %s: %s", s.IDHash, p))
		}
		known := submitted(s.Docs, want)
		for _, sum := range known {
			atSim[sum] = append(atSim[sum], s.IDHash)
		}
		if len(known) == 0 {
			t.Duplicated++
			t.Details = append(t.Details, fmt.Sprintf("simulator: delivery %s holds no submitted document (%d files)", s.IDHash, len(s.Docs)))
		}
	}
	byID := map[string]simDelivery{}
	for _, s := range sim {
		byID[s.IDHash] = s
	}
	inIntake := map[string][]string{}
	for _, e := range intake {
		// By MessageId: the simulator names a delivery's directory after
		// the SHA-256 of its MessageId; the entry must be that delivery.
		idSum := sha256.Sum256([]byte(e.MessageID))
		if s, ok := byID[hex.EncodeToString(idSum[:])]; !ok {
			t.Mismatches++
			t.Details = append(t.Details, fmt.Sprintf("intake: %s: MessageId %q is no delivery the simulator stored", e.Name, e.MessageID))
		} else if !sameSet(submitted(s.Docs, want), submitted(e.Docs, want)) {
			t.Mismatches++
			t.Details = append(t.Details, fmt.Sprintf("intake: %s: submitted documents differ from the simulator's delivery of MessageId %q", e.Name, e.MessageID))
		}
		for _, p := range e.Problems {
			t.Details = append(t.Details, fmt.Sprintf("intake: %s: %s", e.Name, p))
		}
		if len(e.Problems) > 0 {
			continue // not a verified entry
		}
		known := submitted(e.Docs, want)
		for _, sum := range known {
			inIntake[sum] = append(inIntake[sum], e.Name)
		}
		if len(known) == 0 {
			t.Duplicated++
			t.Details = append(t.Details, fmt.Sprintf("intake: %s (MessageId %s) holds no submitted document", e.Name, e.MessageID))
		}
	}
	for _, u := range unfinished {
		t.Details = append(t.Details, "intake: unfinished entry left behind: "+u)
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return want[keys[i]].Index < want[keys[j]].Index })
	for _, sum := range keys {
		d := want[sum]
		s, in := atSim[sum], inIntake[sum]
		if len(s) > 0 {
			t.AtSimulator++
		}
		if len(in) == 1 {
			t.Intake++
		}
		switch {
		case len(s) == 0 || len(in) == 0:
			t.Lost++
			t.Details = append(t.Details, fmt.Sprintf("LOST message %d (%s, key %s): %d at the simulator, %d in the intake", d.Index, d.Name, d.Key, len(s), len(in)))
		}
		if len(s) > 1 {
			t.Duplicated += len(s) - 1
			t.Details = append(t.Details, fmt.Sprintf("DUPLICATE at the simulator: message %d (%s) in %d deliveries %v", d.Index, d.Name, len(s), s))
		}
		if len(in) > 1 {
			t.Duplicated += len(in) - 1
			t.Details = append(t.Details, fmt.Sprintf("DUPLICATE in the intake: message %d (%s) in %d entries %v", d.Index, d.Name, len(in), in))
		}
	}
	return t
}

// checkStore judges a stopped store after a run: mailbox.Check with its
// blobs finds no problem, the journal's deferrals are listed (what slowed
// the run), and every message ended sent, confirmed or delivered.
func checkStore(ctx context.Context, st mailbox.Store, blobDir string) bool {
	ok := true
	r, err := fsckStore(ctx, st, blobDir)
	logf("mailbox.Check: %d messages, %d documents, journal %d entries; %d problems", r.Messages, r.Documents, r.Journal.Entries, len(r.Problems))
	for _, p := range r.Problems {
		fmt.Println("  fsck: " + p)
	}
	if err != nil {
		logf("FAIL: mailbox.Check: %v", err)
		ok = false
	}
	if err := logDeferrals(ctx, st); err != nil {
		logf("FAIL: reading the journal: %v", err)
		ok = false
	}
	states, err := countStates(ctx, st)
	if err != nil {
		logf("FAIL: reading the store: %v", err)
		return false
	}
	logf("store states: %s", fmtCounts(states))
	for s, n := range states {
		switch s {
		case "out/sent", "out/confirmed", "in/delivered":
		default:
			logf("FAIL: %d messages in %s after the queue drained (want only out/sent, out/confirmed, in/delivered)", n, s)
			ok = false
		}
	}
	return ok
}

// fsckStore runs mailbox.Check on a stopped store with its blobs.
func fsckStore(ctx context.Context, st mailbox.Store, blobDir string) (mailbox.CheckReport, error) {
	blobs, err := mailbox.OpenBlobs(blobDir, nil)
	if err != nil {
		return mailbox.CheckReport{}, err
	}
	r, err := mailbox.Check(ctx, st, blobs)
	if err == nil && len(r.Problems) > 0 {
		err = fmt.Errorf("%d problems", len(r.Problems))
	}
	return r, err
}

// intakeCount is the number of complete entries now (for waiting).
func intakeCount(root string) int {
	ents, err := os.ReadDir(root)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			if _, err := os.Stat(filepath.Join(root, e.Name(), "manifest.sha256")); err == nil {
				n++
			}
		}
	}
	return n
}

func fingerprintB(c *cluster) string { return certs.Fingerprint(c.bCipher.Cert) }

// countStates counts a store's messages by direction and state.
func countStates(ctx context.Context, st mailbox.Store) (map[string]int, error) {
	out := map[string]int{}
	var after int64
	for {
		ms, err := st.List(ctx, mailbox.Filter{AfterID: after, Limit: 500})
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			out[fmt.Sprintf("%s/%s", m.Direction, m.State)]++
			after = m.ID
		}
		if len(ms) < 500 {
			return out, nil
		}
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := append([]string(nil), a...), append([]string(nil), b...)
	sort.Strings(x)
	sort.Strings(y)
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

// submitted keeps the hashes of submitted documents (a delivery also
// carries the EGVP structure files).
func submitted(sums []string, want map[string]document) []string {
	var out []string
	for _, s := range sums {
		if _, ok := want[s]; ok {
			out = append(out, s)
		}
	}
	return out
}

var orderLine = regexp.MustCompile(`request \d+: ([A-Za-z]+) .*feedback \[([0-9 ]*)\]`)

// simulatorOrders counts the orders the simulator answered, by type and
// feedback codes, from its log ("StoreDelivery[0800]" = accepted).
func simulatorOrders(logPath string) (map[string]int, error) {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, l := range strings.Split(string(b), "\n") {
		if m := orderLine.FindStringSubmatch(l); m != nil {
			out[m[1]+"["+strings.ReplaceAll(m[2], " ", ",")+"]"]++
		}
	}
	return out, nil
}
