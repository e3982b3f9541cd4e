package addressbook

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/field"
)

// ImportOptions steer an import.
type ImportOptions struct {
	// DryRun checks every entry and reports what would change, writing
	// nothing.
	DryRun bool
}

// ImportResult counts what an import changed (or, in a dry run, would
// change) and lists the changes by SAFE-ID.
type ImportResult struct {
	Added     int      `json:"added"`
	Updated   int      `json:"updated"`
	Unchanged int      `json:"unchanged"`
	DryRun    bool     `json:"dryRun,omitempty"`
	Changes   []Change `json:"changes"`
}

// Change is one entry an import adds or updates.
type Change struct {
	SafeID string `json:"safeId"`
	Action string `json:"action"` // ActionAdd or ActionUpdate
	// Fields are the fields an update changes (JSON names).
	Fields []string `json:"fields,omitempty"`
}

// Change actions.
const (
	ActionAdd    = "add"
	ActionUpdate = "update"
)

// Import adds or replaces all entries at once: every entry is validated
// first, and the book changes only if all are valid (one durable write,
// none when nothing changes or in a dry run). An entry equal to the
// stored one is counted unchanged and left as it is. A SAFE-ID given
// twice in one import is an error.
func (ab *Book) Import(ctx context.Context, rs []Recipient, opt ImportOptions) (ImportResult, error) {
	if len(rs) == 0 {
		return ImportResult{}, field.Errorf(nil, "entries", "the file holds no entries")
	}
	seen := map[string]int{}
	valid := make([]Recipient, len(rs))
	for i, r := range rs {
		if err := ctx.Err(); err != nil {
			return ImportResult{}, err
		}
		v, err := ab.Check(ctx, r)
		if err != nil {
			return ImportResult{}, field.Prefix(fmt.Sprintf("entries[%d].", i), err)
		}
		if j, dup := seen[v.SafeID]; dup {
			return ImportResult{}, field.Errorf(nil, fmt.Sprintf("entries[%d].safeId", i), "%q also in entries[%d]", v.SafeID, j)
		}
		seen[v.SafeID] = i
		valid[i] = v
	}
	ab.mu.Lock()
	defer ab.mu.Unlock()
	res := ImportResult{DryRun: opt.DryRun, Changes: []Change{}}
	var next map[string]Recipient
	for _, v := range valid {
		old, exists := ab.entries[v.SafeID]
		c := Change{SafeID: v.SafeID, Action: ActionAdd}
		if exists {
			if c.Fields = changedFields(old, v); len(c.Fields) == 0 {
				res.Unchanged++
				continue
			}
			c.Action = ActionUpdate
			res.Updated++
		} else {
			res.Added++
		}
		res.Changes = append(res.Changes, c)
		if next == nil {
			next = maps.Clone(ab.entries)
		}
		next[v.SafeID] = v
	}
	slices.SortFunc(res.Changes, func(a, b Change) int { return strings.Compare(a.SafeID, b.SafeID) })
	if next == nil || opt.DryRun {
		return res, nil
	}
	if err := ab.saveLocked(next); err != nil {
		return ImportResult{}, err
	}
	return res, nil
}

// changedFields lists the fields (JSON names) in which two checked
// entries differ; the certificates count by fingerprint, so the same
// certificate in other line breaks or as DER is no change.
func changedFields(old, r Recipient) []string {
	var out []string
	add := func(name string, differ bool) {
		if differ {
			out = append(out, name)
		}
	}
	add("name", old.Name != r.Name)
	add("organisation", old.Organisation != r.Organisation)
	add("courtCode", old.CourtCode != r.CourtCode)
	add("cipherCert", old.Fingerprint != r.Fingerprint)
	add("intermediary", old.Intermediary != r.Intermediary)
	add("intermediaryUrl", old.IntermediaryURL != r.IntermediaryURL)
	add("intermediaryCipherCert", old.IntermediaryCipherCert != r.IntermediaryCipherCert)
	add("intermediarySignatureCerts", !slices.Equal(old.IntermediarySignatureCerts, r.IntermediarySignatureCerts))
	return out
}
