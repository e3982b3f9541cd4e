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
	HeadHash string // hash of the last intact entry
	BrokenAt int64  // first broken (or, truncated, first missing) sequence number, 0 when intact
	Reason   string
	// Anchor is the head kept outside the journal (see Store.AnchoredHead).
	// AnchorBehind counts the entries after it: committed by a process
	// that stopped before anchoring them, and covered by the chain alone.
	Anchor       JournalHead
	AnchorBehind int64
}

// EventSource is the part of a Store VerifyJournal reads.
type EventSource interface {
	Events(ctx context.Context, after int64, limit int) ([]Event, error)
	AnchoredHead(ctx context.Context) (JournalHead, error)
}

// VerifyJournal walks the whole journal and checks that sequence numbers
// are contiguous from 1, that each PrevHash equals the hash of the entry
// before, that each stored Hash matches the entry's encoding, and that the
// journal holds the head anchored outside it: the anchored entry is there
// with the anchored hash, so cutting entries off the end (ErrJournalTruncated)
// or rewriting the chain up to the anchor is detected as well as an edited,
// removed or reordered entry. It returns ErrJournalBroken naming the first
// broken entry; with the anchor missing (ErrNoAnchor) it fails too.
func VerifyJournal(ctx context.Context, src EventSource) (JournalReport, error) {
	r := JournalReport{HeadHash: GenesisHash}
	anchor, err := src.AnchoredHead(ctx)
	if errors.Is(err, ErrNoAnchor) {
		r.Reason = "the anchored journal head is missing: truncation cannot be ruled out"
		return r, fmt.Errorf("%w: %w", ErrJournalBroken, err)
	}
	if err != nil {
		return r, err
	}
	r.Anchor = anchor
	broken := func(seq int64, reason string, also error) (JournalReport, error) {
		r.BrokenAt, r.Reason = seq, reason
		if also != nil {
			return r, fmt.Errorf("%w: %w: entry %d: %s", ErrJournalBroken, also, seq, reason)
		}
		return r, fmt.Errorf("%w: entry %d: %s", ErrJournalBroken, seq, reason)
	}
	if anchor.Seq == 0 && anchor.Hash != GenesisHash {
		return broken(1, "the anchored head of an empty journal is not the genesis hash", nil)
	}
	var after int64
	for {
		evs, err := src.Events(ctx, after, 1000)
		if err != nil {
			return r, err
		}
		if len(evs) == 0 {
			break
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
			case e.Seq == anchor.Seq && e.Hash != anchor.Hash:
				reason = "the journal up to this entry was rewritten: its hash differs from the anchored head"
			}
			if reason != "" {
				return broken(e.Seq, reason, nil)
			}
			r.Entries++
			r.HeadSeq, r.HeadHash = e.Seq, e.Hash
			after = e.Seq
		}
	}
	if anchor.Seq > r.HeadSeq {
		return broken(r.HeadSeq+1, fmt.Sprintf("truncated: the journal ends at entry %d, its anchored head is entry %d", r.HeadSeq, anchor.Seq), ErrJournalTruncated)
	}
	r.AnchorBehind = r.HeadSeq - anchor.Seq
	return r, nil
}
