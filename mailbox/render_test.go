package mailbox

import (
	"testing"
	"time"
)

// A clerk reads German local time: a message received at 00:30 in
// Germany arrived that day, which UTC would put on the day before (the
// wrong day for a deadline); summer time says MESZ.
func TestReportShowsGermanLocalTime(t *testing.T) {
	for _, c := range []struct {
		in   any
		want string
	}{
		{time.Date(2026, 12, 2, 23, 30, 0, 0, time.UTC), "03.12.2026, 00:30:00 Uhr (MEZ)"},
		{"2026-07-01T22:15:00Z", "02.07.2026, 00:15:00 Uhr (MESZ)"},
		{"", ""},
		{time.Time{}, ""},
	} {
		if got := localTime(c.in); got != c.want {
			t.Errorf("localTime(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}
