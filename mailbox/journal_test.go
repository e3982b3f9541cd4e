package mailbox

import (
	"context"
	"errors"
	"testing"
	"time"
)

// sliceSource is a journal in memory with its anchored head.
type sliceSource struct {
	evs    []Event
	anchor JournalHead
}

func (s sliceSource) Events(_ context.Context, after int64, limit int) ([]Event, error) {
	var out []Event
	for _, e := range s.evs {
		if e.Seq > after && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (s sliceSource) AnchoredHead(context.Context) (JournalHead, error) { return s.anchor, nil }

// chain is a journal of n entries whose head is anchored.
func chain(n int) sliceSource {
	out := sliceSource{anchor: JournalHead{Hash: GenesisHash}}
	prev := GenesisHash
	for i := 1; i <= n; i++ {
		e := Seal(EventInput{At: g0.Add(time.Duration(i) * time.Second), MessageID: int64(i), Kind: "state", Detail: map[string]string{"to": "sent"}}, int64(i), prev)
		out.evs = append(out.evs, e)
		prev = e.Hash
		out.anchor = JournalHead{Seq: e.Seq, Hash: e.Hash}
	}
	return out
}

func TestVerifyJournal(t *testing.T) {
	// rechain reseals entries from i on, as someone rewriting the tail
	// without knowing the anchor would.
	rechain := func(evs []Event, i int) {
		for ; i < len(evs); i++ {
			prev := GenesisHash
			if i > 0 {
				prev = evs[i-1].Hash
			}
			e := evs[i]
			evs[i] = Seal(EventInput{At: e.At, MessageID: e.MessageID, Kind: e.Kind, Detail: map[string]string{"to": "edited"}}, e.Seq, prev)
		}
	}
	tests := []struct {
		name      string
		tamper    func(s sliceSource) sliceSource
		broken    int64
		intact    int64
		truncated bool
	}{
		{"intact", func(s sliceSource) sliceSource { return s }, 0, 5, false},
		{"detail edited", func(s sliceSource) sliceSource { s.evs[2].Detail = `{"to":"failed"}`; return s }, 3, 2, false},
		{"edited and rehashed", func(s sliceSource) sliceSource {
			s.evs[2].Kind = "operator"
			s.evs[2].Hash = hashHex(s.evs[2].CanonicalEncoding())
			return s
		}, 4, 3, false},
		{"entry removed", func(s sliceSource) sliceSource { s.evs = append(s.evs[:1], s.evs[2:]...); return s }, 3, 1, false},
		{"time changed", func(s sliceSource) sliceSource { s.evs[0].At = s.evs[0].At.Add(time.Nanosecond); return s }, 1, 0, false},
		{"first entry replaced", func(s sliceSource) sliceSource {
			s.evs[0] = Seal(EventInput{At: g0, Kind: "x"}, 1, hashHex([]byte("other")))
			return s
		}, 1, 0, false},
		{"reordered", func(s sliceSource) sliceSource { s.evs[1], s.evs[2] = s.evs[2], s.evs[1]; return s }, 3, 1, false},
		{"last two cut off", func(s sliceSource) sliceSource { s.evs = s.evs[:3]; return s }, 4, 3, true},
		{"all cut off", func(s sliceSource) sliceSource { s.evs = nil; return s }, 1, 0, true},
		{"tail rewritten and resealed", func(s sliceSource) sliceSource { rechain(s.evs, 3); return s }, 5, 4, false},
		{"anchor behind after a crash", func(s sliceSource) sliceSource {
			s.anchor = JournalHead{Seq: 3, Hash: s.evs[2].Hash}
			return s
		}, 0, 5, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.tamper(chain(5))
			r, err := VerifyJournal(context.Background(), src)
			if tc.broken == 0 {
				if err != nil || r.Entries != 5 || r.HeadHash != src.evs[4].Hash || r.AnchorBehind != 5-src.anchor.Seq {
					t.Fatalf("%+v %v", r, err)
				}
				return
			}
			if !errors.Is(err, ErrJournalBroken) || r.BrokenAt != tc.broken || errors.Is(err, ErrJournalTruncated) != tc.truncated {
				t.Fatalf("broken at %d (%v), want %d (truncated %v)", r.BrokenAt, err, tc.broken, tc.truncated)
			}
			if r.Entries != tc.intact {
				t.Fatalf("intact entries %d, want %d", r.Entries, tc.intact)
			}
		})
	}
}

// TestVerifyJournalWithoutAnchor: a removed head file fails the check.
func TestVerifyJournalWithoutAnchor(t *testing.T) {
	_, err := VerifyJournal(context.Background(), noAnchor{chain(2)})
	if !errors.Is(err, ErrJournalBroken) || !errors.Is(err, ErrNoAnchor) {
		t.Fatalf("%v, want ErrJournalBroken and ErrNoAnchor", err)
	}
}

type noAnchor struct{ sliceSource }

func (noAnchor) AnchoredHead(context.Context) (JournalHead, error) { return JournalHead{}, ErrNoAnchor }

func TestJournalHeadFile(t *testing.T) {
	path := t.TempDir() + "/gateway.db.journal-head"
	if _, err := ReadJournalHead(nil, path); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing file: %v, want ErrNotFound", err)
	}
	h := JournalHead{Seq: 42, Hash: GenesisHash}
	if err := WriteJournalHead(nil, path, h); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadJournalHead(nil, path); err != nil || got != h {
		t.Fatalf("read back %+v %v", got, err)
	}
	for _, bad := range []string{"", "bebpo-journal-head/1\nseq=-1\nhash=" + GenesisHash + "\n", "bebpo-journal-head/1\nseq=1\nhash=xyz\n",
		"bebpo-journal-head/2\nseq=1\nhash=" + GenesisHash + "\n", string(EncodeJournalHead(h)) + "more\n"} {
		if _, err := ParseJournalHead([]byte(bad)); !errors.Is(err, ErrJournalBroken) {
			t.Errorf("%q: %v, want ErrJournalBroken", bad, err)
		}
	}
}

func TestJournalEncodingStable(t *testing.T) {
	e := Seal(EventInput{At: g0, MessageID: 7, Kind: "state", Detail: map[string]string{"b": "2", "a": "line\n\"1\""}}, 1, GenesisHash)
	want := "bebpo-journal/1\nseq=1\nat=1772443800000000000\nmessage=7\nkind=\"state\"\ndetail=\"{\\\"a\\\":\\\"line\\\\n\\\\\\\"1\\\\\\\"\\\",\\\"b\\\":\\\"2\\\"}\"\nprev=" + GenesisHash + "\n"
	if got := string(e.CanonicalEncoding()); got != want {
		t.Fatalf("encoding\n got %q\nwant %q", got, want)
	}
}
