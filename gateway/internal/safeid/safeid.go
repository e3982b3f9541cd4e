// Package safeid holds the one rule for what counts as a SAFE-ID, the
// address of a mailbox in the justice directory (SAFE): configuration,
// address book and submission all ask it. It is deliberately not stricter
// than the directory itself and cannot fail; an unusable identifier is
// simply not Valid.
package safeid

import "regexp"

// pattern accepts SAFE-IDs as issued for the justice network
// (DE.Justiz.<uuid>.<hex>, DE.BRAK..., govello-...): a dotted or dashed
// token of safe characters, 3 to 128 long.
var pattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{2,127}$`)

// Example is shown in error messages next to a refused value.
const Example = "DE.Justiz.<uuid>.<hex>"

// Valid reports whether s is a SAFE-ID.
func Valid(s string) bool { return pattern.MatchString(s) }
