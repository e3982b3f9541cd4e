package pdf

import "fmt"

// Object is a PDF object: nil (null), bool, int64, float64, Name, String,
// Array, Dict, *Stream or Ref.
type Object any

// Name is a PDF name without the slash, #-escapes decoded.
type Name string

// String is a literal or hexadecimal string, decoded. Start and End are
// the file offsets of its first and one past its last byte (the
// delimiters included) when it was read from the file, -1 when it came
// from an object stream.
type String struct {
	Bytes      []byte
	Hex        bool
	Start, End int64
}

// Array is a PDF array.
type Array []Object

// Dict is a PDF dictionary.
type Dict map[Name]Object

// Stream is a stream object: its dictionary and where its raw (encoded)
// data lies in the file.
type Stream struct {
	Dict   Dict
	Offset int64 // file offset of the first data byte
	Length int64 // raw length
	// Data holds the raw bytes of a stream that is not in the file (never
	// set for file streams; object streams cannot hold streams).
	Data []byte
}

// Ref is an indirect reference "num gen R".
type Ref struct {
	Num int64
	Gen int64
}

func (r Ref) String() string { return fmt.Sprintf("%d %d R", r.Num, r.Gen) }

// Name returns d[k] if it is a name.
func (d Dict) Name(k Name) (Name, bool) {
	n, ok := d[k].(Name)
	return n, ok
}

// Int returns d[k] if it is an integer.
func (d Dict) Int(k Name) (int64, bool) {
	n, ok := d[k].(int64)
	return n, ok
}

// Has reports whether d has the key k.
func (d Dict) Has(k Name) bool {
	_, ok := d[k]
	return ok
}
