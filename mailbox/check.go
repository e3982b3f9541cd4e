package mailbox

import (
	"context"
	"errors"
	"fmt"
)

// ErrCheckFailed is returned by Check when an invariant does not hold.
var ErrCheckFailed = errors.New("mailbox: consistency check failed")

// CheckReport is the outcome of Check.
type CheckReport struct {
	Messages  int
	Documents int
	Journal   JournalReport
	Problems  []string
}

// Check verifies the invariants a crash must never break: the journal
// chain holds; every document of every message is a durable blob with the
// recorded hash, unless retention removed it from a finished message; a
// message past queued has a MessageId; a delivered one
// has an intake record. It reads only and works beside a running gateway.
func Check(ctx context.Context, st Store, blobs BlobStore) (CheckReport, error) {
	var r CheckReport
	var err error
	if r.Journal, err = VerifyJournal(ctx, st); err != nil {
		if !errors.Is(err, ErrJournalBroken) {
			return r, err
		}
		r.Problems = append(r.Problems, err.Error())
	}
	var after int64
	for {
		ms, err := st.List(ctx, Filter{AfterID: after, Limit: 500})
		if err != nil {
			return r, err
		}
		if len(ms) == 0 {
			break
		}
		for _, head := range ms {
			after = head.ID
			m, err := st.Get(ctx, head.ID)
			if err != nil {
				return r, err
			}
			r.Messages++
			r.Problems = append(r.Problems, checkMessage(ctx, st, blobs, m, &r.Documents)...)
		}
	}
	if len(r.Problems) > 0 {
		return r, fmt.Errorf("%w: %d problems, first: %s", ErrCheckFailed, len(r.Problems), r.Problems[0])
	}
	return r, nil
}

func checkMessage(ctx context.Context, st Store, blobs BlobStore, m Message, docs *int) []string {
	var p []string
	bad := func(format string, a ...any) {
		p = append(p, fmt.Sprintf("message %d: ", m.ID)+fmt.Sprintf(format, a...))
	}
	if m.State == StateDeleted {
		return nil
	}
	for _, d := range m.Documents {
		*docs++
		if !d.PurgedAt.IsZero() {
			if !IsFinal(m.State) {
				bad("document %q purged while the message is %s", d.Name, m.State)
			}
			continue
		}
		if err := blobs.Verify(d.SHA256); err != nil {
			bad("document %q: %v", d.Name, err)
		}
	}
	switch m.State {
	case StateIDAssigned, StateSending, StateSent, StateConfirmed:
		if m.OSCIMessageID == "" {
			bad("%s without MessageId", m.State)
		}
	case StateDelivered:
		if _, err := st.IntakeRecord(ctx, m.ID); err != nil {
			bad("delivered without intake record: %v", err)
		}
	}
	if m.Direction == In && m.OSCIMessageID == "" {
		bad("incoming message without MessageId")
	}
	return p
}
