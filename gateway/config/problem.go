package config

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Problem is one thing wrong with a configuration: the key it is about
// ("mailboxes[0].signature.pkcs12"), the line of the file that sets that
// key (0 when the file does not set it or the line is not known) and
// what is wrong. errors.Is matches its Kind (ErrConfig or ErrKeyMaterial)
// and its cause.
type Problem struct {
	Kind error
	Key  string
	Line int
	Err  error
}

// NewProblem returns a problem of kind (ErrConfig or ErrKeyMaterial)
// about key.
func NewProblem(kind error, key string, err error) *Problem {
	return &Problem{Kind: kind, Key: key, Err: err}
}

// Error reads "gateway: invalid configuration: line 12: mailboxes[0].safe_id: ...".
func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.Kind.Error())
	b.WriteString(": ")
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Err.Error())
	return b.String()
}

// Unwrap gives errors.Is and errors.As the kind and the cause.
func (p *Problem) Unwrap() []error { return []error{p.Kind, p.Err} }

// Problems lists the problems err holds, in order: err itself, or the
// problems joined or wrapped in it. A part of err that holds no Problem
// becomes one without a key, so nothing err says is lost.
func Problems(err error) []*Problem {
	if err == nil {
		return nil
	}
	var out []*Problem
	var walk func(error)
	walk = func(e error) {
		var p *Problem
		switch {
		case e == ErrConfig || e == ErrKeyMaterial:
		case !errors.As(e, &p):
			kind := ErrConfig
			if errors.Is(e, ErrKeyMaterial) {
				kind = ErrKeyMaterial
			}
			out = append(out, &Problem{Kind: kind, Err: stripKind(e)})
		default:
			if p, ok := e.(*Problem); ok {
				out = append(out, p)
				return
			}
			switch u := e.(type) {
			case interface{ Unwrap() []error }:
				for _, c := range u.Unwrap() {
					walk(c)
				}
			case interface{ Unwrap() error }:
				walk(u.Unwrap())
			}
		}
	}
	walk(err)
	return out
}

// stripKind drops the kind's text from the front of a message that
// repeats it, since the Problem prints the kind itself.
func stripKind(e error) error {
	for _, k := range []error{ErrConfig, ErrKeyMaterial} {
		if rest, ok := strings.CutPrefix(e.Error(), k.Error()+": "); ok {
			return &reworded{msg: rest, err: e}
		}
	}
	return e
}

// reworded is an error with another text and the same chain.
type reworded struct {
	msg string
	err error
}

func (r *reworded) Error() string { return r.msg }
func (r *reworded) Unwrap() error { return r.err }

// lines knows on which line of the file each key is.
type lines struct{ root *yaml.Node }

// parseLines reads the file's node tree; nil when it does not parse (the
// decoder has said why).
func parseLines(data []byte) *lines {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return nil
	}
	return &lines{root: doc.Content[0]}
}

// keySegment is one step of a key: a mapping key with indexes after it
// ("signature_certs[0]").
var keySegment = regexp.MustCompile(`^([a-z0-9_]*)((?:\[\d+\])*)$`)
var keyIndex = regexp.MustCompile(`\[(\d+)\]`)

// line returns the line of key: of the mapping key or sequence item that
// sets it, or of its nearest enclosing one the file has; 0 when the file
// has none of it.
func (l *lines) line(key string) int {
	if l == nil || key == "" {
		return 0
	}
	n, at := l.root, 0
	for _, seg := range strings.Split(key, ".") {
		m := keySegment.FindStringSubmatch(seg)
		if m == nil {
			return at
		}
		if m[1] != "" {
			v, kl := mapValue(n, m[1])
			if v == nil {
				return at
			}
			n, at = v, kl
		}
		for _, ix := range keyIndex.FindAllStringSubmatch(m[2], -1) {
			i, _ := strconv.Atoi(ix[1])
			n = deref(n)
			if n.Kind != yaml.SequenceNode || i >= len(n.Content) {
				return at
			}
			n, at = n.Content[i], n.Content[i].Line
		}
	}
	return at
}

// mapValue returns the value of name in mapping n and the line of its key.
func mapValue(n *yaml.Node, name string) (*yaml.Node, int) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return nil, 0
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == name {
			return n.Content[i+1], n.Content[i].Line
		}
	}
	return nil, 0
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// keyAt returns the key the file sets on line: the first mapping key or
// scalar sequence item there; "" when none.
func (l *lines) keyAt(line int) string {
	if l == nil {
		return ""
	}
	var find func(n *yaml.Node, path string) (string, bool)
	find = func(n *yaml.Node, path string) (string, bool) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				if k.Line == line {
					return p, true
				}
				if key, ok := find(v, p); ok {
					return key, true
				}
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if c.Kind == yaml.ScalarNode && c.Line == line {
					return p, true
				}
				if key, ok := find(c, p); ok {
					return key, true
				}
			}
		}
		return "", false
	}
	key, _ := find(l.root, "")
	return key
}

// locate sets the line of every problem that has none.
func (l *lines) locate(ps []*Problem) {
	for _, p := range ps {
		if p.Line == 0 {
			p.Line = l.line(p.Key)
		}
	}
}

// yamlLine is the "line N: " the YAML decoder starts a message with.
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// decodeProblems turns a decoder error into problems: one for each
// message of a *yaml.TypeError (an unknown key, a value of the wrong
// type), each at its line and, where the file has one there, its key.
func decodeProblems(err error, l *lines) []*Problem {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		p := &Problem{Kind: ErrConfig, Err: errors.New(strings.TrimPrefix(err.Error(), "yaml: "))}
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			p.Line, _ = strconv.Atoi(m[1])
			p.Err = errors.New(err.Error()[len(m[0]):])
		}
		return []*Problem{p}
	}
	var out []*Problem
	for _, msg := range te.Errors {
		p := &Problem{Kind: ErrConfig, Err: errors.New(msg)}
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			p.Line, _ = strconv.Atoi(m[1])
			p.Key = l.keyAt(p.Line)
			msg = msg[len(m[0]):]
			if strings.Contains(msg, " not found in type ") {
				msg = "unknown key, check its spelling and indentation (" + msg + ")"
			}
			p.Err = errors.New(msg)
		}
		out = append(out, p)
	}
	return out
}

func joinProblems(ps []*Problem) error {
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p
	}
	return errors.Join(errs...)
}
