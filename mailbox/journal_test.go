package mailbox

import (
	"context"
	"errors"
	"testing"
	"time"
)

type sliceSource []Event

func (s sliceSource) Events(_ context.Context, after int64, limit int) ([]Event, error) {
	var out []Event
	for _, e := range s {
		if e.Seq > after && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func chain(n int) sliceSource {
	var out sliceSource
	prev := GenesisHash
	for i := 1; i <= n; i++ {
		e := Seal(EventInput{At: g0.Add(time.Duration(i) * time.Second), MessageID: int64(i), Kind: "state", Detail: map[string]string{"to": "sent"}}, int64(i), prev)
		out = append(out, e)
		prev = e.Hash
	}
	return out
}

func TestVerifyJournal(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(s sliceSource) sliceSource
		broken int64
		intact int64
	}{
		{"intact", func(s sliceSource) sliceSource { return s }, 0, 5},
		{"detail edited", func(s sliceSource) sliceSource { s[2].Detail = `{"to":"failed"}`; return s }, 3, 2},
		{"edited and rehashed", func(s sliceSource) sliceSource {
			s[2].Kind = "operator"
			s[2].Hash = hashHex(s[2].CanonicalEncoding())
			return s
		}, 4, 3},
		{"entry removed", func(s sliceSource) sliceSource { return append(s[:1], s[2:]...) }, 3, 1},
		{"time changed", func(s sliceSource) sliceSource { s[0].At = s[0].At.Add(time.Nanosecond); return s }, 1, 0},
		{"first entry replaced", func(s sliceSource) sliceSource {
			s[0] = Seal(EventInput{At: g0, Kind: "x"}, 1, hashHex([]byte("other")))
			return s
		}, 1, 0},
		{"reordered", func(s sliceSource) sliceSource { s[1], s[2] = s[2], s[1]; return s }, 3, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.tamper(chain(5))
			r, err := VerifyJournal(context.Background(), src)
			if tc.broken == 0 {
				if err != nil || r.Entries != 5 || r.HeadHash != src[4].Hash {
					t.Fatalf("%+v %v", r, err)
				}
				return
			}
			if !errors.Is(err, ErrJournalBroken) || r.BrokenAt != tc.broken {
				t.Fatalf("broken at %d (%v), want %d", r.BrokenAt, err, tc.broken)
			}
			if r.Entries != tc.intact {
				t.Fatalf("intact entries %d, want %d", r.Entries, tc.intact)
			}
		})
	}
}

func TestJournalEncodingStable(t *testing.T) {
	e := Seal(EventInput{At: g0, MessageID: 7, Kind: "state", Detail: map[string]string{"b": "2", "a": "line\n\"1\""}}, 1, GenesisHash)
	want := "bebpo-journal/1\nseq=1\nat=1772443800000000000\nmessage=7\nkind=\"state\"\ndetail=\"{\\\"a\\\":\\\"line\\\\n\\\\\\\"1\\\\\\\"\\\",\\\"b\\\":\\\"2\\\"}\"\nprev=" + GenesisHash + "\n"
	if got := string(e.CanonicalEncoding()); got != want {
		t.Fatalf("encoding\n got %q\nwant %q", got, want)
	}
}
