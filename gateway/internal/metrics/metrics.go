// Package metrics is the gateway's Prometheus text-format registry and the
// gateway's own metric families. Guarantee: the exposition is always
// well-formed (families declared once with type and help, labels escaped
// and sorted); a value the store cannot give at scrape time is left out
// rather than reported as zero. Using an undeclared family is a
// programming error and panics in any test run.
package metrics

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Registry is a small Prometheus text-format registry: counters and gauges
// with labels, plus gauges computed at scrape time. It exists so the
// daemon has no metrics dependency beyond the standard library.
type Registry struct {
	mu       sync.Mutex
	families map[string]*family
	collect  []func(emit func(name string, labels Labels, v float64))
}

// Labels are metric labels; rendered sorted by key.
type Labels map[string]string

type family struct {
	name, help, typ string
	series          map[string]*series
}

type series struct {
	labels Labels
	value  float64
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{families: map[string]*family{}} }

// Describe declares a metric family with its type (counter or gauge).
func (m *Registry) Describe(name, typ, help string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.families[name]; !ok {
		m.families[name] = &family{name: name, help: help, typ: typ, series: map[string]*series{}}
	}
}

// Add adds delta to a counter (or gauge) series.
func (m *Registry) Add(name string, l Labels, delta float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.get(name, l).value += delta
}

// Set sets a gauge series.
func (m *Registry) Set(name string, l Labels, v float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.get(name, l).value = v
}

// Collect registers a function run at every scrape, for values read from
// the store (queue depth) or computed from the clock (certificate expiry).
// Families it emits must have been described.
func (m *Registry) Collect(f func(emit func(name string, labels Labels, v float64))) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.collect = append(m.collect, f)
}

func (m *Registry) get(name string, l Labels) *series {
	f, ok := m.families[name]
	if !ok {
		panic("gateway: metric " + name + " not described")
	}
	k := labelKey(l)
	s, ok := f.series[k]
	if !ok {
		s = &series{labels: l}
		f.series[k] = s
	}
	return s
}

// Write renders the registry in the Prometheus text exposition format.
func (m *Registry) Write(w io.Writer) error {
	m.mu.Lock()
	collect := append([]func(func(string, Labels, float64)){}, m.collect...)
	m.mu.Unlock()
	// Scrape-time values live only for this rendering.
	scraped := map[string]map[string]*series{}
	for _, c := range collect {
		c(func(name string, l Labels, v float64) {
			if scraped[name] == nil {
				scraped[name] = map[string]*series{}
			}
			scraped[name][labelKey(l)] = &series{labels: l, value: v}
		})
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	names := make([]string, 0, len(m.families))
	for n := range m.families {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		f := m.families[n]
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", n, escapeHelp(f.help), n, f.typ)
		all := map[string]*series{}
		for k, s := range f.series {
			all[k] = s
		}
		for k, s := range scraped[n] {
			all[k] = s
		}
		keys := make([]string, 0, len(all))
		for k := range all {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s%s %s\n", n, k, formatFloat(all[k].value))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func labelKey(l Labels) string {
	if len(l) == 0 {
		return ""
	}
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + `="` + escapeLabel(l[k]) + `"`
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`).Replace(s)
}

func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
