package mailbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Event is one entry of the append-only audit journal. Each entry carries
// PrevHash, the SHA-256 of the previous entry's canonical encoding (for the
// first entry: GenesisHash), and Hash, the SHA-256 of its own encoding.
type Event struct {
	Seq       int64
	At        time.Time
	MessageID int64 // 0 for events about no single message
	Kind      string
	Detail    string // canonical JSON object (sorted keys)
	PrevHash  string // hex
	Hash      string // hex
}

// EventInput is what a caller supplies; the store fills in the chain.
type EventInput struct {
	At        time.Time
	MessageID int64
	Kind      string
	Detail    map[string]string
}

// GenesisHash is the PrevHash of the first journal entry: the SHA-256 of a
// fixed string, so an empty journal and a rewritten first entry are told apart.
var GenesisHash = hashHex([]byte("bebpo-gateway journal genesis v1"))

// ErrJournalBroken is returned by VerifyJournal when the chain does not hold.
var ErrJournalBroken = errors.New("mailbox: journal chain broken")

// EncodeDetail returns the canonical JSON of a detail map (encoding/json
// sorts map keys).
func EncodeDetail(d map[string]string) string {
	if len(d) == 0 {
		return "{}"
	}
	b, err := json.Marshal(d)
	if err != nil { // cannot happen for map[string]string
		panic(err)
	}
	return string(b)
}

// CanonicalEncoding is the byte string an entry's hash covers. It is
// line-oriented, quotes free text, and stores time as Unix nanoseconds in
// UTC, so every backend produces the same bytes.
func (e Event) CanonicalEncoding() []byte {
	var b strings.Builder
	b.WriteString("bebpo-journal/1\n")
	b.WriteString("seq=" + strconv.FormatInt(e.Seq, 10) + "\n")
	b.WriteString("at=" + strconv.FormatInt(e.At.UnixNano(), 10) + "\n")
	b.WriteString("message=" + strconv.FormatInt(e.MessageID, 10) + "\n")
	b.WriteString("kind=" + strconv.Quote(e.Kind) + "\n")
	b.WriteString("detail=" + strconv.Quote(e.Detail) + "\n")
	b.WriteString("prev=" + e.PrevHash + "\n")
	return []byte(b.String())
}

// Seal completes an entry that follows prev (nil for the first entry).
func Seal(in EventInput, seq int64, prevHash string) Event {
	e := Event{Seq: seq, At: in.At.UTC(), MessageID: in.MessageID, Kind: in.Kind, Detail: EncodeDetail(in.Detail), PrevHash: prevHash}
	e.Hash = hashHex(e.CanonicalEncoding())
	return e
}

func hashHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// JournalReport is the outcome of VerifyJournal.
type JournalReport struct {
	Entries  int64  // entries checked and found intact
	HeadSeq  int64  // last intact sequence number
	HeadHash string // hash of the last intact entry (anchor it elsewhere to detect truncation)
	BrokenAt int64  // first broken sequence number, 0 when intact
	Reason   string
}

// EventSource is the part of a Store VerifyJournal reads.
type EventSource interface {
	Events(ctx context.Context, after int64, limit int) ([]Event, error)
}

// VerifyJournal walks the whole journal and checks that sequence numbers
// are contiguous from 1, that each PrevHash equals the hash of the entry
// before, and that each stored Hash matches the entry's encoding. It
// returns ErrJournalBroken naming the first broken entry.
func VerifyJournal(ctx context.Context, src EventSource) (JournalReport, error) {
	r := JournalReport{HeadHash: GenesisHash}
	var after int64
	for {
		evs, err := src.Events(ctx, after, 1000)
		if err != nil {
			return r, err
		}
		if len(evs) == 0 {
			return r, nil
		}
		for _, e := range evs {
			reason := ""
			switch {
			case e.Seq != r.HeadSeq+1:
				reason = fmt.Sprintf("sequence %d follows %d", e.Seq, r.HeadSeq)
			case e.PrevHash != r.HeadHash:
				reason = "previous-entry hash does not match"
			case e.Hash != hashHex(e.CanonicalEncoding()):
				reason = "entry hash does not match its content"
			}
			if reason != "" {
				r.BrokenAt, r.Reason = e.Seq, reason
				return r, fmt.Errorf("%w: entry %d: %s", ErrJournalBroken, e.Seq, reason)
			}
			r.Entries++
			r.HeadSeq, r.HeadHash = e.Seq, e.Hash
			after = e.Seq
		}
	}
}
