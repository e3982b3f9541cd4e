// Package courts is the XJustiz code list GDS.Gerichte: the code of every
// German court, public prosecutor's office and justice authority (F1100 is
// the Landgericht Berlin's criminal division) with its name, as the
// standard publishes it. The list is embedded (gds_gerichte.tsv, generated
// from the genericode file by `make testdata`), so a lookup needs no file
// and no network; an unknown code is reported as such, never guessed.
// Entries the list marks as dissolved ("aufgelöst-") keep their code and
// say so.
package courts

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"
	"sync"
)

//go:embed gds_gerichte.tsv
var embedded string

// Court is one entry of the code list.
type Court struct {
	Code string `json:"code"`
	Name string `json:"name"`
	// Dissolved is set for the entries the list marks "aufgelöst-": the
	// court no longer exists and receives nothing.
	Dissolved bool `json:"dissolved,omitempty"`
}

// List is one version of the code list.
type List struct {
	Version string // the code list's version, e.g. "3.6"
	byCode  map[string]Court
	all     []Court
}

const dissolvedPrefix = "aufgelöst-"

// Parse reads the list's TSV form: a first line "# GDS.Gerichte VERSION",
// then one "CODE<TAB>NAME" a line.
func Parse(text string) (*List, error) {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "# GDS.Gerichte ") {
		return nil, fmt.Errorf("courts: not a GDS.Gerichte list")
	}
	l := &List{Version: strings.TrimPrefix(lines[0], "# GDS.Gerichte "), byCode: map[string]Court{}}
	for i, line := range lines[1:] {
		code, name, ok := strings.Cut(line, "\t")
		if !ok || code == "" || name == "" {
			return nil, fmt.Errorf("courts: line %d: want CODE<TAB>NAME", i+2)
		}
		if _, dup := l.byCode[code]; dup {
			return nil, fmt.Errorf("courts: line %d: code %s listed twice", i+2, code)
		}
		c := Court{Code: code, Name: name}
		if rest, ok := strings.CutPrefix(name, dissolvedPrefix); ok {
			c.Name, c.Dissolved = strings.TrimSpace(rest), true
		}
		l.byCode[code] = c
		l.all = append(l.all, c)
	}
	sort.Slice(l.all, func(i, j int) bool { return l.all[i].Code < l.all[j].Code })
	return l, nil
}

var (
	defaultOnce sync.Once
	defaultList *List
)

// Default is the embedded list.
func Default() *List {
	defaultOnce.Do(func() {
		l, err := Parse(embedded)
		if err != nil {
			panic(err) // the embedded file is generated and tested
		}
		defaultList = l
	})
	return defaultList
}

// Lookup returns the court with code (exact; codes are upper case, a
// lower-case code is accepted).
func (l *List) Lookup(code string) (Court, bool) {
	c, ok := l.byCode[strings.ToUpper(strings.TrimSpace(code))]
	return c, ok
}

// All returns every entry, sorted by code.
func (l *List) All() []Court { return append([]Court(nil), l.all...) }

// Lookup looks code up in the embedded list.
func Lookup(code string) (Court, bool) { return Default().Lookup(code) }
