package xsd

/*
#cgo pkg-config: libxml-2.0
#include <stdlib.h>
#include "binding.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/limit"
)

// Errors. Every failure of Compile or Validate wraps exactly one of these.
var (
	ErrCompile   = errors.New("xsd: schema does not compile")
	ErrTooLarge  = errors.New("xsd: document too large")
	ErrMalformed = errors.New("xsd: document is not well-formed")
	ErrDoctype   = errors.New("xsd: document type declaration not allowed")
	ErrInvalid   = errors.New("xsd: document is not schema-valid")
	ErrInternal  = errors.New("xsd: validator failed")
)

// Limits bound what Validate accepts. A zero field means its default.
type Limits struct {
	MaxBytes    int64 // the whole document; default 16 MiB
	MaxProblems int   // messages kept per document; default 50 (all are counted)
}

// DefaultLimits returns the limits used when a field is zero.
func DefaultLimits() Limits { return Limits{MaxBytes: 16 << 20, MaxProblems: 50} }

func (l Limits) withDefaults() Limits { return limit.Fill(l, DefaultLimits()) }

// Level is how severe libxml2 rated a problem.
type Level int

// Levels as libxml2 numbers them (xmlErrorLevel).
const (
	LevelWarning Level = 1
	LevelError   Level = 2
	LevelFatal   Level = 3
)

func (l Level) String() string {
	switch l {
	case LevelWarning:
		return "warning"
	case LevelError:
		return "error"
	case LevelFatal:
		return "fatal"
	}
	return fmt.Sprintf("level %d", int(l))
}

// Problem is one message of libxml2 about a document or schema, with the
// line (and column where libxml2 knows it) it refers to; 0 means unknown.
type Problem struct {
	Level   Level
	Line    int
	Column  int
	Message string // libxml2's text, e.g. "Element '{ns}x': This element is not expected."
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("line %d: %s", p.Line, p.Message)
	}
	return p.Message
}

// Error is the error of a failed compile or validation: one of the
// sentinels above and the messages libxml2 gave, in document order.
type Error struct {
	Kind     error // ErrCompile, ErrMalformed, ErrDoctype, ErrInvalid or ErrInternal
	Problems []Problem
	Total    int // all problems reported; more than len(Problems) when MaxProblems cut the list
}

func (e *Error) Error() string { return Summary(e.Kind.Error(), e.Problems, e.Total) }

// summaryShown is how many problems an error text names before it counts
// the rest.
const summaryShown = 3

// Summary is the one way a list of problems reads in an error text:
// "head: first; second; third; and 4 more" (total counts all problems,
// also those not in the list).
func Summary[P fmt.Stringer](head string, problems []P, total int) string {
	var b strings.Builder
	b.WriteString(head)
	for i, p := range problems {
		if i == summaryShown {
			fmt.Fprintf(&b, "; and %d more", total-summaryShown)
			break
		}
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Kind }

var initOnce sync.Once

// compileMu serializes schema compiles: xmlSchemaParse initializes
// libxml2's built-in types lazily and not thread-safely.
var compileMu sync.Mutex

func initLibxml() { initOnce.Do(func() { C.xsd_init() }) }

// Schema is a compiled schema. It is safe for concurrent use; validations
// against one Schema run one at a time (libxml2 promises thread safety
// for separate documents, not for one compiled schema shared by
// concurrent validation contexts).
type Schema struct {
	mu  sync.Mutex
	ptr C.xmlSchemaPtr
}

// urlBase is the base of the URLs the compile's files have. It is no
// scheme libxml2 or any system resolves: nothing can load from it except
// the binding's own loader.
const urlBase = "embedded-xsd:///"

// Compile compiles the schema whose main file is entry in files. Includes
// and imports resolve only to other files of files (by schemaLocation
// relative to the including file); any other location fails the compile.
func Compile(files fs.FS, entry string) (*Schema, error) {
	return CompileCatalog(files, entry, nil)
}

// Catalog maps an absolute schemaLocation, exactly as a schema names it
// (for example "http://xoev.de/schemata/code/1_0/xoev-code.xsd"), to the
// file of the compile's file set that stands for it, like an XML catalog
// entry. Nothing is ever fetched from the location itself.
type Catalog map[string]string

// CompileCatalog is Compile with absolute schema locations resolved by
// catalog. A location the catalog maps is served from its file, under
// that file's own name, so the file's relative references resolve inside
// files as well. A catalog entry naming no file of files fails the
// compile; a location neither in files nor in the catalog fails it too.
func CompileCatalog(files fs.FS, entry string, catalog Catalog) (*Schema, error) {
	initLibxml()
	var names []string
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".xsd") {
			names = append(names, p)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCompile, err)
	}
	if !fs.ValidPath(entry) {
		return nil, fmt.Errorf("%w: bad entry %q", ErrCompile, entry)
	}
	type served struct{ url, base, file string }
	var table []served
	for _, n := range names {
		table = append(table, served{url: urlBase + n, base: urlBase + n, file: n})
	}
	locations := make([]string, 0, len(catalog))
	for loc := range catalog {
		locations = append(locations, loc)
	}
	slices.Sort(locations)
	for _, loc := range locations {
		file := catalog[loc]
		if !fs.ValidPath(file) || !slices.Contains(names, file) {
			return nil, fmt.Errorf("%w: catalog entry %q names no schema file of the set (%q)", ErrCompile, loc, file)
		}
		if strings.HasPrefix(loc, urlBase) || !strings.Contains(loc, "://") {
			return nil, fmt.Errorf("%w: catalog entry %q is no absolute URL", ErrCompile, loc)
		}
		table = append(table, served{url: loc, base: urlBase + file, file: file})
	}
	ctable := (*C.xsd_file)(C.calloc(C.size_t(len(table)+1), C.size_t(unsafe.Sizeof(C.xsd_file{}))))
	defer C.free(unsafe.Pointer(ctable))
	entries := unsafe.Slice(ctable, len(table)+1)
	defer func() {
		for _, f := range entries {
			C.free(unsafe.Pointer(f.url))
			C.free(unsafe.Pointer(f.base))
			C.free(unsafe.Pointer(f.data))
		}
	}()
	for i, f := range table {
		b, err := fs.ReadFile(files, f.file)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCompile, err)
		}
		entries[i].url = C.CString(f.url)
		entries[i].base = C.CString(f.base)
		entries[i].data = (*C.char)(C.CBytes(b))
		entries[i].len = C.int(len(b))
	}
	centry := C.CString(urlBase + path.Clean(entry))
	defer C.free(unsafe.Pointer(centry))

	out := newProblems(50)
	defer freeProblems(out)
	compileMu.Lock()
	ptr := C.xsd_compile(ctable, C.int(len(table)), centry, out)
	compileMu.Unlock()
	if ptr == nil {
		e := collect(ErrCompile, out)
		if len(e.Problems) == 0 {
			e.Problems = []Problem{{Level: LevelFatal, Message: "no schema at " + entry}}
		}
		return nil, e
	}
	s := &Schema{ptr: ptr}
	runtime.AddCleanup(s, func(p C.xmlSchemaPtr) { C.xsd_free_schema(p) }, ptr)
	return s, nil
}

// Validate parses doc (at most lim.MaxBytes) without network, file
// access, entity substitution, DTD or XInclude processing, refuses a
// document type declaration, and validates it. It returns nil for a
// schema-valid document and otherwise an *Error.
func (s *Schema) Validate(doc []byte, lim Limits) error {
	lim = lim.withDefaults()
	if int64(len(doc)) > lim.MaxBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(doc), lim.MaxBytes)
	}
	if len(doc) == 0 {
		return &Error{Kind: ErrMalformed, Problems: []Problem{{Level: LevelFatal, Message: "empty document"}}, Total: 1}
	}
	out := newProblems(lim.MaxProblems)
	defer freeProblems(out)
	buf := C.CBytes(doc)
	defer C.free(buf)

	s.mu.Lock()
	rc := C.xsd_validate(s.ptr, (*C.char)(buf), C.int(len(doc)), out)
	s.mu.Unlock()
	runtime.KeepAlive(s)
	switch rc {
	case C.XSD_VALID:
		return nil
	case C.XSD_INVALID:
		return collect(ErrInvalid, out)
	case C.XSD_MALFORMED:
		return collect(ErrMalformed, out)
	case C.XSD_DOCTYPE:
		return collect(ErrDoctype, out)
	}
	return collect(ErrInternal, out)
}

func newProblems(limit int) *C.xsd_problems {
	out := (*C.xsd_problems)(C.calloc(1, C.size_t(unsafe.Sizeof(C.xsd_problems{}))))
	out.items = (*C.xsd_problem)(C.calloc(C.size_t(limit), C.size_t(unsafe.Sizeof(C.xsd_problem{}))))
	out.cap = C.int(limit)
	return out
}

func freeProblems(out *C.xsd_problems) {
	C.xsd_free_problems(out)
	C.free(unsafe.Pointer(out))
}

func collect(kind error, out *C.xsd_problems) *Error {
	e := &Error{Kind: kind, Total: int(out.total)}
	for _, p := range unsafe.Slice(out.items, int(out.n)) {
		e.Problems = append(e.Problems, Problem{
			Level:   Level(p.level),
			Line:    int(p.line),
			Column:  int(p.column),
			Message: strings.TrimSpace(C.GoString(p.message)),
		})
	}
	return e
}
