package egvp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
)

// A document whose SHA-256 the caller gives is signed with that digest
// (the content signature does not read it again), so a document that
// changed after it was stored fails the recipient's check instead of
// being signed as it now is.
func TestBuildContentSignatureTakesTheStoredDigest(t *testing.T) {
	w := newWorld(t)
	data := pdf(4000, "stored")
	d := doc("antrag.pdf", data)
	sum := sha256.Sum256(data)
	d.SHA256 = hex.EncodeToString(sum[:])
	good, parts := w.roundTrip(t, build(t, builder(t), outgoing(t, d)))
	got, err := reader(t, generalCAs...).Read(context.Background(), good, parts, t.TempDir())
	if err != nil || got.Report.Verdict().Status != checkresult.Valid {
		t.Fatalf("stored digest matches: report %+v: %v", got.Report.Verdict(), err)
	}

	w = newWorld(t)
	other := sha256.Sum256([]byte("what was stored"))
	d.SHA256 = hex.EncodeToString(other[:])
	bad, parts := w.roundTrip(t, build(t, builder(t), outgoing(t, d)))
	got, err = reader(t, generalCAs...).Read(context.Background(), bad, parts, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if v := got.Report.Verdict(); v.Status == checkresult.Valid {
		t.Fatal("a document that differs from its stored digest verified")
	} else {
		t.Logf("verdict %s (%s)", v.Status, v.Reason)
	}
}
