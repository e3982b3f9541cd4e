package egvp

import (
	"bytes"
	"strings"
	"testing"
)

// TestUnsignedInlineContentIsNotValid: an inline Content without an Id in
// a signed, encrypted container lies outside every signature reference.
// It is delivered and reported as unsigned, the signed forms beside it as
// signed, and the verdict is not valid.
func TestUnsignedInlineContentIsNotValid(t *testing.T) {
	o := outgoing(t)
	injected := []byte("%PDF-1.7 nicht signiert")
	got := readBack(t, newWorld(t), injectInline(t, o, injected), reader(t, generalCAs...))
	rep := got.Report
	if v := rep.Verdict(); v.Status != ResultIndeterminate || v.Reason != ReasonUnsignedContent || !strings.Contains(v.Text, "project_coco/(ohne Namen)") {
		t.Fatalf("verdict %+v", v)
	}
	for _, s := range rep.Signatures {
		if s.Integrity != ResultOK || s.CertValidity != ResultValid {
			t.Fatalf("every signature verifies, it just does not cover the content: %+v", s)
		}
	}
	if len(got.Documents) != 1 || got.Documents[0].Signed || len(got.Documents[0].SignedBy) != 0 ||
		!bytes.Equal(readFile(t, got.Documents[0].Path), injected) {
		t.Fatalf("documents %+v", got.Documents)
	}
	signed := map[string]bool{}
	for _, c := range rep.Contents {
		signed[c.Container+"/"+c.Name] = c.Signed
	}
	want := map[string]bool{"project_coco/" + FileHersteller: true, "project_coco/" + FileNachricht: true, "project_coco/" + FileVisitenkarte: true,
		"project_coco/": false, "govello_coco/" + FileAdditionalInfos: true}
	if len(signed) != len(want) {
		t.Fatalf("contents %+v", rep.Contents)
	}
	for k, v := range want {
		if signed[k] != v {
			t.Errorf("%s signed = %v", k, signed[k])
		}
	}
}

// TestUnsignedContainersAreNotValid: without content signatures every
// delivered content is reported unsigned and the verdict is not valid,
// however good the transport signatures are.
func TestUnsignedContainersAreNotValid(t *testing.T) {
	b := builder(t)
	b.Signature = nil
	pkg, err := b.Build(outgoing(t, doc("a.pdf", pdf(100, "n"))), pkiCert(t, "mailbox-cipher"))
	if err != nil {
		t.Fatal(err)
	}
	defer pkg.Close()
	got := readBack(t, newWorld(t), pkg, reader(t, generalCAs...))
	if v := got.Report.Verdict(); v.Status != ResultIndeterminate || v.Reason != ReasonUnsignedContent {
		t.Fatalf("verdict %+v", v)
	}
	for _, c := range got.Report.Contents {
		if c.Signed {
			t.Errorf("%+v", c)
		}
	}
	if len(got.Documents) != 1 || got.Documents[0].Signed {
		t.Fatalf("documents %+v", got.Documents)
	}
}
