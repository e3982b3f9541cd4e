package pdf

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"fmt"
	"io"
)

// Decode returns the decoded data of an object or cross-reference stream:
// no filter or FlateDecode, with the PNG and TIFF predictors. Decoded
// size is bounded per stream (MaxStreamBytes) and per file
// (MaxDecodedBytes); other filters are ErrUnsupported.
func (f *File) Decode(s *Stream) ([]byte, error) {
	if s.Length > f.lim.MaxStreamBytes {
		return nil, fmt.Errorf("%w: stream of %d bytes", ErrLimit, s.Length)
	}
	raw := make([]byte, s.Length)
	if _, err := f.r.ReadAt(raw, s.Offset); err != nil && !(err == io.EOF && s.Offset+s.Length == f.size) {
		return nil, fmt.Errorf("%w: %v", ErrRead, err)
	}
	var filter Name
	var parms Dict
	switch v := s.Dict["Filter"].(type) {
	case nil:
	case Name:
		filter = v
	case Array:
		if len(v) > 1 {
			return nil, fmt.Errorf("%w: chained filters", ErrUnsupported)
		}
		if len(v) == 1 {
			filter, _ = v[0].(Name)
		}
	default:
		return nil, syntaxf("bad /Filter")
	}
	switch v := s.Dict["DecodeParms"].(type) {
	case Dict:
		parms = v
	case Array:
		if len(v) == 1 {
			parms, _ = v[0].(Dict)
		}
	}
	switch filter {
	case "":
		return raw, f.count(int64(len(raw)))
	case "FlateDecode", "Fl":
	default:
		return nil, fmt.Errorf("%w: filter /%s", ErrUnsupported, filter)
	}
	budget := min(f.lim.MaxStreamBytes, f.lim.MaxDecodedBytes-f.decoded)
	var zr io.Reader
	if z, err := zlib.NewReader(bytes.NewReader(raw)); err == nil {
		zr = z
	} else {
		zr = flate.NewReader(bytes.NewReader(raw)) // raw deflate without zlib header
	}
	out, err := io.ReadAll(io.LimitReader(zr, budget+1))
	if int64(len(out)) > budget {
		return nil, fmt.Errorf("%w: decoded stream larger than %d bytes", ErrLimit, budget)
	}
	if err != nil && len(out) == 0 {
		return nil, syntaxf("flate data: %v", err)
	}
	// A truncated or checksum-less tail after complete data is common in
	// files real software writes; what was decoded is used.
	if err := f.count(int64(len(out))); err != nil {
		return nil, err
	}
	return unpredict(out, parms)
}

func (f *File) count(n int64) error {
	f.decoded += n
	if f.decoded > f.lim.MaxDecodedBytes {
		return fmt.Errorf("%w: more than %d decoded bytes", ErrLimit, f.lim.MaxDecodedBytes)
	}
	return nil
}

// unpredict undoes the PNG predictors (10-15) and the TIFF predictor 2
// with 8 bits per component, as cross-reference streams use them.
func unpredict(data []byte, parms Dict) ([]byte, error) {
	pred, _ := parms.Int("Predictor")
	if pred <= 1 {
		return data, nil
	}
	cols, ok := parms.Int("Columns")
	if !ok {
		cols = 1
	}
	colors, ok := parms.Int("Colors")
	if !ok {
		colors = 1
	}
	if bpc, ok := parms.Int("BitsPerComponent"); ok && bpc != 8 {
		return nil, fmt.Errorf("%w: predictor with %d bits per component", ErrUnsupported, bpc)
	}
	if cols <= 0 || colors <= 0 || cols*colors > 1<<20 {
		return nil, syntaxf("bad predictor columns")
	}
	bpp := int(colors)
	rowLen := int(cols * colors)
	if pred == 2 {
		for r := 0; r+rowLen <= len(data); r += rowLen {
			for i := bpp; i < rowLen; i++ {
				data[r+i] += data[r+i-bpp]
			}
		}
		return data, nil
	}
	if pred < 10 || pred > 15 {
		return nil, fmt.Errorf("%w: predictor %d", ErrUnsupported, pred)
	}
	out := make([]byte, 0, len(data)/(rowLen+1)*rowLen)
	prev := make([]byte, rowLen)
	for r := 0; r+rowLen+1 <= len(data); r += rowLen + 1 {
		typ, row := data[r], data[r+1:r+1+rowLen]
		for i := range row {
			var a, b, c byte
			if i >= bpp {
				a, c = row[i-bpp], prev[i-bpp]
			}
			b = prev[i]
			switch typ {
			case 0:
			case 1:
				row[i] += a
			case 2:
				row[i] += b
			case 3:
				row[i] += byte((int(a) + int(b)) / 2)
			case 4:
				row[i] += paeth(a, b, c)
			default:
				return nil, syntaxf("PNG predictor row type %d", typ)
			}
		}
		out = append(out, row...)
		copy(prev, row)
	}
	return out, nil
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	switch {
	case pa <= pb && pa <= pc:
		return a
	case pb <= pc:
		return b
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
