package egvp

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxNameRunes is the ERVB limit for a file name, extension included.
const MaxNameRunes = 90

// SafeName turns a name into one that follows the ERVB naming rules and can
// serve as Content Id and MIME Content-ID: only the last path element is
// kept; letters A–Z, a–z, ä ö ü Ä Ö Ü ß, digits, '_' and '-' stay, every
// other character becomes '_' (runs collapse to one); a dot only before the
// extension; at most MaxNameRunes runes; never empty.
func SafeName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.ToValidUTF8(name, "_")
	base, ext := name, ""
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		base, ext = name[:i], name[i+1:]
	}
	ext = strings.Trim(mapName(ext), "_")
	if r := []rune(ext); len(r) > 10 {
		ext = strings.Trim(string(r[:10]), "_")
	}
	base = strings.Trim(mapName(base), "_")
	if base == "" {
		base = "dokument"
	}
	return join(base, ext, "")
}

func mapName(s string) string {
	var b strings.Builder
	last := rune(0)
	for _, r := range s {
		if !allowedRune(r) {
			r = '_'
		}
		if r == '_' && last == '_' {
			continue
		}
		b.WriteRune(r)
		last = r
	}
	return b.String()
}

func allowedRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
		return true
	}
	return strings.ContainsRune("äöüÄÖÜß", r)
}

// join builds base[suffix].ext within MaxNameRunes, shortening base.
func join(base, ext, suffix string) string {
	tail := suffix
	if ext != "" {
		tail += "." + ext
	}
	room := MaxNameRunes - utf8.RuneCountInString(tail)
	if r := []rune(base); len(r) > room {
		base = strings.TrimRight(string(r[:room]), "_")
	}
	return base + tail
}

// UniqueNames sanitises names with SafeName and makes them unique (case
// folded, and distinct from the package's reserved Ids) by appending _2,
// _3, … before the extension. The result has the order of names.
func UniqueNames(names []string) []string {
	taken := map[string]bool{}
	for _, r := range reservedNames {
		taken[strings.ToLower(r)] = true
	}
	out := make([]string, len(names))
	for i, n := range names {
		s := SafeName(n)
		if taken[strings.ToLower(s)] {
			base, ext := s, ""
			if j := strings.LastIndexByte(s, '.'); j > 0 {
				base, ext = s[:j], s[j+1:]
			}
			for k := 2; ; k++ {
				s = join(base, ext, "_"+strconv.Itoa(k))
				if !taken[strings.ToLower(s)] {
					break
				}
			}
		}
		taken[strings.ToLower(s)] = true
		out[i] = s
	}
	return out
}
