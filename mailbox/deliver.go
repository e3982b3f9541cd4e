package mailbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
)

// Deliverer is the intake engine: it classifies received messages by their
// verification report (received → quarantined | intake_pending) and hands
// verified ones to the eAkte intake (intake_pending → delivered).
type Deliverer struct {
	Store  Store
	Blobs  BlobStore
	Sink   Intake
	Policy RetryPolicy // default DefaultIntakePolicy: retried forever
	Owner  string
	Lease  time.Duration // default 10 minutes
	Batch  int           // default 8
	// Width is how many messages are handed over at once (default 1):
	// above 1, the fsyncs of one hand-over overlap with another's. They
	// start in claim order; the intake sees no order among them.
	Width int
	Now   func() time.Time
	Rand  io.Reader
	// Stale carries leases a failed round could not end into the next
	// round (see Sender.Stale).
	Stale *StaleLeases
}

func (d *Deliverer) defaults() {
	if d.Policy.Initial == 0 {
		d.Policy = DefaultIntakePolicy()
	}
	if d.Lease == 0 {
		d.Lease = 10 * time.Minute
	}
	if d.Batch == 0 {
		d.Batch = 8
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Owner == "" {
		d.Owner = "intake"
	}
}

// RunOnce works through one batch; see Sender.RunOnce.
func (d *Deliverer) RunOnce(ctx context.Context) (int, error) {
	d.defaults()
	return leaseRound{store: d.Store, dir: In, owner: d.Owner, lease: d.Lease, batch: d.Batch, now: d.Now, stale: d.Stale, width: d.Width}.run(ctx, d.process)
}

func (d *Deliverer) step(ctx context.Context, m Message, c Change) (Message, error) {
	c.ID, c.Owner, c.Token, c.Now = m.ID, d.Owner, m.LeaseToken, d.Now()
	return d.Store.Apply(ctx, c)
}

func (d *Deliverer) process(ctx context.Context, m Message) error {
	var meta IncomingMeta
	if err := json.Unmarshal(m.Meta, &meta); err != nil {
		meta.Report = unreadableReport(err)
	}
	proven := false
	if m.State == StateReceived {
		if meta.Report.Status() == checkresult.Invalid {
			code, text := meta.Report.QuarantineReason()
			_, err := d.step(ctx, m, Change{To: StateQuarantined, ErrCode: code, ErrText: text})
			return ignoreLost(err)
		}
		var err error
		if m, err = d.step(ctx, m, Change{To: StateIntakePending, KeepLease: true, Next: d.Now()}); err != nil {
			return ignoreLost(err)
		}
		proven = true
	}
	card, err := d.Store.ProcessCard(ctx, m.ID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	im, err := BuildIntakeMessage(m, meta, card, d.Blobs)
	if err == nil {
		var rec IntakeRecord
		err = withLease(ctx, d.Store, m, d.Owner, d.Lease, d.Now, proven, func(ctx context.Context) error {
			var err error
			rec, err = d.Sink.Deliver(ctx, im)
			return err
		})
		if err == nil {
			c := Change{To: StateDelivered, Intake: &rec, ClearError: true}
			if rec.Route != "" {
				c.Detail = map[string]string{"route": rec.Route}
			}
			_, err = d.step(ctx, m, c)
			return ignoreLost(err)
		}
	}
	now := d.Now()
	code := "intake"
	if errors.Is(err, ErrDiskFull) {
		code = "disk_full"
	}
	_, serr := d.step(ctx, m, Change{To: StateIntakePending, Next: now.Add(d.Policy.Delay(m.Attempts, d.Rand)), ErrCode: code, ErrText: err.Error()})
	return ignoreLost(serr)
}

// BuildIntakeMessage assembles what a sink hands over for message m.
func BuildIntakeMessage(m Message, meta IncomingMeta, card ProcessCard, blobs BlobStore) (*IntakeMessage, error) {
	im := &IntakeMessage{Report: meta.Report}
	var names []string
	var docs []Document
	for _, doc := range m.Documents {
		if doc.Role == RoleOriginal {
			im.Original = blobFile(blobs, doc)
			continue
		}
		docs = append(docs, doc)
		names = append(names, doc.Name)
	}
	if im.Original.Open == nil {
		return nil, fmt.Errorf("%w: message %d has no original", ErrBlobMissing, m.ID)
	}
	im.Original.FileName = FileOriginal
	md := IntakeMetadata{Version: intakeFormatVer, MessageID: m.OSCIMessageID, Mailbox: m.Mailbox, Sender: meta.Sender,
		OSCISubject: meta.OSCISubject, UserSubject: meta.UserSubject, CaseNumberSender: meta.CaseNumberSender,
		CaseNumberRecipient: meta.CaseNumberRecipient, XJustizMessageID: meta.XJustizMessageID, EEBRequested: meta.EEBRequested,
		Creation: fmtTime(card.Creation), Forwarding: fmtTime(card.Forwarding), Reception: fmtTime(card.Reception),
		StoredAt: fmtTime(m.CreatedAt), OriginalSHA256: im.Original.SHA256, VerificationStatus: meta.Report.Status(),
		VerificationReason: meta.Report.Reason, VHNPresent: meta.Report.VHNPresent, DocumentSignatureStatus: meta.Report.DocumentVerdict, SameContentAs: m.SameContentAs, Notes: meta.Report.Notes,
		Documents: []DocumentMeta{}}
	if md.Sender.Claimed.SafeID == "" {
		md.Sender.Claimed.SafeID = m.Sender
	}
	for i, safe := range UniqueFileNames(names) {
		f := blobFile(blobs, docs[i])
		f.FileName = safe
		im.Documents = append(im.Documents, f)
		signed, how, by := meta.Report.DocumentSignature(f.OriginalName)
		md.Documents = append(md.Documents, DocumentMeta{FileName: safe, OriginalName: f.OriginalName, Size: f.Size, SHA256: f.SHA256,
			ContentType: f.ContentType, Signed: signed, Coverage: how, SignedBy: by, DocumentSignature: meta.Report.DocumentSignatureResult(f.OriginalName)})
	}
	im.Metadata = md
	return im, nil
}
