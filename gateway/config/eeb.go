package config

import (
	"fmt"
	"time"
)

// EEBConfig configures the eEB tasks (elektronisches Empfangsbekenntnis).
type EEBConfig struct {
	// OverdueAfterDays is how many days an eEB request may wait for a
	// person's answer before the deadline guard reports it (status,
	// metrics, a daily log line); 0 means DefaultEEBOverdueAfterDays.
	// Nothing is ever answered automatically.
	OverdueAfterDays int `yaml:"overdue_after_days"`
}

// DefaultEEBOverdueAfterDays is the deadline guard's limit when none is set.
const DefaultEEBOverdueAfterDays = 3

// OverdueAfter is the limit as a duration; a negative number of days is
// ErrConfig.
func (e EEBConfig) OverdueAfter() (time.Duration, error) {
	switch {
	case e.OverdueAfterDays < 0:
		return 0, fmt.Errorf("%w: eeb.overdue_after_days: must not be negative, not %d", ErrConfig, e.OverdueAfterDays)
	case e.OverdueAfterDays == 0:
		return DefaultEEBOverdueAfterDays * 24 * time.Hour, nil
	}
	return time.Duration(e.OverdueAfterDays) * 24 * time.Hour, nil
}
