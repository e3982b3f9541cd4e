package gcmstream

import "encoding/binary"

// fieldElement is an element of GF(2^128) in GCM's bit order: bit 0 of the
// block (the most significant bit of byte 0) is the coefficient of x^0 and
// is the most significant bit of hi. Multiplying by x is a right shift.
type fieldElement struct{ hi, lo uint64 }

func loadElement(b []byte) fieldElement {
	return fieldElement{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:16])}
}

func (e fieldElement) store(b []byte) {
	binary.BigEndian.PutUint64(b[:8], e.hi)
	binary.BigEndian.PutUint64(b[8:16], e.lo)
}

// timesX multiplies by x modulo x^128 + x^7 + x^2 + x + 1.
func (e fieldElement) timesX() fieldElement {
	carry := e.lo & 1
	e.lo = e.lo>>1 | e.hi<<63
	e.hi >>= 1
	// Constant-time conditional reduction by R = 11100001 ‖ 0^120.
	e.hi ^= (0xe1 << 56) & -carry
	return e
}

// reduce8[r] is what must be added to the high word after shifting an element
// right by 8 bits whose low byte was r: it folds x^128.. back into the field.
var reduce8 = func() (t [256]uint64) {
	for r := range t {
		e := fieldElement{lo: uint64(r)}
		for range 8 {
			e = e.timesX()
		}
		t[r] = e.hi // e.lo is zero: the reduction bits never reach the low word
	}
	return t
}()

// ghash is the GHASH universal hash keyed with H, fed as a stream. Where
// the CPU multiplies carry-less (ghash_amd64.s), whole blocks go to the
// assembly with the powers of H; elsewhere it uses Shoup's 8-bit table
// method: table[b] = b·H for every byte polynomial b.
type ghash struct {
	method ghashMethod
	htab   *clmulTable        // only for the assembly
	table  *[256]fieldElement // only for the table method
	y      fieldElement
	buf    [16]byte
	nbuf   int
	n      uint64 // bytes hashed so far (ciphertext only; AAD is always empty)
}

// ghashMethod says how blocks are multiplied by H.
type ghashMethod int

const (
	methodTable  ghashMethod = iota // Shoup's tables, pure Go
	methodCLMUL                     // PCLMULQDQ, eight blocks per reduction
	methodCLMUL4                    // VPCLMULQDQ on 512-bit registers, 32 blocks per reduction
)

func (g *ghash) init(h []byte) {
	g.initWith(h, bestMethod)
}

// initWith keys the hash for one method; tests use it to run every method
// the CPU has.
func (g *ghash) initWith(h []byte, m ghashMethod) {
	g.method = m
	if m != methodTable {
		g.htab = newCLMULTable(loadElement(h))
		return
	}
	// table[0x80] = H (x^0), table[0x40] = H·x, ..., table[0x01] = H·x^7.
	g.table = new([256]fieldElement)
	e := loadElement(h)
	for bit := 0x80; bit > 0; bit >>= 1 {
		g.table[bit] = e
		e = e.timesX()
	}
	for i := 2; i < 256; i <<= 1 {
		for j := 1; j < i; j++ {
			g.table[i|j] = fieldElement{g.table[i].hi ^ g.table[j].hi, g.table[i].lo ^ g.table[j].lo}
		}
	}
}

// clmulTable holds powers of H, each times x^-1, as the 128-bit integers
// whose bits are GCM's bit order reversed, low 64 bits first: the form in
// which one carry-less multiplication of two such integers yields the
// product's 256 bits without a shift (the x^-1 absorbs it). The assembly
// reads it at fixed offsets: pow at 0, wide at 128.
type clmulTable struct {
	pow  [8][2]uint64  // H^1 … H^8
	wide [32][2]uint64 // H^32 … H^1, the order of 32 blocks in eight registers
}

func newCLMULTable(h fieldElement) *clmulTable {
	t := new(clmulTable)
	last := len(t.wide) - 1
	t.pow[0] = timesXInv(h)
	t.wide[last] = t.pow[0]
	p := h
	for i := range last {
		// One block through the assembly keyed with H alone: (0 ⊕ p)·H,
		// so p becomes H^(i+2).
		var b [16]byte
		p.store(b[:])
		var y fieldElement
		ghashCLMUL(&y, t, b[:])
		p = y
		if i+1 < len(t.pow) {
			t.pow[i+1] = timesXInv(p)
		}
		t.wide[last-1-i] = timesXInv(p)
	}
	return t
}

// timesXInv returns e·x^-1 in the assembly's form. Reversed, multiplying by
// x^-1 is a left shift; x^-1 itself is x^127 + x^6 + x + 1, which is
// 0xc2 ‖ 0^112 ‖ 0x01.
func timesXInv(e fieldElement) [2]uint64 {
	carry := e.hi >> 63
	return [2]uint64{e.lo<<1 ^ carry, e.hi<<1 | e.lo>>63 ^ (0xc2<<56)&-carry}
}

// mulH returns x·H by Horner's rule over the bytes of x, last byte first
// (unrolled). Like every table-driven software GHASH, the lookups are
// indexed by data bytes; Go's own generic GCM fallback has the same
// exposure. A 4 KiB table stays in L1 cache; per-position tables (64 KiB)
// measured slower here.
func (g *ghash) mulH(x fieldElement) fieldElement {
	var z fieldElement
	z = g.step(z, byte(x.lo>>0))
	z = g.step(z, byte(x.lo>>8))
	z = g.step(z, byte(x.lo>>16))
	z = g.step(z, byte(x.lo>>24))
	z = g.step(z, byte(x.lo>>32))
	z = g.step(z, byte(x.lo>>40))
	z = g.step(z, byte(x.lo>>48))
	z = g.step(z, byte(x.lo>>56))
	z = g.step(z, byte(x.hi>>0))
	z = g.step(z, byte(x.hi>>8))
	z = g.step(z, byte(x.hi>>16))
	z = g.step(z, byte(x.hi>>24))
	z = g.step(z, byte(x.hi>>32))
	z = g.step(z, byte(x.hi>>40))
	z = g.step(z, byte(x.hi>>48))
	z = g.step(z, byte(x.hi>>56))
	return z
}

// step returns z·x^8 + table[b].
func (g *ghash) step(z fieldElement, b byte) fieldElement {
	t := &g.table[b]
	return fieldElement{z.hi>>8 ^ reduce8[z.lo&0xff] ^ t.hi, (z.lo>>8 | z.hi<<56) ^ t.lo}
}

func (g *ghash) block(b []byte) {
	x := loadElement(b)
	g.y = g.mulH(fieldElement{g.y.hi ^ x.hi, g.y.lo ^ x.lo})
}

// write absorbs p, buffering a partial trailing block.
func (g *ghash) write(p []byte) {
	g.n += uint64(len(p))
	if g.nbuf > 0 {
		k := copy(g.buf[g.nbuf:], p)
		g.nbuf += k
		p = p[k:]
		if g.nbuf < 16 {
			return
		}
		g.blocks(g.buf[:])
		g.nbuf = 0
	}
	if whole := len(p) &^ 15; whole > 0 {
		g.blocks(p[:whole])
		p = p[whole:]
	}
	g.nbuf = copy(g.buf[:], p)
}

// blocks absorbs p, a whole number of blocks.
func (g *ghash) blocks(p []byte) {
	switch g.method {
	case methodCLMUL4:
		if n := len(p) &^ 511; n > 0 {
			ghashCLMUL4(&g.y, g.htab, p[:n])
			p = p[n:]
		}
		fallthrough
	case methodCLMUL:
		if len(p) > 0 {
			ghashCLMUL(&g.y, g.htab, p)
		}
	default:
		for len(p) >= 16 {
			g.block(p[:16])
			p = p[16:]
		}
	}
}

// padFlush hashes a buffered partial block, zero-padded.
func (g *ghash) padFlush() {
	if g.nbuf > 0 {
		clear(g.buf[g.nbuf:])
		g.blocks(g.buf[:])
		g.nbuf = 0
	}
}

// sum finishes GHASH(A=ε, C) with the length block and returns it.
func (g *ghash) sum(aadBits, dataBits uint64) [16]byte {
	g.padFlush()
	var lens [16]byte
	binary.BigEndian.PutUint64(lens[:8], aadBits)
	binary.BigEndian.PutUint64(lens[8:], dataBits)
	g.blocks(lens[:])
	var out [16]byte
	g.y.store(out[:])
	return out
}
