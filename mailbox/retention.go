package mailbox

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// RetentionRule says how long the documents of one mailbox and direction
// are kept once the message reached its end (PurgeableState).
type RetentionRule struct {
	Mailbox   string
	Direction Direction
	Keep      time.Duration
	Roles     []Role // default BodyRoles
}

// DefaultRetentionGrace is how long a blob file written last is kept
// although no kept document refers to it: a submission may have put it
// and not yet stored its row. It is far longer than the longest upload.
const DefaultRetentionGrace = 24 * time.Hour

// Retention removes the documents its rules say are kept long enough:
// Store.Purge marks them and journals each message, then CollectGarbage
// removes the blob files no kept document refers to. A process that stops
// anywhere in between loses nothing that is kept: marked documents stay
// marked, their blobs stay on the garbage list until their files are gone.
type Retention struct {
	Store Store
	Blobs BlobStore
	Rules []RetentionRule
	Grace time.Duration // default DefaultRetentionGrace
	Limit int           // messages per Purge call; default 100
	Now   func() time.Time
}

// RuleResult is what one rule purged in a run.
type RuleResult struct {
	Mailbox   string
	Direction Direction
	PurgeResult
}

// RetentionReport is the outcome of Retention.RunOnce.
type RetentionReport struct {
	Rules []RuleResult
	GarbageReport
}

// Purged reports whether the run removed anything.
func (r RetentionReport) Purged() bool {
	for _, rr := range r.Rules {
		if rr.Documents > 0 {
			return true
		}
	}
	return r.Removed > 0
}

// RunOnce applies every rule, then collects the garbage.
func (r *Retention) RunOnce(ctx context.Context) (RetentionReport, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	var rep RetentionReport
	for _, rule := range r.Rules {
		if rule.Keep <= 0 {
			continue
		}
		rr := RuleResult{Mailbox: rule.Mailbox, Direction: rule.Direction}
		for {
			t := now()
			res, err := r.Store.Purge(ctx, PurgeRequest{Mailbox: rule.Mailbox, Direction: rule.Direction,
				Before: t.Add(-rule.Keep), Roles: rule.Roles, Limit: r.Limit, Now: t})
			rr.Messages += res.Messages
			rr.Documents += res.Documents
			rr.Bytes += res.Bytes
			rr.Garbage += res.Garbage
			if err != nil {
				rep.Rules = append(rep.Rules, rr)
				return rep, err
			}
			if !res.More || ctx.Err() != nil {
				break
			}
		}
		rep.Rules = append(rep.Rules, rr)
	}
	grace := r.Grace
	if grace <= 0 {
		grace = DefaultRetentionGrace
	}
	g, err := CollectGarbage(ctx, r.Store, r.Blobs, now().Add(-grace))
	rep.GarbageReport = g
	return rep, err
}

// GarbageReport is the outcome of CollectGarbage.
type GarbageReport struct {
	Removed    int   // blob files removed
	Freed      int64 // their bytes
	Deferred   int   // written within the grace period: left for a later run
	Referenced int   // referred to again by a kept document: left in place
	Busy       bool  // another process (a backup) held the collection lock: nothing was removed
}

// CollectGarbage removes the files of the blobs on the store's garbage
// list that were last written before writtenBefore and that no document
// left unpurged refers to, and journals what it removed
// ("blobs_removed"). It takes the collection lock without waiting: while
// a backup holds it, it removes nothing and reports Busy.
func CollectGarbage(ctx context.Context, st Store, b BlobStore, writtenBefore time.Time) (GarbageReport, error) {
	var rep GarbageReport
	unlock, err := b.TryLockCollection()
	if errors.Is(err, ErrCollectionBusy) {
		rep.Busy = true
		return rep, nil
	}
	if err != nil {
		return rep, err
	}
	defer unlock()
	after := ""
	for ctx.Err() == nil {
		page, err := st.BlobGarbage(ctx, after, 200)
		if err != nil || len(page) == 0 {
			return rep, errors.Join(err, journalRemoved(ctx, st, rep))
		}
		after = page[len(page)-1]
		var forget []string
		for _, h := range page {
			out, n, err := b.Collect(h, writtenBefore, func() (bool, error) { return st.BlobReferenced(ctx, h) })
			if err != nil {
				return rep, errors.Join(err, st.ForgetBlobGarbage(ctx, forget), journalRemoved(ctx, st, rep))
			}
			switch out {
			case CollectRemoved:
				rep.Removed++
				rep.Freed += n
				forget = append(forget, h)
			case CollectGone:
				forget = append(forget, h)
			case CollectReferenced:
				rep.Referenced++
				forget = append(forget, h)
			case CollectRecent:
				rep.Deferred++
			}
		}
		if err := st.ForgetBlobGarbage(ctx, forget); err != nil {
			return rep, errors.Join(err, journalRemoved(ctx, st, rep))
		}
	}
	return rep, errors.Join(ctx.Err(), journalRemoved(ctx, st, rep))
}

// journalRemoved records the files a collection removed, if any.
func journalRemoved(ctx context.Context, st Store, rep GarbageReport) error {
	if rep.Removed == 0 {
		return nil
	}
	_, err := st.Append(context.WithoutCancel(ctx), EventInput{Kind: "blobs_removed", Detail: map[string]string{
		"blobs": strconv.Itoa(rep.Removed), "bytes": strconv.FormatInt(rep.Freed, 10)}})
	if err != nil {
		return fmt.Errorf("mailbox: journal removed blobs: %w", err)
	}
	return nil
}
