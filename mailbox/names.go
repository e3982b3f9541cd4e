package mailbox

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxFileNameRunes is the ERVB limit for a file name, extension included.
const MaxFileNameRunes = 90

// SafeFileName turns a sender-supplied name into one that follows the ERVB
// naming rules and is safe on every file system the intake may write to:
// only the last path element is kept; letters A–Z, a–z, ä ö ü Ä Ö Ü ß,
// digits, '_' and '-' are kept and every other character becomes '_'; a
// dot appears only before the extension; at most MaxFileNameRunes runes;
// never empty, never "." or "..", never a Windows device name.
func SafeFileName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	if !utf8.ValidString(name) {
		name = strings.ToValidUTF8(name, "_")
	}
	base, ext := name, ""
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		base, ext = name[:i], name[i+1:]
	}
	ext = mapRunes(ext, false)
	if utf8.RuneCountInString(ext) > 10 {
		ext = string([]rune(ext)[:10])
	}
	room := MaxFileNameRunes
	if ext != "" {
		room -= 1 + utf8.RuneCountInString(ext)
	}
	base = mapRunes(base, true)
	if r := []rune(base); len(r) > room {
		base = string(r[:room])
	}
	base = strings.Trim(base, "_") // after cutting, so the result is stable
	if base == "" {
		base = "dokument"
	}
	if isDeviceName(base) {
		base = "_" + base
	}
	return joinName(base, ext, "")
}

// joinName builds base[suffix].ext within MaxFileNameRunes, shortening base.
func joinName(base, ext, suffix string) string {
	tail := suffix
	if ext != "" {
		tail += "." + ext
	}
	room := MaxFileNameRunes - utf8.RuneCountInString(tail)
	if r := []rune(base); len(r) > room {
		base = string(r[:room])
	}
	return base + tail
}

func mapRunes(s string, allowDash bool) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case allowDash && strings.ContainsRune("äöüÄÖÜß_-", r):
			b.WriteRune(r)
		default:
			if allowDash {
				b.WriteByte('_')
			}
		}
	}
	return b.String()
}

func isDeviceName(base string) bool {
	u := strings.ToUpper(base)
	switch u {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	return len(u) == 4 && (strings.HasPrefix(u, "COM") || strings.HasPrefix(u, "LPT")) && u[3] >= '1' && u[3] <= '9'
}

// UniqueFileNames sanitises names and makes them unique without regard to
// case (intake folders may live on case-insensitive shares) by appending
// _2, _3 … before the extension. reserved names are treated as taken.
func UniqueFileNames(names []string, reserved ...string) []string {
	taken := map[string]bool{}
	for _, r := range reserved {
		taken[strings.ToLower(r)] = true
	}
	out := make([]string, len(names))
	for i, n := range names {
		s := SafeFileName(n)
		base, ext := s, ""
		if j := strings.LastIndexByte(s, '.'); j > 0 {
			base, ext = s[:j], s[j+1:]
		}
		for k := 2; taken[strings.ToLower(s)]; k++ {
			s = joinName(base, ext, fmt.Sprintf("_%d", k))
		}
		taken[strings.ToLower(s)] = true
		out[i] = s
	}
	return out
}
