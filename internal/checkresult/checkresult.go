package checkresult

// The outcomes: OK and Corrupted for a mathematical check (a digest, a
// signature value), Valid, Invalid and Indeterminate for a verdict (a
// certificate, a signature as a whole, a message).
const (
	OK            = "ok"
	Corrupted     = "corrupted"
	Valid         = "valid"
	Invalid       = "invalid"
	Indeterminate = "indeterminate"
)
