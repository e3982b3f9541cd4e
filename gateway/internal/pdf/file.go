package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/limit"
)

// Sentinel errors.
var (
	ErrNotPDF = errors.New("pdf: not a PDF file")
	ErrXref   = errors.New("pdf: cross-reference unreadable")
	ErrSyntax = errors.New("pdf: syntax error")
	ErrLimit  = errors.New("pdf: limit exceeded")
	ErrRead   = errors.New("pdf: read error")
	// ErrUnsupported is a structure the parser does not read (a filter
	// other than FlateDecode on an object or cross-reference stream, a
	// predictor it does not know).
	ErrUnsupported = errors.New("pdf: unsupported")
)

func syntaxf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrSyntax, fmt.Sprintf(format, a...))
}

// Limits bound what one file may cost. Zero fields take the defaults.
type Limits struct {
	MaxObjects       int   // entries in the cross-reference; default 1,000,000
	MaxObjectBytes   int64 // bytes of one object's syntax (dictionary, array, not stream data); default 8 MiB
	MaxDepth         int   // nesting of arrays and dictionaries; default 64
	MaxXrefSections  int   // cross-reference sections (revisions); default 1,000
	MaxStreamBytes   int64 // decoded size of one object or cross-reference stream; default 64 MiB
	MaxDecodedBytes  int64 // decoded bytes of all such streams together; default 256 MiB
	MaxCachedStreams int   // decoded object streams kept for lookups; default 8
}

// WithDefaults fills zero fields.
func (l Limits) WithDefaults() Limits {
	return limit.Fill(l, Limits{MaxObjects: 1_000_000, MaxObjectBytes: 8 << 20, MaxDepth: 64, MaxXrefSections: 1000,
		MaxStreamBytes: 64 << 20, MaxDecodedBytes: 256 << 20, MaxCachedStreams: 8})
}

type entryKind uint8

const (
	entryFree entryKind = iota
	entryFile
	entryObjStm
)

type entry struct {
	kind entryKind
	off  int64 // entryFile: offset; entryObjStm: stream object number
	gen  int64 // entryFile: generation; entryObjStm: index in the stream
}

// File is a parsed PDF's cross-reference: objects are read on demand.
type File struct {
	r       io.ReaderAt
	size    int64
	lim     Limits
	Version string // from the header, e.g. "1.7"
	trailer Dict
	xref    map[int64]entry
	// Sections counts the cross-reference sections read (1 plus one per
	// incremental update, or 2 for a linearized file).
	Sections int
	decoded  int64
	cache    map[int64]*objStm
	cacheOrd []int64
}

type objStm struct {
	data  []byte
	first int64
	offs  map[int64]int64 // object number → offset after First
}

// Open reads the header and the cross-reference chain (tables, streams,
// hybrid files and incremental updates, newest entry wins). It reads
// nothing else: objects are parsed when asked for.
func Open(r io.ReaderAt, size int64, lim Limits) (*File, error) {
	f := &File{r: r, size: size, lim: lim.WithDefaults(), xref: map[int64]entry{}, cache: map[int64]*objStm{}}
	head := make([]byte, 16)
	n, _ := r.ReadAt(head, 0)
	head = head[:n]
	if !bytes.HasPrefix(head, []byte("%PDF-")) {
		return nil, fmt.Errorf("%w: no %%PDF- header", ErrNotPDF)
	}
	v := head[5:]
	if i := bytes.IndexFunc(v, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.') }); i >= 0 {
		v = v[:i]
	}
	f.Version = string(v)
	start, err := f.startxref()
	if err != nil {
		return nil, err
	}
	seen := map[int64]bool{}
	for off := start; ; {
		if seen[off] {
			return nil, fmt.Errorf("%w: /Prev loops back to offset %d", ErrXref, off)
		}
		seen[off] = true
		if f.Sections++; f.Sections > f.lim.MaxXrefSections {
			return nil, fmt.Errorf("%w: more than %d cross-reference sections", ErrLimit, f.lim.MaxXrefSections)
		}
		trailer, err := f.readSection(off)
		if err != nil {
			return nil, err
		}
		if f.trailer == nil {
			f.trailer = trailer
		}
		prev, ok := trailer.Int("Prev")
		if !ok {
			break
		}
		off = prev
	}
	if _, ok := f.trailer["Root"].(Ref); !ok {
		return nil, fmt.Errorf("%w: trailer names no /Root", ErrXref)
	}
	return f, nil
}

// Trailer is the newest trailer (or cross-reference stream dictionary).
func (f *File) Trailer() Dict { return f.trailer }

// Size is the file's length in bytes.
func (f *File) Size() int64 { return f.size }

// Encrypted reports whether the trailer names an /Encrypt dictionary.
func (f *File) Encrypted() bool { return f.trailer.Has("Encrypt") }

// startxref finds the offset after the last "startxref" keyword.
func (f *File) startxref() (int64, error) {
	const tail = 2048
	off := max(f.size-tail, 0)
	buf := make([]byte, f.size-off)
	if _, err := f.r.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("%w: %v", ErrRead, err)
	}
	i := bytes.LastIndex(buf, []byte("startxref"))
	if i < 0 {
		return 0, fmt.Errorf("%w: no startxref in the last %d bytes", ErrXref, tail)
	}
	l := newLexer(bytes.NewReader(buf[i+len("startxref"):]), -1, tail)
	n, err := l.expectInt()
	if err != nil || n <= 0 || n >= f.size {
		return 0, fmt.Errorf("%w: startxref offset is not inside the file", ErrXref)
	}
	return n, nil
}

func (f *File) lexAt(off int64) *lexer {
	return newLexer(io.NewSectionReader(f.r, off, f.size-off), off, f.lim.MaxObjectBytes)
}

// readSection reads the cross-reference section at off, adding the
// entries not already known (newer sections are read first).
func (f *File) readSection(off int64) (Dict, error) {
	if off <= 0 || off >= f.size {
		return nil, fmt.Errorf("%w: section offset %d is not inside the file", ErrXref, off)
	}
	l := f.lexAt(off)
	t, err := l.next()
	if err != nil {
		return nil, xrefErr(err)
	}
	if t.kind == tokKeyword && t.s == "xref" {
		trailer, err := f.readTable(l)
		if err != nil {
			return nil, xrefErr(err)
		}
		// A hybrid file's table is completed by a cross-reference stream.
		if stm, ok := trailer.Int("XRefStm"); ok {
			if _, err := f.readXrefStream(stm); err != nil {
				return nil, err
			}
		}
		return trailer, nil
	}
	return f.readXrefStream(off)
}

func xrefErr(err error) error {
	if errors.Is(err, ErrLimit) || errors.Is(err, ErrRead) || errors.Is(err, ErrXref) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrXref, err)
}

func (f *File) add(num int64, e entry) error {
	if _, ok := f.xref[num]; ok {
		return nil
	}
	if len(f.xref) >= f.lim.MaxObjects {
		return fmt.Errorf("%w: more than %d objects", ErrLimit, f.lim.MaxObjects)
	}
	f.xref[num] = e
	return nil
}

func (f *File) readTable(l *lexer) (Dict, error) {
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		if t.kind == tokKeyword && t.s == "trailer" {
			d, err := l.parseObject(0, f.lim.MaxDepth)
			if err != nil {
				return nil, err
			}
			trailer, ok := d.(Dict)
			if !ok {
				return nil, syntaxf("trailer is not a dictionary")
			}
			return trailer, nil
		}
		if t.kind != tokInt {
			return nil, syntaxf("subsection header expected")
		}
		count, err := l.expectInt()
		if err != nil {
			return nil, err
		}
		if t.i < 0 || count < 0 || count > int64(f.lim.MaxObjects) {
			return nil, fmt.Errorf("%w: subsection of %d entries", ErrLimit, count)
		}
		// Entries are 20 bytes each; the lexer's byte budget is per
		// object, so a table gets a budget of its own.
		l.max = l.pos + count*21 + f.lim.MaxObjectBytes
		for i := range count {
			o, err := l.expectInt()
			if err != nil {
				return nil, err
			}
			g, err := l.expectInt()
			if err != nil {
				return nil, err
			}
			k, err := l.next()
			if err != nil {
				return nil, err
			}
			switch {
			case k.kind == tokKeyword && k.s == "n":
				if o <= 0 || o >= f.size {
					return nil, fmt.Errorf("%w: object %d at offset %d outside the file", ErrXref, t.i+i, o)
				}
				err = f.add(t.i+i, entry{kind: entryFile, off: o, gen: g})
			case k.kind == tokKeyword && k.s == "f":
				err = f.add(t.i+i, entry{kind: entryFree})
			default:
				return nil, syntaxf("entry type n or f expected")
			}
			if err != nil {
				return nil, err
			}
		}
	}
}

func (f *File) readXrefStream(off int64) (Dict, error) {
	_, obj, err := f.readFileObject(off, -1)
	if err != nil {
		return nil, xrefErr(err)
	}
	s, ok := obj.(*Stream)
	if !ok {
		return nil, fmt.Errorf("%w: no cross-reference at offset %d", ErrXref, off)
	}
	if t, _ := s.Dict.Name("Type"); t != "XRef" {
		return nil, fmt.Errorf("%w: stream at offset %d is not /Type /XRef", ErrXref, off)
	}
	data, err := f.Decode(s)
	if err != nil {
		return nil, xrefErr(err)
	}
	w, ok := s.Dict["W"].(Array)
	if !ok || len(w) != 3 {
		return nil, fmt.Errorf("%w: /W is not an array of three", ErrXref)
	}
	var ws [3]int
	for i, v := range w {
		n, ok := v.(int64)
		if !ok || n < 0 || n > 8 {
			return nil, fmt.Errorf("%w: bad /W", ErrXref)
		}
		ws[i] = int(n)
	}
	size, _ := s.Dict.Int("Size")
	index := Array{int64(0), size}
	if a, ok := s.Dict["Index"].(Array); ok {
		index = a
	}
	if len(index)%2 != 0 {
		return nil, fmt.Errorf("%w: bad /Index", ErrXref)
	}
	rowLen := ws[0] + ws[1] + ws[2]
	if rowLen == 0 {
		return nil, fmt.Errorf("%w: empty /W", ErrXref)
	}
	field := func(b []byte, def int64) int64 {
		if len(b) == 0 {
			return def
		}
		var v int64
		for _, c := range b {
			v = v<<8 | int64(c)
		}
		return v
	}
	pos := 0
	for i := 0; i < len(index); i += 2 {
		first, ok1 := index[i].(int64)
		count, ok2 := index[i+1].(int64)
		if !ok1 || !ok2 || first < 0 || count < 0 || count > int64(f.lim.MaxObjects) {
			return nil, fmt.Errorf("%w: bad /Index", ErrXref)
		}
		for j := range count {
			if pos+rowLen > len(data) {
				return nil, fmt.Errorf("%w: stream shorter than /Index says", ErrXref)
			}
			row := data[pos : pos+rowLen]
			pos += rowLen
			typ := field(row[:ws[0]], 1)
			a := field(row[ws[0]:ws[0]+ws[1]], 0)
			b := field(row[ws[0]+ws[1]:], 0)
			var e entry
			switch typ {
			case 0:
				e = entry{kind: entryFree}
			case 1:
				if a <= 0 || a >= f.size {
					return nil, fmt.Errorf("%w: object %d at offset %d outside the file", ErrXref, first+j, a)
				}
				e = entry{kind: entryFile, off: a, gen: b}
			case 2:
				e = entry{kind: entryObjStm, off: a, gen: b}
			default:
				continue // reserved types are null references
			}
			if err := f.add(first+j, e); err != nil {
				return nil, err
			}
		}
	}
	return s.Dict, nil
}

// readFileObject parses "num gen obj ... endobj" at off. want is the
// object number the cross-reference promised, -1 for any.
func (f *File) readFileObject(off, want int64) (Ref, Object, error) {
	l := f.lexAt(off)
	num, err := l.expectInt()
	if err != nil {
		return Ref{}, nil, fmt.Errorf("%w: no object at offset %d", ErrXref, off)
	}
	gen, err := l.expectInt()
	if err != nil {
		return Ref{}, nil, fmt.Errorf("%w: no object at offset %d", ErrXref, off)
	}
	if err := l.expectKeyword("obj"); err != nil {
		return Ref{}, nil, fmt.Errorf("%w: no object at offset %d", ErrXref, off)
	}
	if want >= 0 && num != want {
		return Ref{}, nil, fmt.Errorf("%w: offset %d holds object %d, not %d", ErrXref, off, num, want)
	}
	ref := Ref{num, gen}
	obj, err := l.parseObject(0, f.lim.MaxDepth)
	if err != nil {
		return ref, nil, err
	}
	t, err := l.next()
	if err != nil {
		return ref, nil, err
	}
	if t.kind == tokKeyword && t.s == "endobj" {
		return ref, obj, nil
	}
	d, isDict := obj.(Dict)
	if t.kind != tokKeyword || t.s != "stream" || !isDict {
		return ref, nil, syntaxf("object %d: endobj expected", num)
	}
	// The data starts after the end-of-line that follows "stream".
	c, err := l.readByte()
	if err == nil && c == '\r' {
		c, err = l.readByte()
	}
	if err != nil || c != '\n' {
		return ref, nil, syntaxf("object %d: end of line expected after stream", num)
	}
	s := &Stream{Dict: d, Offset: l.off()}
	length, err := f.length(d, num)
	if err != nil {
		return ref, nil, err
	}
	if length < 0 || s.Offset+length > f.size {
		return ref, nil, syntaxf("object %d: stream /Length %d runs past the end of the file", num, length)
	}
	s.Length = length
	// endstream must follow the data (after optional end of line).
	tail := f.lexAt(s.Offset + length)
	if err := tail.expectKeyword("endstream"); err != nil {
		return ref, nil, syntaxf("object %d: stream /Length %d does not end at endstream", num, length)
	}
	return ref, s, nil
}

// length resolves a stream's /Length, which may be indirect.
func (f *File) length(d Dict, num int64) (int64, error) {
	switch v := d["Length"].(type) {
	case int64:
		return v, nil
	case Ref:
		if v.Num == num {
			return 0, syntaxf("object %d: /Length refers to itself", num)
		}
		o, err := f.Object(v)
		if err != nil {
			return 0, err
		}
		if n, ok := o.(int64); ok {
			return n, nil
		}
	}
	return 0, syntaxf("object %d: stream without an integer /Length", num)
}

// Object returns the object ref points at (nil for a free or missing
// entry, as PDF says of references to nothing).
func (f *File) Object(ref Ref) (Object, error) {
	e, ok := f.xref[ref.Num]
	if !ok {
		return nil, nil
	}
	switch e.kind {
	case entryFile:
		_, o, err := f.readFileObject(e.off, ref.Num)
		return o, err
	case entryObjStm:
		return f.fromObjStm(e.off, ref.Num)
	}
	return nil, nil
}

// Resolve follows references (at most MaxDepth of them in a row).
func (f *File) Resolve(o Object) (Object, error) {
	for range f.lim.MaxDepth {
		r, ok := o.(Ref)
		if !ok {
			return o, nil
		}
		var err error
		if o, err = f.Object(r); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w: reference chain longer than %d", ErrLimit, f.lim.MaxDepth)
}

func (f *File) fromObjStm(stmNum, num int64) (Object, error) {
	os, err := f.objStm(stmNum)
	if err != nil {
		return nil, err
	}
	rel, ok := os.offs[num]
	if !ok {
		return nil, fmt.Errorf("%w: object %d is not in object stream %d", ErrXref, num, stmNum)
	}
	at := os.first + rel
	if at < 0 || at > int64(len(os.data)) {
		return nil, syntaxf("object stream %d: offset outside the stream", stmNum)
	}
	l := newLexer(bytes.NewReader(os.data[at:]), -1, f.lim.MaxObjectBytes)
	return l.parseObject(0, f.lim.MaxDepth)
}

func (f *File) objStm(num int64) (*objStm, error) {
	if os, ok := f.cache[num]; ok {
		return os, nil
	}
	e, ok := f.xref[num]
	if !ok || e.kind != entryFile {
		return nil, fmt.Errorf("%w: object stream %d is not in the file", ErrXref, num)
	}
	_, obj, err := f.readFileObject(e.off, num)
	if err != nil {
		return nil, err
	}
	s, ok := obj.(*Stream)
	if !ok {
		return nil, syntaxf("object %d is not an object stream", num)
	}
	if t, _ := s.Dict.Name("Type"); t != "ObjStm" {
		return nil, syntaxf("object %d is not /Type /ObjStm", num)
	}
	n, ok1 := s.Dict.Int("N")
	first, ok2 := s.Dict.Int("First")
	if !ok1 || !ok2 || n < 0 || first < 0 || n > int64(f.lim.MaxObjects) {
		return nil, syntaxf("object stream %d: bad /N or /First", num)
	}
	data, err := f.Decode(s)
	if err != nil {
		return nil, err
	}
	if first > int64(len(data)) {
		return nil, syntaxf("object stream %d: /First beyond its data", num)
	}
	os := &objStm{data: data, first: first, offs: map[int64]int64{}}
	l := newLexer(bytes.NewReader(data[:first]), -1, first+1)
	for range n {
		on, err1 := l.expectInt()
		oo, err2 := l.expectInt()
		if err1 != nil || err2 != nil {
			return nil, syntaxf("object stream %d: bad header", num)
		}
		os.offs[on] = oo
	}
	if len(f.cacheOrd) >= f.lim.MaxCachedStreams {
		delete(f.cache, f.cacheOrd[0])
		f.cacheOrd = f.cacheOrd[1:]
	}
	f.cache[num] = os
	f.cacheOrd = append(f.cacheOrd, num)
	return os, nil
}

// Each calls fn for every object the cross-reference lists as in use, in
// object-number order, the newest revision of each; objects in object
// streams are read stream by stream. It stops at the first error.
func (f *File) Each(fn func(Ref, Object) error) error {
	nums := make([]int64, 0, len(f.xref))
	for n, e := range f.xref {
		if e.kind != entryFree {
			nums = append(nums, n)
		}
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	// File objects first, then object-stream members grouped by stream so
	// that each stream is decoded once.
	var inStm []int64
	for _, n := range nums {
		e := f.xref[n]
		if e.kind == entryObjStm {
			inStm = append(inStm, n)
			continue
		}
		ref, o, err := f.readFileObject(e.off, n)
		if err != nil {
			return err
		}
		if err := fn(ref, o); err != nil {
			return err
		}
	}
	sort.SliceStable(inStm, func(i, j int) bool { return f.xref[inStm[i]].off < f.xref[inStm[j]].off })
	for _, n := range inStm {
		o, err := f.fromObjStm(f.xref[n].off, n)
		if err != nil {
			return err
		}
		if err := fn(Ref{Num: n}, o); err != nil {
			return err
		}
	}
	return nil
}

// Len is the number of objects in use.
func (f *File) Len() int {
	n := 0
	for _, e := range f.xref {
		if e.kind != entryFree {
			n++
		}
	}
	return n
}
