package limit

import (
	"testing"
	"time"
)

type limits struct {
	MaxBytes int64
	MaxDepth int
	Timeout  time.Duration
	Strict   bool
	Name     string
	Inner    inner // a nested limits struct fills itself (pdf.Limits inside ervb.Limits)
}

type inner struct{ MaxObjects int }

func TestFill(t *testing.T) {
	def := limits{MaxBytes: 1 << 20, MaxDepth: 64, Timeout: time.Minute, Strict: true, Name: "default", Inner: inner{MaxObjects: 8}}
	tests := []struct {
		name string
		in   limits
		want limits
	}{
		{"unset takes every default", limits{}, limits{MaxBytes: 1 << 20, MaxDepth: 64, Timeout: time.Minute}},
		{"negative is unset", limits{MaxBytes: -1, MaxDepth: -64, Timeout: -time.Second}, limits{MaxBytes: 1 << 20, MaxDepth: 64, Timeout: time.Minute}},
		{"positive is kept", limits{MaxBytes: 1, MaxDepth: 1000, Timeout: time.Nanosecond}, limits{MaxBytes: 1, MaxDepth: 1000, Timeout: time.Nanosecond}},
		{"other kinds are kept", limits{MaxDepth: 3, Name: "x"}, limits{MaxBytes: 1 << 20, MaxDepth: 3, Timeout: time.Minute, Name: "x"}},
		{"a nested struct is kept", limits{Inner: inner{MaxObjects: -1}}, limits{MaxBytes: 1 << 20, MaxDepth: 64, Timeout: time.Minute, Inner: inner{MaxObjects: -1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Fill(tc.in, def); got != tc.want {
				t.Fatalf("Fill(%+v) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestFillPanicsOnNonStruct(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Fill accepted an int")
		}
	}()
	Fill(0, 1)
}
