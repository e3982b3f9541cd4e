package xdomea_test

import (
	"archive/zip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/xsd"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xdomea"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

var ctx = context.Background()

func newIntake(t *testing.T, dir string) *xdomea.Intake {
	t.Helper()
	return newIntakeVersion(t, dir, xdomea.Version3)
}

func newIntakeVersion(t *testing.T, dir, version string) *xdomea.Intake {
	t.Helper()
	x, err := xdomea.NewIntake("eakte-xdomea", dir, optsFor(version), func() time.Time { return t0 })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

// TestIntakeWritesCompleteArchiveOnce: the sink writes one complete
// archive per message in each version, whose 0401 our validator (before
// writing) and xmllint (here) accept.
func TestIntakeWritesCompleteArchiveOnce(t *testing.T) {
	for _, v := range xdomea.Versions() {
		t.Run(v, func(t *testing.T) { testIntakeWritesCompleteArchiveOnce(t, v) })
	}
}

func testIntakeWritesCompleteArchiveOnce(t *testing.T, version string) {
	dir := t.TempDir()
	os.MkdirAll(dir, 0o750)
	os.WriteFile(filepath.Join(dir, ".tmp-crashed-1"), []byte("half"), 0o600)
	os.WriteFile(filepath.Join(dir, ".tmp-writing-2"), []byte("half"), 0o600)
	old, recent := t0.Add(-mailbox.StaleTempAge-time.Minute), t0.Add(-time.Minute)
	os.Chtimes(filepath.Join(dir, ".tmp-crashed-1"), old, old)
	os.Chtimes(filepath.Join(dir, ".tmp-writing-2"), recent, recent)
	x := newIntakeVersion(t, dir, version)
	if _, err := os.Stat(filepath.Join(dir, ".tmp-crashed-1")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stale temporary file kept: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".tmp-writing-2")); err != nil {
		t.Fatalf("another gateway's archive in progress was removed: %v", err)
	}
	im := sample()
	rec, err := x.Deliver(ctx, im)
	if err != nil {
		t.Fatal(err)
	}
	pid := xdomea.ProzessID("govapp_4711")
	if rec.Sink != "xdomea" || rec.Location != xdomea.ArchiveName(pid) || len(rec.ManifestSHA256) != 64 {
		t.Fatalf("record %+v", rec)
	}
	zr, err := zip.OpenReader(filepath.Join(dir, rec.Location))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var msg []byte
	for _, f := range zr.File {
		names = append(names, f.Name)
		if f.Name == pid+"_Abgabe.Abgabe.0401.xml" {
			r, _ := f.Open()
			msg = readAll(t, r)
		}
	}
	zr.Close()
	if len(names) != 6 || msg == nil {
		t.Fatalf("archive holds %v", names)
	}
	if err := xdomea.Validate(version, msg, xsd.Limits{}); err != nil {
		t.Fatalf("archived 0401 refused by our validator: %v", err)
	}
	if !strings.Contains(string(msg), "urn:xoev-de:xdomea:schema:"+version) {
		t.Fatalf("archived 0401 is not xdomea %s", version)
	}
	if out, err := xmllint(t, version, msg); err != nil {
		t.Fatalf("archived 0401 refused by xmllint: %v %s", err, out)
	}
	for _, n := range names[1:] {
		if !strings.Contains(string(msg), "<xdomea:Dateiname>"+n+"</xdomea:Dateiname>") {
			t.Errorf("%s is in the archive but not named in the message", n)
		}
	}
	// Repeated: the same record, nothing written.
	rec2, err := x.Deliver(ctx, sample())
	if err != nil || rec2.ManifestSHA256 != rec.ManifestSHA256 {
		t.Fatalf("repeat: %+v %v", rec2, err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 3 { // the archive, the index folder and the other gateway's archive in progress
		t.Fatalf("folder holds %d entries", len(ents))
	}
}

func TestIntakeExistingArchiveChecks(t *testing.T) {
	for name, tc := range map[string]struct {
		damage func(p string)
		other  func(*mailbox.IntakeMessage)
		want   error
	}{
		"truncated archive": {damage: func(p string) { b, _ := os.ReadFile(p); os.WriteFile(p, b[:len(b)/2], 0o600) }, want: mailbox.ErrIntakeIncomplete},
		"flipped byte in a member": {damage: func(p string) {
			b, _ := os.ReadFile(p)
			b[len(b)/3] ^= 0xff
			os.WriteFile(p, b, 0o600)
		}, want: mailbox.ErrIntakeIncomplete},
		"same MessageId, other original": {other: func(im *mailbox.IntakeMessage) { im.Metadata.OriginalSHA256 = strings.Repeat("0", 64) }, want: mailbox.ErrIntakeConflict},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			x := newIntake(t, dir)
			rec, err := x.Deliver(ctx, sample())
			if err != nil {
				t.Fatal(err)
			}
			if tc.damage != nil {
				tc.damage(filepath.Join(dir, rec.Location))
			}
			im := sample()
			if tc.other != nil {
				tc.other(im)
			}
			if _, err := x.Deliver(ctx, im); !errors.Is(err, tc.want) {
				t.Fatalf("%v, want %v", err, tc.want)
			}
		})
	}
}

func TestIntakeRefusesCorruptBlob(t *testing.T) {
	dir := t.TempDir()
	x := newIntake(t, dir)
	im := sample()
	im.Documents[0].SHA256 = strings.Repeat("1", 64)
	if _, err := x.Deliver(ctx, im); !errors.Is(err, mailbox.ErrBlobCorrupt) {
		t.Fatalf("%v, want ErrBlobCorrupt", err)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".zip") || strings.HasPrefix(e.Name(), ".tmp-") {
			t.Fatalf("failed hand-over left %s", e.Name())
		}
	}
}

// confirmation is a 0402 of version as a records system writes it.
func confirmation(version, pid, sgo string, ok bool, why string) []byte {
	res := "1"
	if !ok {
		res = "0"
	}
	fm := ""
	if why != "" {
		fm = "<xdomea:Fehlermeldung>" + why + "</xdomea:Fehlermeldung>"
	}
	if version == xdomea.Version4 {
		return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<xdomea:Abgabe.ImportBestaetigen.0402 xmlns:xdomea="urn:xoev-de:xdomea:schema:4.0.0" produkt="E-Akte" produkthersteller="Hersteller" standard="xdomea" version="4.0.0">
  <xdomea:nachrichtenkopf>
    <xdomea:identifikation.nachricht>
      <nachrichtenUUID>7d3c2b1a-0f0e-4d0c-8b0a-090807060504</nachrichtenUUID>
      <nachrichtentyp listURI="urn:xoev-de:xdomea:codeliste:nachrichtentyp" listVersionID="3.0"><code>0402</code></nachrichtentyp>
      <erstellungszeitpunkt>2026-03-03T08:00:00.000+01:00</erstellungszeitpunkt>
    </xdomea:identifikation.nachricht>
    <xdomea:leser><xdomea:NameInstitution><xdomea:Name>bebpo-gateway</xdomea:Name></xdomea:NameInstitution></xdomea:leser>
    <xdomea:autor><xdomea:NameInstitution><xdomea:Name>Stadt Erkelenz</xdomea:Name></xdomea:NameInstitution></xdomea:autor>
    <xdomea:ProzessID>` + pid + `</xdomea:ProzessID>
  </xdomea:nachrichtenkopf>
  <xdomea:UUIDUrsprungsnachricht>` + pid + `</xdomea:UUIDUrsprungsnachricht>
  <xdomea:LfdNrNachrichtProTyp>1</xdomea:LfdNrNachrichtProTyp>
  <xdomea:GesamtanzahlNachrichtenProTyp>1</xdomea:GesamtanzahlNachrichtenProTyp>
  <xdomea:ErfolgOderMisserfolg><xdomea:Erfolgreich>` + res + `</xdomea:Erfolgreich>` + fm + `</xdomea:ErfolgOderMisserfolg>
  <xdomea:AbgegebenesObjekt>
    <xdomea:xdomeaUUID>` + sgo + `</xdomea:xdomeaUUID>
    <xdomea:ErfolgOderMisserfolg><xdomea:Erfolgreich>` + res + `</xdomea:Erfolgreich></xdomea:ErfolgOderMisserfolg>
  </xdomea:AbgegebenesObjekt>
</xdomea:Abgabe.ImportBestaetigen.0402>
`)
	}
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<xdomea:Abgabe.ImportBestaetigen.0402 xmlns:xdomea="urn:xoev-de:xdomea:schema:3.0.0">
  <xdomea:Kopf>
    <xdomea:ProzessID>` + pid + `</xdomea:ProzessID>
    <xdomea:Nachrichtentyp listURI="urn:xoev-de:xdomea:codeliste:nachrichtentyp" listVersionID="2.0"><code>0402</code></xdomea:Nachrichtentyp>
    <xdomea:Erstellungszeitpunkt>2026-03-03T08:00:00Z</xdomea:Erstellungszeitpunkt>
    <xdomea:Absender><xdomea:Institution><xdomea:Name>Stadt Erkelenz</xdomea:Name></xdomea:Institution></xdomea:Absender>
    <xdomea:Empfaenger><xdomea:Institution><xdomea:Name>bebpo-gateway</xdomea:Name></xdomea:Institution></xdomea:Empfaenger>
  </xdomea:Kopf>
  <xdomea:AbgegebenesObjekt>
    <xdomea:IDSGO>` + sgo + `</xdomea:IDSGO>
    <xdomea:Erfolgreich>` + res + `</xdomea:Erfolgreich>` + fm + `
  </xdomea:AbgegebenesObjekt>
</xdomea:Abgabe.ImportBestaetigen.0402>
`)
}

// TestImportConfirmationJournaledOnce: a 0402 from the records system is
// checked against the schema (and xmllint agrees), found by its
// ProzessID, journaled once on the message and moved to erledigt/; one
// for an unknown Abgabe or an invalid one goes to fehlerhaft/.
func TestImportConfirmationJournaledOnce(t *testing.T) {
	for _, v := range xdomea.Versions() {
		t.Run(v, func(t *testing.T) { testImportConfirmation(t, v) })
	}
}

func testImportConfirmation(t *testing.T, version string) {
	dir := t.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, sqlite.FileName), sqlite.Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	m, err := store.InsertIncoming(ctx, mailbox.NewIncoming{Mailbox: "stadt", OSCIMessageID: "govapp_4711", ContentSHA256: strings.Repeat("a", 64),
		Sender: "DE.Justiz.lg-koeln.1", Recipient: "DE.BeBPo.erkelenz", Meta: []byte(`{}`), Now: t0,
		Documents: []mailbox.Document{{Role: mailbox.RoleOriginal, Name: "nachricht.osci", SHA256: strings.Repeat("b", 64), Size: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	x := newIntakeVersion(t, filepath.Join(dir, "eakte"), version)
	if _, err := x.Deliver(ctx, sample()); err != nil {
		t.Fatal(err)
	}
	confDir := filepath.Join(dir, "importbestaetigungen")
	os.MkdirAll(confDir, 0o750)
	pid := xdomea.ProzessID("govapp_4711")
	good := confirmation(version, pid, pid, true, "")
	if out, err := xmllint(t, version, good); err != nil {
		t.Fatalf("test 0402 refused by xmllint: %v %s", err, out)
	}
	os.WriteFile(filepath.Join(confDir, pid+"_Abgabe.ImportBestaetigen.0402.xml"), good, 0o600)
	os.WriteFile(filepath.Join(confDir, "again.xml"), good, 0o600)
	other := "0f0e0d0c-0b0a-4909-8807-060504030201"
	os.WriteFile(filepath.Join(confDir, "unknown.xml"), confirmation(version, other, other, true, ""), 0o600)
	broken := confirmation(version, pid, "kein-uuid", true, "")
	if _, err := xmllint(t, version, broken); err == nil {
		t.Fatal("xmllint accepts the broken 0402")
	}
	os.WriteFile(filepath.Join(confDir, "broken.xml"), broken, 0o600)
	root, err := os.OpenRoot(confDir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	c := &xdomea.Confirmations{Intake: x, Dir: root, Store: store, Now: func() time.Time { return t0 }}
	n, err := c.RunOnce(ctx)
	if err != nil || n != 2 {
		t.Fatalf("journaled %d (%v), want 2", n, err)
	}
	// A crash after the journal entry, before the move: the file comes
	// back and is moved without a second entry.
	os.Rename(filepath.Join(confDir, xdomea.DoneDir, "again.xml"), filepath.Join(confDir, "again.xml"))
	if n, err := c.RunOnce(ctx); err != nil || n != 0 {
		t.Fatalf("replayed file journaled %d (%v), want 0", n, err)
	}
	evs, _ := store.MessageEvents(ctx, m.ID)
	filed := 0
	for _, e := range evs {
		if e.Kind == xdomea.EventFiled {
			filed++
			if !strings.Contains(e.Detail, pid) {
				t.Errorf("filed entry %s lacks the ProzessID", e.Detail)
			}
		}
	}
	if filed != 2 {
		// good and again.xml: two confirmation files, each journaled once
		t.Fatalf("%d filed entries, want 2: %+v", filed, evs)
	}
	if got := names(t, filepath.Join(confDir, xdomea.DoneDir)); got != pid+"_Abgabe.ImportBestaetigen.0402.xml,again.xml" {
		t.Errorf("erledigt/: %s", got)
	}
	if got := names(t, filepath.Join(confDir, xdomea.FailedDir)); got != "broken.xml,unknown.xml" {
		t.Errorf("fehlerhaft/: %s", got)
	}
	if _, err := mailbox.VerifyJournal(ctx, store); err != nil {
		t.Fatal(err)
	}
	// A refusal by the records system is journaled as such.
	os.WriteFile(filepath.Join(confDir, "refused.xml"), confirmation(version, pid, pid, false, "Aktenplan fehlt"), 0o600)
	c2 := &xdomea.Confirmations{Intake: x, Dir: root, Store: store, Now: func() time.Time { return t0 }}
	if n, err := c2.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("refusal journaled %d (%v), want 1", n, err)
	}
	evs, _ = store.MessageEvents(ctx, m.ID)
	if e := evs[len(evs)-1]; e.Kind != xdomea.EventFilingRefuse || !strings.Contains(e.Detail, "Aktenplan fehlt") {
		t.Fatalf("last entry %s %s", e.Kind, e.Detail)
	}
}

func names(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return strings.Join(out, ",")
}

// TestParseConfirmation: a 0402 is read by its version's structure,
// whatever prefix it uses; in 4.0.0 a refusal of the whole Abgabe counts
// even when every object says it was imported; a 0402 of another version
// than the intake's is not schema-valid for it.
func TestParseConfirmation(t *testing.T) {
	pid := "0f0e0d0c-0b0a-4909-8807-060504030201"
	b := string(confirmation(xdomea.Version3, pid, pid, true, ""))
	b = strings.ReplaceAll(b, "<xdomea:", "<")
	b = strings.ReplaceAll(b, "</xdomea:", "</")
	b = strings.Replace(b, "xmlns:xdomea=", "xmlns=", 1)
	b = strings.ReplaceAll(b, "<code>", `<code xmlns="">`)
	c, err := xdomea.ParseConfirmation(xdomea.Version3, []byte(b), xsd.Limits{})
	if err != nil || !c.Filed() || c.ProzessID != pid || len(c.Objects) != 1 || c.Objects[0].ID != pid {
		t.Fatalf("default namespace: %+v %v", c, err)
	}
	whole := strings.Replace(string(confirmation(xdomea.Version4, pid, pid, true, "")),
		"<xdomea:Erfolgreich>1</xdomea:Erfolgreich></xdomea:ErfolgOderMisserfolg>",
		"<xdomea:Erfolgreich>0</xdomea:Erfolgreich><xdomea:Fehlermeldung>Posteingang gesperrt</xdomea:Fehlermeldung></xdomea:ErfolgOderMisserfolg>", 1)
	c, err = xdomea.ParseConfirmation(xdomea.Version4, []byte(whole), xsd.Limits{})
	if err != nil || c.Filed() || c.Message == nil || len(c.Message.Messages) != 1 || !c.Objects[0].Success {
		t.Fatalf("message-wide refusal: %+v %v", c, err)
	}
	if _, err := xdomea.ParseConfirmation(xdomea.Version4, confirmation(xdomea.Version3, pid, pid, true, ""), xsd.Limits{}); !errors.Is(err, xdomea.ErrInvalid) {
		t.Fatalf("3.0.0 confirmation for a 4.0.0 intake: %v", err)
	}
}
