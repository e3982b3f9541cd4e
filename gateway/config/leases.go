package config

import "time"

// LeaseConfig says how long a gateway owns a message it works on. While
// the lease runs no other worker takes the message; a gateway that died
// holding one is replaced when it runs out. On SQLite a restart frees
// every lease at once; on a database shared by several gateways only an
// expired lease is taken over (a live one may be another gateway's), so
// these bound how long a dead or paused gateway's messages wait.
type LeaseConfig struct {
	// Send is the lease of the send engine (default 5 minutes), renewed
	// every third of it while a request runs.
	Send time.Duration `yaml:"send"`
	// Intake is the lease of the intake engine (default 10 minutes): it
	// must exceed the longest hand-over to an intake.
	Intake time.Duration `yaml:"intake"`
}

// Lease defaults and bounds.
const (
	DefaultSendLease   = 5 * time.Minute
	DefaultIntakeLease = 10 * time.Minute
	MinLease           = 10 * time.Second
)

func (l *LeaseConfig) applyDefaults() {
	if l.Send == 0 {
		l.Send = DefaultSendLease
	}
	if l.Intake == 0 {
		l.Intake = DefaultIntakeLease
	}
}

func (l *LeaseConfig) validate(p *problems) {
	if l.Send < MinLease {
		p.add("leases.send", "must be at least %s, not %s", MinLease, l.Send)
	}
	if l.Intake < MinLease {
		p.add("leases.intake", "must be at least %s, not %s", MinLease, l.Intake)
	}
}
