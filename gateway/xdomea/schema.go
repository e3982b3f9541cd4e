package xdomea

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/xsd"
)

//go:embed schema
var schemaFS embed.FS

// Version3 is the xdomea version the IT-Planungsrat mandates (3.0.0),
// the default.
const Version3 = "3.0.0"

// Version4 is xdomea 4.0.0 (11.2024, not yet mandatory). This build does
// not carry its schemas: selecting it is refused (ErrVersion).
const Version4 = "4.0.0"

// generation is one xdomea version this build writes: its namespace and
// the schema file that declares the Abgabe messages.
type generation struct {
	namespace string
	dir       string // below schema/
	abgabe    string // relative to dir
	once      sync.Once
	schema    *xsd.Schema
	err       error
}

var generations = map[string]*generation{
	Version3: {namespace: "urn:xoev-de:xdomea:schema:3.0.0", dir: "3.0.0", abgabe: "xdomea-Nachrichten-AbgabeDurchfuehren.xsd"},
}

// Versions lists the versions this build writes.
func Versions() []string { return []string{Version3} }

func lookup(version string) (*generation, error) {
	if version == "" {
		version = Version3
	}
	g, ok := generations[version]
	if !ok {
		if version == Version4 {
			return nil, fmt.Errorf("%w: %s: its schemas are not part of this build", ErrVersion, version)
		}
		return nil, fmt.Errorf("%w: %q (this build writes %v)", ErrVersion, version, Versions())
	}
	return g, nil
}

// compiled compiles the generation's schema once per process. The
// schema's import of the XÖV code type (../xoev/...) resolves inside the
// embedded tree, which is why the whole schema directory is the file set.
func (g *generation) compiled() (*xsd.Schema, error) {
	g.once.Do(func() {
		sub, err := fs.Sub(schemaFS, "schema")
		if err != nil {
			g.err = fmt.Errorf("%w: %w", ErrSchemaFiles, err)
			return
		}
		g.schema, g.err = xsd.Compile(sub, g.dir+"/"+g.abgabe)
		if g.err != nil {
			g.err = fmt.Errorf("%w: %w", ErrSchemaFiles, g.err)
		}
	})
	return g.schema, g.err
}

// Validate checks an Abgabe message (0401, 0402 or 0403) of version
// against the embedded official schema. It returns nil only for a
// schema-valid document, else an error wrapping ErrInvalid (with
// libxml2's messages) or ErrSchemaFiles.
func Validate(version string, doc []byte, lim xsd.Limits) error {
	g, err := lookup(version)
	if err != nil {
		return err
	}
	s, err := g.compiled()
	if err != nil {
		return err
	}
	if err := s.Validate(doc, lim); err != nil {
		if errors.Is(err, xsd.ErrInternal) {
			return err
		}
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}
