package egvp

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
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
	if v := rep.Verdict(); v.Status != checkresult.Indeterminate || v.Reason != ReasonUnsignedContent || !strings.Contains(v.Text, "project_coco/(ohne Namen)") {
		t.Fatalf("verdict %+v", v)
	}
	for _, s := range rep.Signatures {
		if s.Integrity != checkresult.OK || s.CertValidity != checkresult.Valid {
			t.Fatalf("every signature verifies, it just does not cover the content: %+v", s)
		}
	}
	if len(got.Documents) != 1 || got.Documents[0].Signed || len(got.Documents[0].SignedBy) != 0 ||
		!bytes.Equal(certstest.ReadFile(t, got.Documents[0].Path), injected) {
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

// TestContainerWithoutContentSignatureIsCoveredByTransport: real EGVP and
// beBPo messages carry no content signature; their sender's transport
// signature covers the whole storeDelivery, and the intermediary inspected
// it as intact. Every content is covered by it, so reported, and the
// verdict is valid, as the production receiver's Prüfvermerk says.
func TestContainerWithoutContentSignatureIsCoveredByTransport(t *testing.T) {
	b := builder(t)
	b.Signature = nil
	pkg := build(t, b, outgoing(t, doc("a.pdf", pdf(100, "n"))))
	got := readBack(t, newWorld(t), pkg, reader(t, generalCAs...))
	if v := got.Report.Verdict(); v.Status != checkresult.Valid {
		t.Fatalf("verdict %+v", v)
	}
	sender := certstest.PKICert(t, "mailbox-signature").Subject.String()
	for _, c := range got.Report.Contents {
		if c.Delivered && (!c.Signed || c.Coverage != CoverTransport || len(c.SignedBy) != 1 || c.SignedBy[0] != sender) {
			t.Errorf("%+v", c)
		}
	}
	if len(got.Documents) != 1 || !got.Documents[0].Signed || got.Documents[0].Coverage != CoverTransport {
		t.Fatalf("documents %+v", got.Documents)
	}
}

// TestTransportSignatureNotIntactCoversNothing: without the intermediary's
// inspection of the sender's signature, or with one that found it
// corrupted, a container without content signatures is covered by
// nothing, and the verdict is not valid.
func TestTransportSignatureNotIntactCoversNothing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		math   string // "" removes the inspections
		status string
		reason string
	}{
		{"no inspection", "", checkresult.Indeterminate, ReasonCheckIndeterminate},
		{"corrupted", checkresult.Corrupted, checkresult.Invalid, ReasonSignatureInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := builder(t)
			b.Signature = nil
			pkg := build(t, b, outgoing(t, doc("a.pdf", pdf(100, "n"))))
			d, parts := newWorld(t).roundTrip(t, pkg)
			if tc.math == "" {
				d.Card.Inspections = nil
			}
			for i := range d.Card.Inspections {
				d.Card.Inspections[i].MathResult = tc.math
			}
			got, err := reader(t, generalCAs...).Read(context.Background(), d, parts, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if v := got.Report.Verdict(); v.Status != tc.status || v.Reason != tc.reason {
				t.Fatalf("verdict %+v", v)
			}
			for _, c := range got.Report.Contents {
				if c.Signed {
					t.Errorf("covered: %+v", c)
				}
			}
		})
	}
}

// TestCoverageRule is the coverage rule as a table: content signatures
// cover what they reference, Id and octets, and alone; the transport
// signature covers only a container that carries none.
func TestCoverageRule(t *testing.T) {
	const alice, sender = "CN=Alice", "CN=Sender"
	att := osci.Content{ID: "content1", Href: "a.txt"}
	inline := osci.Content{ID: "content0", Data: []byte("x")}
	noID := osci.Content{Data: []byte("x")}
	refs := map[string][]string{"#content0": {alice}, "#content1": {alice}, "cid:a.txt": {alice}}
	tests := []struct {
		name string
		cov  coverage
		ct   osci.Content
		how  string
		by   string
	}{
		{"content signature covers inline by Id", coverage{signed: true, refs: refs, transport: sender}, inline, CoverContent, alice},
		{"content signature covers attachment by Id and octets", coverage{signed: true, refs: refs}, att, CoverContent, alice},
		{"attachment Id signed, octets not", coverage{signed: true, refs: map[string][]string{"#content1": {alice}}}, att, "", ""},
		{"attachment octets signed, Id not", coverage{signed: true, refs: map[string][]string{"cid:a.txt": {alice}}}, att, "", ""},
		{"content without Id beside signed ones", coverage{signed: true, refs: refs, transport: sender}, noID, "", ""},
		{"content signatures that did not verify cover nothing, not even by transport", coverage{signed: true, transport: sender}, inline, "", ""},
		{"no content signature: transport covers", coverage{transport: sender}, inline, CoverTransport, sender},
		{"no content signature: transport covers content without Id", coverage{transport: sender}, noID, CoverTransport, sender},
		{"no content signature, transport not intact", coverage{}, att, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			how, by := tc.cov.covers(tc.ct)
			if how != tc.how || (tc.by == "") != (len(by) == 0) || (tc.by != "" && by[0] != tc.by) {
				t.Fatalf("covers = %q %q, want %q %q", how, by, tc.how, tc.by)
			}
		})
	}
}
