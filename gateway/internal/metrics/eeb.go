package metrics

// eEB metric names; documented in docs/api.md.
const (
	MetricEEBOpen    = "bebpo_eeb_tasks_open"
	MetricEEBOverdue = "bebpo_eeb_tasks_overdue"
)

// SetEEBTasks records the eEB tasks waiting for a person and those
// waiting longer than the configured limit (the deadline guard reports
// them after every round).
func (a *Gateway) SetEEBTasks(open, overdue int) {
	a.m.Describe(MetricEEBOpen, "gauge", "eEB requests of courts waiting for a person's acknowledgement or rejection.")
	a.m.Describe(MetricEEBOverdue, "gauge", "eEB requests waiting longer than eeb.overdue_after_days.")
	a.m.Set(MetricEEBOpen, nil, float64(open))
	a.m.Set(MetricEEBOverdue, nil, float64(overdue))
}
