package storecopy

import (
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/postgres/pgtest"
)

// BenchmarkSQLiteToPostgres moves a store of 2,000 messages (1,000 each
// way, walked through their states) and their journal, checks included;
// the report's figure is the time per move.
func BenchmarkSQLiteToPostgres(b *testing.B) {
	s := filledSite(b, 1000, 1000, 10000)
	b.ResetTimer()
	for range b.N {
		rep, err := SQLiteToPostgres(ctx, s.st, pgtest.DSN(b), Options{HeadPath: headPath(b)})
		if err != nil || !rep.Match {
			b.Fatalf("copy: %+v %v", rep, err)
		}
		b.ReportMetric(float64(rep.Source.Entries), "entries")
	}
}
