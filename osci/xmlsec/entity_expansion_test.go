package xmlsec

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestEntityExpansion: a 1 KB "billion laughs" document is refused in
// under 10 ms with under 1 MiB allocated.
func TestEntityExpansion(t *testing.T) {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">`)
	prev := "lol"
	for i := 1; i <= 9; i++ {
		name := "lol" + string(rune('0'+i))
		b.WriteString(`<!ENTITY ` + name + ` "` + strings.Repeat("&"+prev+";", 10) + `">`)
		prev = name
	}
	b.WriteString(`]><lolz>&` + prev + `;</lolz>`)
	in := []byte(b.String())
	if len(in) > 1100 {
		t.Fatalf("fixture is %d bytes", len(in))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := ParseBytes(in, DefaultLimits())
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrDoctype) {
		t.Fatalf("got %v, want %v", err, ErrDoctype)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("allocated %d bytes", alloc)
	}
	if elapsed > 10*time.Millisecond && !raceEnabled {
		t.Errorf("took %v", elapsed)
	}
}
