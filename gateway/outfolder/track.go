package outfolder

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"path"
	"time"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/logging"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/durable"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// Messages is where the watcher follows the messages it submitted (the
// store).
type Messages interface {
	Get(ctx context.Context, id int64) (mailbox.Message, error)
	ProcessCard(ctx context.Context, id int64) (mailbox.ProcessCard, error)
}

// Uploads is the byte budget the watcher shares with the API: it waits
// for it rather than being refused (api.UploadBudget).
type Uploads interface {
	Acquire(ctx context.Context, n int64) (release func(), err error)
}

// What result.json says of a message's state: the four a specialist
// application acts on, and held and deleted as an operator left them.
const (
	ResultQueued    = "queued"    // accepted, not yet taken by the intermediary
	ResultSent      = "sent"      // the intermediary accepted it (sentAt)
	ResultConfirmed = "confirmed" // the recipient fetched it (receptionAt)
	ResultFailed    = "failed"    // given up (code, reason); an operator may requeue it
	ResultHeld      = "held"
	ResultDeleted   = "deleted"
)

// resultState maps a message state to the state result.json shows, and
// says whether it is an end (nothing changes without an operator).
func resultState(s mailbox.State) (string, bool) {
	switch s {
	case mailbox.StateSent:
		return ResultSent, false
	case mailbox.StateConfirmed:
		return ResultConfirmed, true
	case mailbox.StateFailed:
		return ResultFailed, true
	case mailbox.StateHeld:
		return ResultHeld, false
	case mailbox.StateDeleted:
		return ResultDeleted, true
	}
	return ResultQueued, false
}

// follow fills res from the message's row and process card; it returns
// whether the message reached its end.
func (o *Folder) follow(ctx context.Context, res *Result, m mailbox.Message) bool {
	state, final := resultState(m.State)
	res.ID, res.State, res.OSCIMessageID = m.ID, state, m.OSCIMessageID
	res.Code, res.Reason = "", ""
	if m.State == mailbox.StateFailed {
		res.Code, res.Reason = m.LastErrorCode, m.LastErrorText
	}
	if state == ResultSent || state == ResultConfirmed {
		if card, err := o.Messages.ProcessCard(ctx, m.ID); err == nil {
			res.SentAt, res.ReceptionAt = timePtr(card.Creation), timePtr(card.Reception)
		}
	}
	return final
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// track brings result.json of every submission in done/ whose message has
// not reached its end up to date, each written atomically when it
// changed. done/ is read once; afterwards the watcher follows what it
// moved there itself.
func (r *round) track(ctx context.Context) error {
	if r.Messages == nil {
		return nil
	}
	if r.tracked == nil {
		r.tracked = map[string]string{}
		names, err := r.subdirs(Done)
		if err != nil {
			return err
		}
		for _, name := range names {
			if res, err := r.readResult(path.Join(Done, name)); err == nil && res.ID != 0 {
				if _, final := resultStateName(res.State); !final {
					r.tracked[name] = res.State
				}
			}
		}
	}
	for name := range r.tracked {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		dir := path.Join(Done, name)
		if fi, err := r.root.Lstat(dir); err != nil || !fi.IsDir() {
			delete(r.tracked, name) // moved away (or replaced by something else): no longer ours to write
			continue
		}
		res, err := r.readResult(dir)
		if err != nil || res.ID == 0 {
			delete(r.tracked, name)
			continue
		}
		m, err := r.Messages.Get(ctx, res.ID)
		if errors.Is(err, mailbox.ErrNotFound) {
			delete(r.tracked, name)
			continue
		}
		if err != nil {
			return err
		}
		before := res
		final := r.follow(ctx, &res, m)
		if final {
			delete(r.tracked, name)
		}
		if sameResult(before, res) {
			continue
		}
		res.At = r.Now().UTC()
		if err := r.writeResult(dir, res); err != nil {
			return err
		}
		r.Logger.Info("outgoing folder: result updated", zap.String("submission", name),
			zap.Int64(logging.KeyMessageID, res.ID), zap.String(logging.KeyState, res.State))
	}
	return nil
}

// resultStateName says whether a state written to result.json is an end.
func resultStateName(s string) (string, bool) {
	switch s {
	case ResultConfirmed, ResultFailed, ResultDeleted:
		return s, true
	}
	return s, false
}

func sameResult(a, b Result) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// readResult reads result.json of a submission directory, at most 64 KiB,
// never through a link.
func (r *round) readResult(dir string) (Result, error) {
	var res Result
	f, _, err := r.openRegular(path.Join(dir, ResultFile))
	if err != nil {
		return res, err
	}
	defer f.Close()
	err = json.NewDecoder(io.LimitReader(f, 64<<10)).Decode(&res)
	return res, err
}

// writeResult replaces result.json of dir atomically; the temporary file
// is written beside it (a name ownFile knows).
func (r *round) writeResult(dir string, res Result) error {
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return durable.WriteFileIn(r.root, path.Join(dir, ResultFile), "", append(data, '\n'), 0o640)
}
