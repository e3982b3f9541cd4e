package xdomea

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/xsd"
)

//go:embed schema
var schemaFS embed.FS

// Version3 is the xdomea version the IT-Planungsrat mandates (3.0.0),
// the default.
const Version3 = "3.0.0"

// Version4 is xdomea 4.0.0 (11.2024).
const Version4 = "4.0.0"

// generation is one xdomea version this build writes and reads: its
// namespace, the schema file that declares the Abgabe messages, the
// catalog for the absolute schema locations those files import, and the
// names and places in which the versions' Abgabe messages differ. The
// builder and the confirmation reader are one for all versions; what
// differs is here.
type generation struct {
	version   string
	namespace string
	dir       string // below schema/
	abgabe    string // relative to dir
	catalog   xsd.Catalog

	header header // how the message head is written
	// codeListVersion is the version of the Nachrichtentyp code list the
	// schema fixes.
	codeListVersion string
	// timeLayout is the layout of the message's creation time.
	timeLayout string
	// objectID names the ID inside Identifikation.
	objectID string
	// documentWrapper, when set, wraps each Dokument of a Vorgang.
	documentWrapper string
	// institution names a Kontakt's institution element.
	institution string
	// documentSender names the Dokument's sender Kontakt, written before
	// the Version when senderBeforeVersion.
	documentSender      string
	senderBeforeVersion bool
	// communication names a Kontakt's communication element that carries
	// the SAFE-ID; "" when the version has none that does without a code
	// from a list this build does not carry.
	communication string

	// Where an import confirmation (0402) says what it says.
	confProzessID string // path from the root
	confObjectID  string // path from AbgegebenesObjekt
	confResult    string // prefix of Erfolgreich and Fehlermeldung inside AbgegebenesObjekt
	confMessage   string // the message-wide result below the root; "" if none

	once   sync.Once
	schema *xsd.Schema
	err    error
}

// header is the shape of a message head.
type header int

const (
	// headerKopf is 3.0.0's Kopf: ProzessID, Nachrichtentyp, sender,
	// recipient and sending system.
	headerKopf header = iota
	// headerNachrichtenkopf is 4.0.0's XÖV head: the product attributes
	// on the root, nachrichtenkopf (message UUID, type and creation time,
	// reader, author, ProzessID), then the message counters.
	headerNachrichtenkopf
)

// xoevCatalog maps the absolute schema locations of the XÖV libraries
// the 4.0.0 schemas import to the embedded files (see schema/README.md);
// nothing is fetched from those addresses.
var xoevCatalog = xsd.Catalog{
	"http://xoev.de/schemata/basisnachricht/unqualified/g2g/1_1/xoev-basisnachricht-unqualified-g2g_1.1.xsd": "4.0.0/types/xoev-basisnachricht-unqualified-g2g_1.1.xsd",
	"http://xoev.de/schemata/code/1_0/xoev-code.xsd":                                                         "xoev/code/1_0/xoev-code.xsd",
	"https://xoev.de/schemata/din/91379/2022-08/din-norm-91379-datatypes.xsd":                                "4.0.0/types/din-norm-91379-datatypes.xsd",
}

var generations = map[string]*generation{
	Version3: {
		version: Version3, namespace: "urn:xoev-de:xdomea:schema:3.0.0", dir: "3.0.0", abgabe: "xdomea-Nachrichten-AbgabeDurchfuehren.xsd",
		header: headerKopf, codeListVersion: "2.0", timeLayout: time.RFC3339,
		objectID: "ID", institution: "Institution", documentSender: "Absender", communication: "Kommunikation",
		confProzessID: "Kopf/ProzessID", confObjectID: "IDSGO",
	},
	Version4: {
		version: Version4, namespace: "urn:xoev-de:xdomea:schema:4.0.0", dir: "4.0.0", abgabe: "xdomea-Nachrichten-AbgabeDurchfuehren.xsd",
		catalog: xoevCatalog,
		header:  headerNachrichtenkopf, codeListVersion: "3.0", timeLayout: "2006-01-02T15:04:05.000Z07:00",
		objectID: "xdomeaUUID", documentWrapper: "DokumentOderDokumentMitSchriftstueck", institution: "NameInstitution",
		documentSender: "Autor", senderBeforeVersion: true,
		confProzessID: "nachrichtenkopf/ProzessID", confObjectID: "xdomeaUUID", confResult: "ErfolgOderMisserfolg/", confMessage: "ErfolgOderMisserfolg",
	},
}

// Versions lists the versions this build writes.
func Versions() []string { return []string{Version3, Version4} }

func lookup(version string) (*generation, error) {
	if version == "" {
		version = Version3
	}
	g, ok := generations[version]
	if !ok {
		return nil, fmt.Errorf("%w: %q (this build writes %v)", ErrVersion, version, Versions())
	}
	return g, nil
}

// compiled compiles the generation's schema once per process. The
// schemas' relative imports (../xoev/..., ./types/...) resolve inside the
// embedded tree, which is why the whole schema directory is the file set;
// their absolute ones resolve through the generation's catalog.
func (g *generation) compiled() (*xsd.Schema, error) {
	g.once.Do(func() {
		sub, err := fs.Sub(schemaFS, "schema")
		if err != nil {
			g.err = fmt.Errorf("%w: %w", ErrSchemaFiles, err)
			return
		}
		g.schema, g.err = xsd.CompileCatalog(sub, g.dir+"/"+g.abgabe, g.catalog)
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
