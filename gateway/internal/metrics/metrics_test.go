package metrics

import (
	"bytes"
	"testing"
)

func TestMetricsExposition(t *testing.T) {
	m := NewRegistry()
	m.Describe("bebpo_messages", "gauge", "Messages by direction and state.")
	m.Describe("bebpo_intermediary_errors_total", "counter", "Intermediary errors by code.")
	m.Add("bebpo_intermediary_errors_total", Labels{"mailbox": "stadt", "code": "9801"}, 1)
	m.Add("bebpo_intermediary_errors_total", Labels{"code": "9801", "mailbox": "stadt"}, 2)
	m.Add("bebpo_intermediary_errors_total", Labels{"mailbox": `a"b\c`, "code": "9000"}, 1)
	m.Collect(func(emit func(string, Labels, float64)) {
		emit("bebpo_messages", Labels{"direction": "out", "state": "queued"}, 3)
	})
	var buf bytes.Buffer
	if err := m.Write(&buf); err != nil {
		t.Fatal(err)
	}
	want := `# HELP bebpo_intermediary_errors_total Intermediary errors by code.
# TYPE bebpo_intermediary_errors_total counter
bebpo_intermediary_errors_total{code="9000",mailbox="a\"b\\c"} 1
bebpo_intermediary_errors_total{code="9801",mailbox="stadt"} 3
# HELP bebpo_messages Messages by direction and state.
# TYPE bebpo_messages gauge
bebpo_messages{direction="out",state="queued"} 3
`
	if got := buf.String(); got != want {
		t.Errorf("exposition:\n%s\nwant:\n%s", got, want)
	}
}

func TestMetricsUndescribedPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for an undescribed metric")
		}
	}()
	NewRegistry().Add("nope", nil, 1)
}
