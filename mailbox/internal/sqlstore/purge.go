package sqlstore

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// Purge marks the documents of finished messages purged and puts the
// blobs left without a kept reference on the garbage list; see
// mailbox.Store.
func (s *Store) Purge(ctx context.Context, p mailbox.PurgeRequest) (mailbox.PurgeResult, error) {
	var res mailbox.PurgeResult
	if p.Mailbox == "" || (p.Direction != mailbox.In && p.Direction != mailbox.Out) || p.Before.IsZero() {
		return res, fmt.Errorf("%w: purge needs a mailbox, a direction and a time", mailbox.ErrInvalidInput)
	}
	p.Now = s.stamp(p.Now)
	roles := p.Roles
	if len(roles) == 0 {
		roles = mailbox.BodyRoles
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	roleArgs := make([]any, len(roles))
	names := make([]string, len(roles))
	for i, r := range roles {
		roleArgs[i], names[i] = string(r), string(r)
	}
	sort.Strings(names)
	inRoles := `role IN (` + placeholders(len(roles)) + `)`
	err := s.write(ctx, func(tx Querier) error {
		res = mailbox.PurgeResult{}
		args := append([]any{p.Mailbox, string(p.Direction), string(mailbox.PurgeableState(p.Direction)), ns(p.Before)}, roleArgs...)
		ids, err := queryAll(ctx, tx, ScanValue[int64], `SELECT id FROM messages m WHERE mailbox = ? AND direction = ? AND state = ? AND finalized_at > 0 AND finalized_at < ?
			AND EXISTS (SELECT 1 FROM documents d WHERE d.message_id = m.id AND d.purged_at = 0 AND d.`+inRoles+`)
			ORDER BY id LIMIT `+strconv.Itoa(limit)+s.d.SkipLocked, args...)
		if err != nil {
			return err
		}
		blobs := map[string]bool{}
		for _, id := range ids {
			n, bytes, err := purgeMessage(ctx, tx, id, p.Now, inRoles, roleArgs, blobs)
			if err != nil {
				return err
			}
			res.Messages++
			res.Documents += n
			res.Bytes += bytes
			if _, err := s.appendEvent(ctx, tx, mailbox.EventInput{At: p.Now, MessageID: id, Kind: "purged", Detail: map[string]string{
				"mailbox": p.Mailbox, "direction": string(p.Direction), "roles": strings.Join(names, ","),
				"documents": strconv.Itoa(n), "bytes": strconv.FormatInt(bytes, 10),
				"finished_before": p.Before.UTC().Format(time.RFC3339)}}); err != nil {
				return err
			}
		}
		hashes := make([]string, 0, len(blobs))
		for h := range blobs {
			hashes = append(hashes, h)
		}
		sort.Strings(hashes)
		for _, h := range hashes {
			n, err := tx.Exec(ctx, `INSERT INTO blob_garbage (sha256, marked_at) SELECT `+s.d.Text+`, `+s.d.Bigint+`
				WHERE NOT EXISTS (SELECT 1 FROM documents WHERE sha256 = ? AND purged_at = 0) ON CONFLICT (sha256) DO NOTHING`, h, ns(p.Now), h)
			if err != nil {
				return err
			}
			if n > 0 {
				res.Garbage++
			}
		}
		res.More = len(ids) == limit
		return nil
	})
	if err != nil {
		return mailbox.PurgeResult{}, err
	}
	return res, nil
}

// purgeMessage marks the documents of one message purged and adds their
// blobs to blobs.
func purgeMessage(ctx context.Context, tx Querier, id int64, now time.Time, inRoles string, roleArgs []any, blobs map[string]bool) (int, int64, error) {
	rows, err := tx.Query(ctx, `UPDATE documents SET purged_at = ? WHERE message_id = ? AND purged_at = 0 AND `+inRoles+` RETURNING sha256, size`,
		append([]any{ns(now), id}, roleArgs...)...)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	n, total := 0, int64(0)
	for rows.Next() {
		var h string
		var size int64
		if err := rows.Scan(&h, &size); err != nil {
			return 0, 0, err
		}
		blobs[h] = true
		n++
		total += size
	}
	return n, total, rows.Err()
}

// BlobGarbage lists the garbage list; see mailbox.Store.
func (s *Store) BlobGarbage(ctx context.Context, after string, limit int) ([]string, error) {
	if limit <= 0 {
		limit = 100
	}
	out, err := queryAll(ctx, s.r, ScanValue[string], `SELECT sha256 FROM blob_garbage WHERE sha256 > ? ORDER BY sha256 LIMIT `+strconv.Itoa(limit), after)
	return out, s.mapErr(err)
}

// BlobReferenced reports a kept reference to a blob; see mailbox.Store.
func (s *Store) BlobReferenced(ctx context.Context, h string) (bool, error) {
	var n int
	err := s.r.QueryRow(ctx, `SELECT COUNT(*) FROM documents WHERE sha256 = ? AND purged_at = 0`, h).Scan(&n)
	return n > 0, s.mapErr(err)
}

// ForgetBlobGarbage takes blobs off the garbage list; see mailbox.Store.
func (s *Store) ForgetBlobGarbage(ctx context.Context, hashes []string) error {
	if len(hashes) == 0 {
		return nil
	}
	return s.writeTx(ctx, func(tx Querier) error {
		for _, h := range hashes {
			if _, err := tx.Exec(ctx, `DELETE FROM blob_garbage WHERE sha256 = ?`, h); err != nil {
				return err
			}
		}
		return nil
	})
}
