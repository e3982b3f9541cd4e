package register_test

import (
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register"
)

func eur(t *testing.T, s string) register.Cents {
	t.Helper()
	c, err := register.ParseEUR(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCheckAtTheEdges is the table of §6 Abs. 1 WRegG at its thresholds.
func TestCheckAtTheEdges(t *testing.T) {
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 12, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name     string
		value    string
		kind     register.AuthorityKind
		contract register.ContractKind
		date     time.Time
		required bool
	}{
		// §6 Abs. 1 Satz 1 WRegG: public authority (§99 GWB), 30,000 EUR net.
		{"public below", "29999.99", register.KindPublic, "", d(2026, 3, 1), false},
		{"public at", "30000.00", register.KindPublic, "", d(2026, 3, 1), true},
		{"public works at", "30000", register.KindPublic, register.ContractWorks, d(2026, 3, 1), true},
		// §6 Abs. 1 Satz 2 WRegG with §106 GWB; 2026/2027: Delegated
		// Regulation (EU) 2025/2150 (2014/25/EU): supplies/services 432,000, works 5,404,000.
		{"sector services 2026 below", "431999.99", register.KindSector, register.ContractServices, d(2026, 3, 1), false},
		{"sector services 2026 at", "432000", register.KindSector, register.ContractServices, d(2026, 3, 1), true},
		{"sector works 2026 below", "5403999.99", register.KindSector, register.ContractWorks, d(2026, 3, 1), false},
		{"sector works 2026 at", "5404000", register.KindSector, register.ContractWorks, d(2026, 3, 1), true},
		// 2024/2025 (2014/25/EU): 443,000 — the day before the 2026 row applies.
		{"sector services 2025 below", "442999.99", register.KindSector, register.ContractSupplies, d(2025, 12, 31), false},
		{"sector services 2025 at", "443000", register.KindSector, register.ContractSupplies, d(2025, 12, 31), true},
		// Annex XVII of 2014/25/EU (social services): 1,000,000.
		{"sector social at", "1000000", register.KindSector, register.ContractSocial, d(2026, 3, 1), true},
		// Concessions (2014/23/EU): 2026 Delegated Regulation (EU) 2025/2151, 5,404,000;
		// 2024/2025 Delegated Regulation (EU) 2023/2497, 5,538,000.
		{"concession 2026 below", "5403999.99", register.KindConcession, "", d(2026, 3, 1), false},
		{"concession 2026 at", "5404000", register.KindConcession, "", d(2026, 3, 1), true},
		{"concession 2025 below", "5537999.99", register.KindConcession, "", d(2025, 6, 1), false},
		{"concession 2025 at", "5538000", register.KindConcession, "", d(2025, 6, 1), true},
		// 2022/2023: sector 431,000, concessions 5,382,000.
		{"sector 2023 at", "431000", register.KindSector, register.ContractServices, d(2023, 6, 1), true},
		// Before 1 June 2022 there was no duty (§12 Abs. 2 WRegG).
		{"before the duty", "1000000", register.KindPublic, "", d(2022, 5, 31), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := register.Check(eur(t, tc.value), tc.kind, tc.contract, tc.date)
			if err != nil {
				t.Fatal(err)
			}
			if got.Required != tc.required || got.Reason == "" || got.Source == "" {
				t.Fatalf("Check(%s, %s, %s) = %+v, want required=%v with reason and source", tc.value, tc.kind, tc.contract, got, tc.required)
			}
		})
	}
}

func TestParseEURRefusesWhatItCannotRead(t *testing.T) {
	for _, s := range []string{"", "30.000,00", "1e5", "-5", "12.345", "abc"} {
		if _, err := register.ParseEUR(s); err == nil {
			t.Errorf("ParseEUR(%q) accepted", s)
		}
	}
	if c := eur(t, "29999,9"); c != 2999990 || c.String() != "29.999,90 EUR" {
		t.Fatalf("got %d %s", c, c)
	}
}

// TestTwoMonthsByTheCalendar: §6 Abs. 1 Satz 5 WRegG counted by §§187,
// 188 BGB. On 10 March 2026 an answer of 59 days ago (10 January) is
// usable, one of 61 days ago (8 January) is not.
func TestTwoMonthsByTheCalendar(t *testing.T) {
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		days int
		ok   bool
	}{{59, true}, {60, false}, {61, false}} {
		if got := register.Usable(now.AddDate(0, 0, -tc.days), now); got != tc.ok {
			t.Errorf("%d days: usable %v, want %v", tc.days, got, tc.ok)
		}
	}
	// §188 Abs. 3 BGB: 31 December runs to the last day of February.
	if got := register.ValidUntil(time.Date(2025, 12, 31, 10, 0, 0, 0, time.UTC)); got.Format("2006-01-02") != "2026-02-28" {
		t.Fatalf("ValidUntil(31.12.2025) = %s", got)
	}
}
