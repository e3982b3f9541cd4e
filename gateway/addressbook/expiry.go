package addressbook

import (
	"crypto/x509"
	"sort"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
)

// ExpiryWarningDays is how close to its expiry an entry's cipher
// certificate counts as expiring soon, as for the gateway's own keys.
const ExpiryWarningDays = 30

// OwnIntermediary is the group of the entries that name no intermediary
// (they live at the sending mailbox's own).
const OwnIntermediary = "(own)"

// ExpirySummary is the state of the cipher certificates of the entries at
// one intermediary: the earliest expiry and how many expire within
// ExpiryWarningDays (or have expired). It names no recipient but the
// SAFE-ID of the earliest, for the operator to find it.
type ExpirySummary struct {
	// Intermediary is the configured name, an inline intermediary's URL,
	// or OwnIntermediary.
	Intermediary   string    `json:"intermediary"`
	Entries        int       `json:"entries"`
	EarliestExpiry time.Time `json:"earliestExpiry"`
	EarliestDays   int       `json:"earliestDays"` // certs.DaysUntilExpiry: negative once expired
	EarliestSafeID string    `json:"earliestSafeId"`
	ExpiringSoon   int       `json:"expiringSoon"` // within ExpiryWarningDays, the expired included
}

// Expiries summarises the entries' cipher certificates at now, one
// summary per intermediary, sorted by name.
func (ab *Book) Expiries(now time.Time) []ExpirySummary {
	by := map[string]*ExpirySummary{}
	for _, r := range ab.List() {
		if r.CertExpires.IsZero() {
			continue
		}
		name := ab.IntermediaryOf(r)
		s := by[name]
		if s == nil {
			s = &ExpirySummary{Intermediary: name}
			by[name] = s
		}
		s.Entries++
		days := certs.DaysUntilExpiry(&x509.Certificate{NotAfter: r.CertExpires}, now)
		if days < ExpiryWarningDays {
			s.ExpiringSoon++
		}
		if s.EarliestExpiry.IsZero() || r.CertExpires.Before(s.EarliestExpiry) {
			s.EarliestExpiry, s.EarliestDays, s.EarliestSafeID = r.CertExpires, days, r.SafeID
		}
	}
	out := make([]ExpirySummary, 0, len(by))
	for _, s := range by {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Intermediary < out[j].Intermediary })
	return out
}
