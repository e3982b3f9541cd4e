package addressbook

import (
	"sort"
	"strings"
)

// Lookup finds the entries text names: by SAFE-ID (any part, without
// regard to case), by court code (exact, e.g. F1100) or by any part of
// the name, organisation or court name, without regard to case, umlauts
// or ß (Köln = Koeln = koln, Straße = Strasse). Entries whose SAFE-ID or
// court code matches come first, then the rest by name. Each entry is
// given as Resolve gives it (an entry of an earlier version with the name
// of its intermediary).
func (ab *Book) Lookup(text string) []Recipient {
	q := fold(text)
	if q == "" {
		return nil
	}
	code := strings.ToUpper(strings.TrimSpace(text))
	type hit struct {
		r    Recipient
		rank int
	}
	var hits []hit
	ab.mu.RLock()
	for _, r := range ab.entries {
		rank := 3
		switch {
		case strings.EqualFold(r.SafeID, strings.TrimSpace(text)):
			rank = 0
		case r.CourtCode != "" && r.CourtCode == code:
			rank = 1
		case strings.Contains(strings.ToLower(r.SafeID), strings.ToLower(strings.TrimSpace(text))):
			rank = 2
		case strings.Contains(fold(r.Name), q), strings.Contains(fold(r.Organisation), q), strings.Contains(fold(r.CourtName), q):
		default:
			continue
		}
		hits = append(hits, hit{r, rank})
	}
	ab.mu.RUnlock()
	sort.Slice(hits, func(i, j int) bool {
		a, b := hits[i], hits[j]
		if a.rank != b.rank {
			return a.rank < b.rank
		}
		if a.r.Name != b.r.Name {
			return a.r.Name < b.r.Name
		}
		return a.r.SafeID < b.r.SafeID
	})
	out := make([]Recipient, len(hits))
	for i, h := range hits {
		out[i], _ = ab.Resolve(h.r) // unresolvable: as stored
	}
	return out
}

// ByCourt returns the entries with court code code, sorted by SAFE-ID.
func (ab *Book) ByCourt(code string) []Recipient {
	code = strings.ToUpper(strings.TrimSpace(code))
	var out []Recipient
	ab.mu.RLock()
	for _, r := range ab.entries {
		if code != "" && r.CourtCode == code {
			out = append(out, r)
		}
	}
	ab.mu.RUnlock()
	sortBySafeID(out)
	return out
}

// folder writes German letters the way a search should not tell apart:
// umlauts as the plain vowel, their ae/oe/ue spellings too, ß as ss.
var folder = strings.NewReplacer("ä", "a", "ö", "o", "ü", "u", "ß", "ss", "ae", "a", "oe", "o", "ue", "u")

// fold is the search form of a text: lower case, German letters folded,
// runs of white space as one space.
func fold(s string) string {
	return folder.Replace(strings.Join(strings.Fields(strings.ToLower(s)), " "))
}
