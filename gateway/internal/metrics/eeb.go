package metrics

import "github.com/prometheus/client_golang/prometheus"

// eEB metric names; documented in docs/api.md.
const (
	MetricEEBOpen    = "bebpo_eeb_tasks_open"
	MetricEEBOverdue = "bebpo_eeb_tasks_overdue"
)

func newEEBGauges() (open, overdue prometheus.Gauge) {
	return prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricEEBOpen,
			Help: "eEB requests of courts waiting for a person's acknowledgement or rejection."}),
		prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricEEBOverdue,
			Help: "eEB requests waiting longer than eeb.overdue_after_days."})
}

// SetEEBTasks records the eEB tasks waiting for a person and those
// waiting longer than the configured limit (the deadline guard reports
// them after every round).
func (g *Gateway) SetEEBTasks(open, overdue int) {
	g.eebOpen.Set(float64(open))
	g.eebOverdue.Set(float64(overdue))
}
