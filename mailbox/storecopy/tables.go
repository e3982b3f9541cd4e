package storecopy

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"hash"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/internal/sqlstore"
)

// table is one table of the store that is copied row by row, with the
// order both sides are read in for the digest: its primary key, text
// compared bytewise (SQLite's BINARY, PostgreSQL's "C").
type table struct {
	name              string
	srcOrder, pgOrder string
}

// tables are copied in this order (referenced rows first).
var tables = []table{
	{"messages", "id", "id"},
	{"documents", "message_id, seq", "message_id, seq"},
	{"process_cards", "message_id", "message_id"},
	{"intake_records", "message_id", "message_id"},
	{"journal", "seq", "seq"},
	{"fetch_attempts", "mailbox, osci_message_id", `mailbox COLLATE "C", osci_message_id COLLATE "C"`},
	{"blob_garbage", "sha256", `sha256 COLLATE "C"`},
}

// notCopied are the source's tables that are deliberately left behind:
// journal_head is set from the verified head, schema_migrations and
// journal_anchor are each store's own.
var notCopied = []string{"schema_migrations", "journal_anchor", "journal_head"}

// columns returns the columns of every copied table, in the target's
// order, after checking that the source has the same tables and columns:
// a table or column one side lacks would be lost or left empty.
func columns(ctx context.Context, stx *sql.Tx, tx pgx.Tx) (map[string][]string, error) {
	srcTables, err := sqliteStrings(ctx, stx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	for _, n := range srcTables {
		if !slices.ContainsFunc(tables, func(t table) bool { return t.name == n }) && !slices.Contains(notCopied, n) {
			return nil, fmt.Errorf("%w: the source has a table %s this program does not copy", ErrSchema, n)
		}
	}
	out := map[string][]string{}
	for _, t := range tables {
		src, err := sqliteStrings(ctx, stx, `SELECT name FROM pragma_table_info(?) ORDER BY name`, t.name)
		if err != nil {
			return nil, err
		}
		rows, err := tx.Query(ctx, `SELECT column_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, t.name)
		if err != nil {
			return nil, err
		}
		dst, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, err
		}
		sorted := slices.Sorted(slices.Values(dst))
		if !slices.Equal(src, sorted) {
			return nil, fmt.Errorf("%w: %s has columns %s in the source, %s in the target", ErrSchema, t.name,
				strings.Join(src, ","), strings.Join(sorted, ","))
		}
		out[t.name] = dst
	}
	return out, nil
}

func sqliteStrings(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return sqlstore.ReadAll(rows, sqlstore.ScanValue[string])
}

// digest is a SHA-256 over rows in an encoding that both drivers' values
// map to alike: an integer is its decimal, text quoted, NULL a marker.
// Equal digests mean every column of every row arrived unchanged.
type digest struct{ h hash.Hash }

func newDigest() digest { return digest{sha256.New()} }

func (d digest) add(row []any) {
	b := make([]byte, 0, 256)
	for i, v := range row {
		if i > 0 {
			b = append(b, 0x1f)
		}
		switch v := v.(type) {
		case nil:
			b = append(b, 'N')
		case int64:
			b = strconv.AppendInt(append(b, 'i'), v, 10)
		case int32:
			b = strconv.AppendInt(append(b, 'i'), int64(v), 10)
		case int16:
			b = strconv.AppendInt(append(b, 'i'), int64(v), 10)
		case string:
			b = strconv.AppendQuote(append(b, 's'), v)
		case []byte:
			b = append(append(b, 'b'), hex.EncodeToString(v)...)
		default: // a type neither store writes: never equal to the other side
			b = fmt.Appendf(b, "?%T:%v", v, v)
		}
	}
	d.h.Write(append(b, '\n'))
}

func (d digest) sum() string { return hex.EncodeToString(d.h.Sum(nil)) }
