package pdf

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

type tokKind int

const (
	tokEOF tokKind = iota
	tokInt
	tokReal
	tokName
	tokString
	tokKeyword
	tokDictOpen
	tokDictClose
	tokArrOpen
	tokArrClose
)

type token struct {
	kind       tokKind
	s          string // name, keyword
	b          []byte // string bytes
	hex        bool
	i          int64
	f          float64
	start, end int64 // file offsets, or -1
}

// lexer tokenizes PDF syntax from a buffered reader, counting bytes so
// that no single parse reads more than max bytes.
type lexer struct {
	r    *bufio.Reader
	base int64 // file offset of the reader's first byte; -1 inside an object stream
	pos  int64 // bytes consumed
	max  int64
	back []token
}

func newLexer(r io.Reader, base, max int64) *lexer {
	return &lexer{r: bufio.NewReaderSize(r, 16<<10), base: base, max: max}
}

func isSpace(c byte) bool {
	return c == 0 || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' '
}

func isDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

// off is the file offset of the next unread byte, or -1.
func (l *lexer) off() int64 {
	if l.base < 0 {
		return -1
	}
	return l.base + l.pos
}

func (l *lexer) readByte() (byte, error) {
	if l.pos >= l.max {
		return 0, fmt.Errorf("%w: an object is larger than %d bytes", ErrLimit, l.max)
	}
	c, err := l.r.ReadByte()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return 0, io.EOF
		}
		return 0, fmt.Errorf("%w: %v", ErrRead, err)
	}
	l.pos++
	return c, nil
}

func (l *lexer) unread() {
	_ = l.r.UnreadByte()
	l.pos--
}

func (l *lexer) push(t token) { l.back = append(l.back, t) }

// skipSpace skips white space and comments.
func (l *lexer) skipSpace() error {
	for {
		c, err := l.readByte()
		if err != nil {
			return err
		}
		if c == '%' {
			for c != '\n' && c != '\r' {
				if c, err = l.readByte(); err != nil {
					return err
				}
			}
			continue
		}
		if !isSpace(c) {
			l.unread()
			return nil
		}
	}
}

func (l *lexer) next() (token, error) {
	if n := len(l.back); n > 0 {
		t := l.back[n-1]
		l.back = l.back[:n-1]
		return t, nil
	}
	if err := l.skipSpace(); err != nil {
		if errors.Is(err, io.EOF) {
			return token{kind: tokEOF}, nil
		}
		return token{}, err
	}
	start := l.off()
	c, err := l.readByte()
	if err != nil {
		return token{}, err
	}
	t := token{start: start}
	switch {
	case c == '[':
		t.kind = tokArrOpen
	case c == ']':
		t.kind = tokArrClose
	case c == '<':
		c2, err := l.readByte()
		if err != nil {
			return token{}, syntaxf("unterminated hex string")
		}
		if c2 == '<' {
			t.kind = tokDictOpen
		} else {
			l.unread()
			if t.b, err = l.hexString(); err != nil {
				return token{}, err
			}
			t.kind, t.hex = tokString, true
		}
	case c == '>':
		if c2, err := l.readByte(); err != nil || c2 != '>' {
			return token{}, syntaxf("stray '>'")
		}
		t.kind = tokDictClose
	case c == '(':
		if t.b, err = l.literalString(); err != nil {
			return token{}, err
		}
		t.kind = tokString
	case c == '/':
		if t.s, err = l.name(); err != nil {
			return token{}, err
		}
		t.kind = tokName
	case c == ')' || c == '{' || c == '}':
		return token{}, syntaxf("unexpected %q", c)
	default:
		word := []byte{c}
		for {
			c, err := l.readByte()
			if errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return token{}, err
			}
			if isSpace(c) || isDelim(c) {
				l.unread()
				break
			}
			if len(word) >= 256 {
				return token{}, syntaxf("token longer than 256 bytes")
			}
			word = append(word, c)
		}
		t.s = string(word)
		if i, err := strconv.ParseInt(t.s, 10, 64); err == nil {
			t.kind, t.i = tokInt, i
		} else if f, err := strconv.ParseFloat(t.s, 64); err == nil && (word[0] == '-' || word[0] == '+' || word[0] == '.' || word[0] >= '0' && word[0] <= '9') {
			t.kind, t.f = tokReal, f
		} else {
			t.kind = tokKeyword
		}
	}
	t.end = l.off()
	return t, nil
}

func (l *lexer) name() (string, error) {
	var b []byte
	for {
		c, err := l.readByte()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return "", err
		}
		if isSpace(c) || isDelim(c) {
			l.unread()
			break
		}
		if c == '#' {
			h := make([]byte, 2)
			for i := range h {
				if h[i], err = l.readByte(); err != nil {
					return "", syntaxf("truncated #-escape in name")
				}
			}
			v, err := strconv.ParseUint(string(h), 16, 8)
			if err != nil {
				return "", syntaxf("bad #-escape in name")
			}
			c = byte(v)
		}
		if len(b) >= 127 {
			return "", syntaxf("name longer than 127 bytes")
		}
		b = append(b, c)
	}
	return string(b), nil
}

func (l *lexer) hexString() ([]byte, error) {
	var digits []byte
	for {
		c, err := l.readByte()
		if err != nil {
			return nil, syntaxf("unterminated hex string")
		}
		if c == '>' {
			break
		}
		if isSpace(c) {
			continue
		}
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return nil, syntaxf("bad character %q in hex string", c)
		}
		digits = append(digits, c)
	}
	if len(digits)%2 == 1 {
		digits = append(digits, '0')
	}
	out := make([]byte, len(digits)/2)
	for i := range out {
		v, _ := strconv.ParseUint(string(digits[2*i:2*i+2]), 16, 8)
		out[i] = byte(v)
	}
	return out, nil
}

func (l *lexer) literalString() ([]byte, error) {
	var b bytes.Buffer
	depth := 1
	for {
		c, err := l.readByte()
		if err != nil {
			return nil, syntaxf("unterminated string")
		}
		switch c {
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return b.Bytes(), nil
			}
		case '\\':
			if c, err = l.readByte(); err != nil {
				return nil, syntaxf("unterminated string")
			}
			switch c {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r', '\n':
				if c == '\r' {
					if c2, err := l.readByte(); err == nil && c2 != '\n' {
						l.unread()
					}
				}
				continue
			default:
				if c >= '0' && c <= '7' {
					v := int(c - '0')
					for range 2 {
						c2, err := l.readByte()
						if err != nil {
							break
						}
						if c2 < '0' || c2 > '7' {
							l.unread()
							break
						}
						v = v*8 + int(c2-'0')
					}
					c = byte(v)
				}
			}
		}
		b.WriteByte(c)
	}
}

// parseObject reads one object; depth bounds nesting.
func (l *lexer) parseObject(depth, maxDepth int) (Object, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: objects nested deeper than %d", ErrLimit, maxDepth)
	}
	t, err := l.next()
	if err != nil {
		return nil, err
	}
	switch t.kind {
	case tokEOF:
		return nil, syntaxf("unexpected end of data")
	case tokInt:
		// "num gen R" is a reference.
		t2, err := l.next()
		if err != nil {
			return nil, err
		}
		if t2.kind == tokInt {
			t3, err := l.next()
			if err != nil {
				return nil, err
			}
			if t3.kind == tokKeyword && t3.s == "R" {
				return Ref{Num: t.i, Gen: t2.i}, nil
			}
			l.push(t3)
		}
		l.push(t2)
		return t.i, nil
	case tokReal:
		return t.f, nil
	case tokName:
		return Name(t.s), nil
	case tokString:
		return String{Bytes: t.b, Hex: t.hex, Start: t.start, End: t.end}, nil
	case tokArrOpen:
		var a Array
		for {
			t, err := l.next()
			if err != nil {
				return nil, err
			}
			if t.kind == tokArrClose {
				return a, nil
			}
			if t.kind == tokEOF {
				return nil, syntaxf("unterminated array")
			}
			l.push(t)
			o, err := l.parseObject(depth+1, maxDepth)
			if err != nil {
				return nil, err
			}
			a = append(a, o)
		}
	case tokDictOpen:
		d := Dict{}
		for {
			t, err := l.next()
			if err != nil {
				return nil, err
			}
			if t.kind == tokDictClose {
				return d, nil
			}
			if t.kind != tokName {
				return nil, syntaxf("dictionary key is not a name")
			}
			o, err := l.parseObject(depth+1, maxDepth)
			if err != nil {
				return nil, err
			}
			if o != nil { // a null value is as good as an absent key
				d[Name(t.s)] = o
			}
		}
	case tokKeyword:
		switch t.s {
		case "true":
			return true, nil
		case "false":
			return false, nil
		case "null":
			return nil, nil
		}
		return nil, syntaxf("unexpected keyword %q", t.s)
	}
	return nil, syntaxf("unexpected token")
}

// expectKeyword reads the keyword kw.
func (l *lexer) expectKeyword(kw string) error {
	t, err := l.next()
	if err != nil {
		return err
	}
	if t.kind != tokKeyword || t.s != kw {
		return syntaxf("%q expected", kw)
	}
	return nil
}

// expectInt reads an integer.
func (l *lexer) expectInt() (int64, error) {
	t, err := l.next()
	if err != nil {
		return 0, err
	}
	if t.kind != tokInt {
		return 0, syntaxf("integer expected")
	}
	return t.i, nil
}
