package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

func TestCount(t *testing.T) {
	docs := []document{smallDocument(7, 0, 64), smallDocument(7, 1, 64)}
	d0, d1 := docs[0].SHA, docs[1].SHA
	const box = "bbbb"
	sim := func(ds ...[]string) []simDelivery {
		var out []simDelivery
		for i, d := range ds {
			out = append(out, simDelivery{Mailbox: box, IDHash: idHash(i), Docs: d})
		}
		return out
	}
	in := func(ds ...[]string) []intakeEntry {
		var out []intakeEntry
		for i, d := range ds {
			out = append(out, intakeEntry{Name: fmt.Sprint("entry", i), MessageID: fmt.Sprint("govapp_", i), Docs: d})
		}
		return out
	}
	tests := []struct {
		name   string
		sim    []simDelivery
		intake []intakeEntry
		want   string
		mism   int
	}{
		{"all there once", sim([]string{d0}, []string{d1}), in([]string{d0}, []string{d1}), "sent=2 lost=0 duplicated=0 intake=2", 0},
		{"lost before the simulator", sim([]string{d0}), in([]string{d0}), "sent=2 lost=1 duplicated=0 intake=1", 0},
		{"lost after the simulator", sim([]string{d0}, []string{d1}), in([]string{d0}), "sent=2 lost=1 duplicated=0 intake=1", 0},
		{"sent twice", sim([]string{d0}, []string{d1}, []string{d1}), in([]string{d0}, []string{d1}), "sent=2 lost=0 duplicated=1 intake=2", 0},
		{"intake twice", sim([]string{d0}, []string{d1}), in([]string{d0}, []string{d1}, []string{d1}), "sent=2 lost=0 duplicated=1 intake=1", 1},
		{"intake entry with other documents than the simulator's", sim([]string{d0}, []string{d1}), in([]string{d1}, []string{d0}), "sent=2 lost=0 duplicated=0 intake=2", 2},
		{"unknown delivery", sim([]string{d0}, []string{d1}, []string{"ff"}), in([]string{d0}, []string{d1}), "sent=2 lost=0 duplicated=1 intake=2", 0},
		{"other mailbox", append(sim([]string{d0}, []string{d1}), simDelivery{Mailbox: "cccc", IDHash: "z"}), in([]string{d0}, []string{d1}), "sent=2 lost=0 duplicated=1 intake=2", 0},
		{"damaged intake entry", sim([]string{d0}, []string{d1}), []intakeEntry{{Name: "m", MessageID: "govapp_0", Docs: []string{d0}}, {Name: "n", MessageID: "govapp_1", Docs: []string{d1}, Problems: []string{"x"}}}, "sent=2 lost=1 duplicated=0 intake=1", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := count(docs, tc.sim, tc.intake, nil, box)
			if got.line() != tc.want || got.Mismatches != tc.mism {
				t.Errorf("got %s mismatches=%d, want %s mismatches=%d (%v)", got.line(), got.Mismatches, tc.want, tc.mism, got.Details)
			}
		})
	}
}

func TestCheckEntry(t *testing.T) {
	files := map[string]string{"dokumente/a.txt": "document", "metadata.json": `{"messageId":"govapp_1"}`}
	tests := []struct {
		name    string
		change  func(dir string) error
		problem string // substring of the one expected problem; "" = none
	}{
		{"complete", func(string) error { return nil }, ""},
		{"changed document", func(d string) error { return os.WriteFile(filepath.Join(d, "dokumente/a.txt"), []byte("other"), 0o600) }, "manifest says"},
		{"extra file", func(d string) error { return os.WriteFile(filepath.Join(d, "extra.txt"), nil, 0o600) }, "not in the manifest"},
		{"missing file", func(d string) error { return os.Remove(filepath.Join(d, "dokumente/a.txt")) }, "missing"},
		{"no manifest", func(d string) error { return os.Remove(filepath.Join(d, "manifest.sha256")) }, "no manifest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "entry")
			sums := map[string]string{}
			for p, c := range files {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o600); err != nil {
					t.Fatal(err)
				}
				s := sha256.Sum256([]byte(c))
				sums[p] = hex.EncodeToString(s[:])
			}
			if err := os.WriteFile(filepath.Join(dir, "manifest.sha256"), mailbox.Manifest(sums), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := tc.change(dir); err != nil {
				t.Fatal(err)
			}
			en := checkEntry(dir)
			switch {
			case tc.problem == "" && len(en.Problems) != 0:
				t.Fatalf("problems %v", en.Problems)
			case tc.problem != "" && (len(en.Problems) != 1 || !strings.Contains(en.Problems[0], tc.problem)):
				t.Fatalf("problems %v, want one containing %q", en.Problems, tc.problem)
			case tc.problem == "" && (en.MessageID != "govapp_1" || len(en.Docs) != 1 || en.Docs[0] != sums["dokumente/a.txt"]):
				t.Fatalf("entry %+v", en)
			}
		})
	}
}

func idHash(i int) string {
	s := sha256.Sum256([]byte(fmt.Sprint("govapp_", i)))
	return hex.EncodeToString(s[:])
}
