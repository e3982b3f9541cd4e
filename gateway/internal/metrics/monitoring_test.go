package metrics_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"go.yaml.in/yaml/v3"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

// metricName finds the metric names in a PromQL expression or a
// dashboard: ours, the runtime's and the metric handler's.
var metricName = regexp.MustCompile(`\b(?:bebpo|go|process|promhttp)_[a-zA-Z0-9_]*[a-zA-Z0-9]\b`)

// synthesized are series Prometheus makes itself for every target.
var synthesized = map[string]bool{"up": true}

// served is every series name a scrape offers: family names, with the
// suffixes of histograms and summaries.
func served(fams map[string]*dto.MetricFamily) map[string]bool {
	out := map[string]bool{}
	for n, f := range fams {
		out[n] = true
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM:
			out[n+"_bucket"], out[n+"_sum"], out[n+"_count"] = true, true, true
		case dto.MetricType_SUMMARY:
			out[n+"_sum"], out[n+"_count"] = true, true
		}
	}
	return out
}

func monitoringFile(t *testing.T, name string) []byte {
	t.Helper()
	return certstest.ReadFile(t, filepath.Join(certstest.RepoRoot(t), "docs", "monitoring", name))
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// The alert rules parse, each has a severity and a summary, the alerts
// the operator guide promises are there, and every metric they use is
// served.
func TestAlertRulesUseServedMetrics(t *testing.T) {
	g, _, _ := fixture(t)
	fams, _ := scrape(t, g)
	have := served(fams)
	var rf ruleFile
	dec := yaml.NewDecoder(bytes.NewReader(monitoringFile(t, "alerts.yaml")))
	dec.KnownFields(true)
	if err := dec.Decode(&rf); err != nil {
		t.Fatalf("alerts.yaml: %v", err)
	}
	alerts := map[string]bool{}
	for _, gr := range rf.Groups {
		for _, r := range gr.Rules {
			alerts[r.Alert] = true
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("rule %+v lacks alert, expr, severity or summary", r)
			}
			used := metricName.FindAllString(r.Expr, -1)
			if len(used) == 0 && !strings.Contains(r.Expr, "up{") {
				t.Errorf("%s: no metric in %q", r.Alert, r.Expr)
			}
			for _, n := range used {
				if !have[n] {
					t.Errorf("%s uses %s, which /metrics does not serve", r.Alert, n)
				}
			}
		}
	}
	for _, a := range []string{"BebpoCertificateExpiresSoon", "BebpoMessagesQuarantined", "BebpoOldestUnsentMessage", "BebpoIntermediaryDown"} {
		if !alerts[a] {
			t.Errorf("alerts.yaml lacks %s", a)
		}
	}
}

// The dashboard is JSON, and every metric its panels and variables use is
// served.
func TestDashboardUsesServedMetrics(t *testing.T) {
	g, _, _ := fixture(t)
	fams, _ := scrape(t, g)
	have := served(fams)
	b := monitoringFile(t, "grafana-dashboard.json")
	var d struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			if len(metricName.FindAllString(q.Expr, -1)) == 0 {
				t.Errorf("panel %q: no metric in %q", p.Title, q.Expr)
			}
		}
	}
	for _, n := range metricName.FindAllString(string(b), -1) {
		if !have[n] && !synthesized[n] {
			t.Errorf("the dashboard uses %s, which /metrics does not serve", n)
		}
	}
}

// docs/api.md lists exactly the bebpo_ families served, with their types.
func TestAPIDocListsEveryMetric(t *testing.T) {
	g, _, _ := fixture(t)
	fams, _ := scrape(t, g)
	doc, err := os.ReadFile(filepath.Join(certstest.RepoRoot(t), "docs", "api.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\s*\\| `(bebpo_[a-z_]+)` \\| ([a-z]+) \\|")
	documented := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = m[2]
	}
	var missing []string
	for n, f := range fams {
		if !strings.HasPrefix(n, "bebpo_") {
			continue
		}
		typ := strings.ToLower(f.GetType().String())
		switch got, ok := documented[n]; {
		case !ok:
			missing = append(missing, n)
		case got != typ:
			t.Errorf("docs/api.md says %s is a %s; it is a %s", n, got, typ)
		}
		delete(documented, n)
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("docs/api.md does not list %v", missing)
	}
	if len(documented) > 0 {
		t.Errorf("docs/api.md lists metrics that are not served: %v", documented)
	}
}

// With promtool (Debian package prometheus, installed by make deps) the
// rules load in Prometheus's own parser, their unit tests pass, and the
// exposition passes its lint.
func TestPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (make deps installs it)")
	}
	dir := filepath.Join(certstest.RepoRoot(t), "docs", "monitoring")
	for _, args := range [][]string{{"check", "rules", "alerts.yaml"}, {"test", "rules", "alerts_test.yaml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	g, _, _ := fixture(t)
	_, text := scrape(t, g)
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
