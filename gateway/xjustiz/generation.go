package xjustiz

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"sync"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/xsd"
)

//go:embed schema
var schemaFS embed.FS

// Message types this package builds and reads.
const (
	// MessageSubmission carries documents to a court (Schriftgutobjekte).
	MessageSubmission = "nachricht.gds.uebermittlungSchriftgutobjekte.0005005"
	// MessageEEB is the answer to an eEB request (Empfangsbekenntnis).
	MessageEEB = "nachricht.eeb.zuruecklaufend.2200007"
)

// Generation351 is XJustiz 3.5.1, valid from 30 April 2025.
const Generation351 = "3.5.1"

// DefaultGeneration is the generation used when Options.Generation is empty.
const DefaultGeneration = Generation351

// generation is one XJustiz release: where its files are and every value
// the builder and reader take from it. A new release is a new entry.
type generation struct {
	name      string            // the setting's value, e.g. "3.5.1"
	validFrom string            // the date the release became valid (informative)
	dir       string            // under schema/
	namespace string            // of every XJustiz element
	version   string            // the fixed nachrichtenkopf/@xjustizVersion
	messages  map[string]string // root element → schema file that declares it
	// listVersionID of the code lists the builder writes.
	courtList, roleList, partList, eebList string
	// classList is the GDS.Dokumentklasse genericode file; its version is
	// read from it.
	classList string

	once    sync.Once
	schemas map[string]*xsd.Schema
	classes *codeList
	err     error
}

var generations = []*generation{
	{
		name:      Generation351,
		validFrom: "2025-04-30",
		dir:       "schema/3.5.1",
		namespace: "http://www.xjustiz.de",
		version:   "3.5.1",
		messages: map[string]string{
			MessageSubmission: "xjustiz_0005_nachrichten_3_1.xsd",
			MessageEEB:        "xjustiz_2200_eeb_3_1.xsd",
		},
		courtList: "3.6", // GDS.Gerichte
		roleList:  "3.5", // GDS.Rollenbezeichnung
		partList:  "2.4", // GDS.Bestandteiltyp (fixed by the schema)
		eebList:   "2.1", // EEB.StoerungsID (fixed by the schema)
		classList: "codelists/GDS.Dokumentklasse.xml",
	},
}

// Generations lists the schema generations this build carries, oldest first.
func Generations() []string {
	var out []string
	for _, g := range generations {
		out = append(out, g.name)
	}
	return out
}

func lookupGeneration(name string) (*generation, error) {
	if name == "" {
		name = DefaultGeneration
	}
	for _, g := range generations {
		if g.name == name {
			return g, nil
		}
	}
	return nil, fmt.Errorf("%w: %q (this build has %v)", ErrUnknownGeneration, name, Generations())
}

// generationForVersion finds the generation whose xjustizVersion a
// received record declares.
func generationForVersion(version string) *generation {
	for _, g := range generations {
		if g.version == version {
			return g
		}
	}
	return nil
}

// load compiles the generation's schemas and reads its code lists, once
// per process; every Codec of the generation shares them.
func (g *generation) load() error {
	g.once.Do(func() {
		sub, err := fs.Sub(schemaFS, g.dir)
		if err != nil {
			g.err = fmt.Errorf("%w: %w", ErrSchemaFiles, err)
			return
		}
		g.schemas = map[string]*xsd.Schema{}
		for _, msg := range g.messageTypes() {
			s, err := xsd.Compile(sub, g.messages[msg])
			if err != nil {
				g.err = fmt.Errorf("%w: XJustiz %s %s: %w", ErrSchemaFiles, g.name, msg, err)
				return
			}
			g.schemas[msg] = s
		}
		b, err := fs.ReadFile(sub, g.classList)
		if err != nil {
			g.err = fmt.Errorf("%w: %w", ErrSchemaFiles, err)
			return
		}
		if g.classes, err = parseCodeList(b); err != nil {
			g.err = fmt.Errorf("%w: XJustiz %s %s: %w", ErrSchemaFiles, g.name, g.classList, err)
		}
	})
	return g.err
}

func (g *generation) messageTypes() []string {
	var out []string
	for m := range g.messages {
		out = append(out, m)
	}
	slices.Sort(out)
	return out
}
