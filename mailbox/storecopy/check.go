package storecopy

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/postgres"
)

// check opens the committed target as a gateway does (which anchors its
// journal head), verifies its journal and reads every table back.
func check(ctx context.Context, dsn string, rep *Report, opt Options) error {
	st, err := postgres.Open(ctx, dsn, postgres.Options{HeadPath: opt.HeadPath, Node: opt.Node, MaxConns: 2, Now: opt.Now})
	if err != nil {
		return fmt.Errorf("storecopy: open the copy: %w", err)
	}
	defer st.Close()
	var headRow mailbox.JournalHead
	err = st.ReadTx(ctx, func(tx pgx.Tx) error {
		for i, t := range rep.Tables {
			n, sum, err := readTable(ctx, tx, tables[i], t.Name)
			if err != nil {
				return fmt.Errorf("storecopy: read back %s: %w", t.Name, err)
			}
			rep.Tables[i].Target, rep.Tables[i].TargetSHA256 = n, sum
		}
		return tx.QueryRow(ctx, `SELECT seq, hash FROM journal_head WHERE id = 1`).Scan(&headRow.Seq, &headRow.Hash)
	})
	if err != nil {
		return err
	}
	rep.Target, err = mailbox.VerifyJournal(ctx, st)
	if err != nil {
		return fmt.Errorf("%w: target: %w", ErrMismatch, err)
	}
	var diff []string
	for _, t := range rep.Tables {
		if t.Source != t.Target || t.SourceSHA256 != t.TargetSHA256 {
			diff = append(diff, fmt.Sprintf("%s (%d rows, %d copied)", t.Name, t.Source, t.Target))
		}
	}
	if rep.Source.HeadSeq != rep.Target.HeadSeq || rep.Source.HeadHash != rep.Target.HeadHash {
		diff = append(diff, fmt.Sprintf("journal head (#%d, copy #%d)", rep.Source.HeadSeq, rep.Target.HeadSeq))
	}
	if headRow.Seq != rep.Target.HeadSeq || headRow.Hash != headRowHash(mailbox.JournalHead{Seq: rep.Target.HeadSeq, Hash: rep.Target.HeadHash}) {
		diff = append(diff, fmt.Sprintf("journal_head row (#%d)", headRow.Seq))
	}
	if len(diff) > 0 {
		return fmt.Errorf("%w: %s", ErrMismatch, strings.Join(diff, ", "))
	}
	rep.Match = true
	return nil
}

func readTable(ctx context.Context, tx pgx.Tx, t table, name string) (int64, string, error) {
	if t.name != name {
		return 0, "", fmt.Errorf("table %s out of order", name)
	}
	rows, err := tx.Query(ctx, "SELECT * FROM "+t.name+" LIMIT 0")
	if err != nil {
		return 0, "", err
	}
	var cols []string
	for _, f := range rows.FieldDescriptions() {
		cols = append(cols, f.Name)
	}
	rows.Close()
	rows, err = tx.Query(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+t.name+" ORDER BY "+t.pgOrder)
	if err != nil {
		return 0, "", err
	}
	defer rows.Close()
	d := newDigest()
	var n int64
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			return 0, "", err
		}
		d.add(v)
		n++
	}
	return n, d.sum(), rows.Err()
}
