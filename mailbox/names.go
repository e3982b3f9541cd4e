package mailbox

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The file name rule of the ERVB (Elektronischer-Rechtsverkehr-
// Bekanntmachung) lives here, once: the submission refuses names that
// break it (ValidFileName), the intake renames what other senders' software
// wrote (SafeFileName, UniqueFileNames), and the two agree: every valid
// name is its own safe name, and every safe name a sanitiser returns with
// an extension is valid. A detached signature is named after the document
// it signs plus SignatureExt (Klage_<uuid>.pdf.p7s, as the justice sample
// data name them): the one name with two dots the rule allows, and the
// sanitiser keeps it beside its document's safe name.

// MaxFileNameRunes is the ERVB limit for a file name, extension included.
const MaxFileNameRunes = 90

// SignatureExt ends the name of a detached signature, appended to the
// name of the document it signs.
const SignatureExt = ".p7s"

// ErrFileName is a file name that breaks the ERVB rule.
var ErrFileName = errors.New("mailbox: file name breaks the ERVB rules")

// SignedDocumentName is the name of the document a detached signature
// named name signs: name without SignatureExt (in any case), when it ends
// with it and something is left. Whether either name is valid is
// ValidFileName's business.
func SignedDocumentName(name string) (string, bool) {
	n := len(name) - len(SignatureExt)
	if n <= 0 || !strings.EqualFold(name[n:], SignatureExt) {
		return "", false
	}
	return name[:n], true
}

// nameRune reports the characters ERVB allows in a file name besides the
// dot: letters A–Z, a–z with ä ö ü Ä Ö Ü ß, digits, '_' and '-'.
func nameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("äöüÄÖÜß_-", r)
}

// extRune reports the characters of an extension: letters and digits.
func extRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// ValidFileName applies the ERVB rule to a name as given: at most
// MaxFileNameRunes characters including the extension; letters (with
// ä ö ü Ä Ö Ü ß), digits, '_' and '-'; exactly one dot, between a name
// and an extension of letters and digits; and, so that it can be written
// on every file system, not a Windows device name (CON, PRN, AUX, NUL,
// COM1-9, LPT1-9 in any case). A detached signature's name is a valid
// document name plus SignatureExt, within the same length. Errors match
// ErrFileName.
func ValidFileName(name string) error {
	if doc, ok := SignedDocumentName(name); ok && strings.Count(name, ".") == 2 {
		if utf8.RuneCountInString(name) > MaxFileNameRunes {
			return fmt.Errorf("%w: %q is longer than %d characters", ErrFileName, name, MaxFileNameRunes)
		}
		if err := validDocumentName(doc); err != nil {
			return fmt.Errorf("%w (the signature's name is the signed document's and %s)", err, SignatureExt)
		}
		return nil
	}
	return validDocumentName(name)
}

// validDocumentName is the rule for every name but a signature's.
func validDocumentName(name string) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %q %s", ErrFileName, name, fmt.Sprintf(format, a...))
	}
	switch {
	case name == "":
		return bad("is empty")
	case !utf8.ValidString(name):
		return bad("is not valid UTF-8")
	case utf8.RuneCountInString(name) > MaxFileNameRunes:
		return bad("is longer than %d characters", MaxFileNameRunes)
	case strings.Count(name, ".") != 1:
		return bad("needs exactly one dot, before the extension")
	}
	base, ext, _ := strings.Cut(name, ".")
	if base == "" || ext == "" {
		return bad("needs a name and an extension around the dot")
	}
	for _, r := range base {
		if !nameRune(r) {
			return bad("has the character %q (letters, digits, _ and - only)", r)
		}
	}
	for _, r := range ext {
		if !extRune(r) {
			return bad("has the extension character %q", r)
		}
	}
	if isDeviceName(base) {
		return bad("is a device name on Windows")
	}
	return nil
}

// FileNameKey is what two names must not share in one message: names that
// are equal without regard to case, or after sanitising, end up as one
// file in an intake folder on a case-insensitive share.
func FileNameKey(name string) string { return strings.ToLower(SafeFileName(name)) }

// SafeFileName turns a sender-supplied name into one that follows the ERVB
// rule and is safe on every file system the intake may write to: only the
// last path element is kept; a character the rule does not allow becomes
// '_' inside the name and is dropped at its ends and in the extension; a
// dot appears only before the extension; at most MaxFileNameRunes runes;
// never empty, hidden or a device name ("CON.pdf" becomes
// "Datei_CON.pdf"). A detached signature's name stays its document's safe
// name plus SignatureExt ("Klage (1).pdf.p7s" becomes "Klage__1.pdf.p7s"
// beside "Klage__1.pdf"). It is stable: SafeFileName(SafeFileName(x))
// equals SafeFileName(x), and a name ValidFileName accepts is returned
// unchanged.
func SafeFileName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimSpace(strings.ToValidUTF8(name, "_"))
	if ValidFileName(name) == nil {
		return name
	}
	if doc, ok := SignedDocumentName(name); ok && strings.Contains(doc, ".") {
		return safeName(doc, MaxFileNameRunes-len(SignatureExt)) + name[len(doc):]
	}
	return safeName(name, MaxFileNameRunes)
}

// safeName sanitises a name as a document's, within limit runes.
func safeName(name string, limit int) string {
	base, ext := name, ""
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		base, ext = name[:i], name[i+1:]
	}
	ext = mapRunes(ext, extRune, false)
	if base = mapRunes(base, nameRune, true); base == "" {
		base = "dokument" // "", ".", "..", "(1)"
	}
	if isDeviceName(base) {
		base = "Datei_" + base
	}
	if ext != "" && utf8.RuneCountInString(ext) > limit-10 {
		ext = string([]rune(ext)[:limit-10])
	}
	return joinName(base, ext, "", limit)
}

// joinName builds base[suffix].ext within limit runes, shortening base, and
// the extension too when it leaves base no room (a valid name may have an
// extension of almost the whole length).
func joinName(base, ext, suffix string, limit int) string {
	if m := limit - 2 - utf8.RuneCountInString(suffix); ext != "" && utf8.RuneCountInString(ext) > m {
		ext = string([]rune(ext)[:m])
	}
	tail := suffix
	if ext != "" {
		tail += "." + ext
	}
	room := limit - utf8.RuneCountInString(tail)
	if r := []rune(base); len(r) > room {
		base = string(r[:room])
	}
	return base + tail
}

// mapRunes keeps the runes ok accepts and drops every other one; with
// replace, one between two kept runes becomes '_' instead ("Antrag (b)"
// becomes "Antrag__b").
func mapRunes(s string, ok func(rune) bool, replace bool) string {
	var b strings.Builder
	pending := 0
	for _, r := range s {
		if !ok(r) {
			pending++
			continue
		}
		if replace && b.Len() > 0 {
			b.WriteString(strings.Repeat("_", pending))
		}
		pending = 0
		b.WriteRune(r)
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
// _2, _3 … before the extension (before the document's extension in a
// signature's name, so that Klage_2.pdf.p7s stays beside Klage_2.pdf).
// reserved names are treated as taken. Every name it returns is its own
// SafeFileName, so an intake that checks the names it is given accepts
// them.
func UniqueFileNames(names []string, reserved ...string) []string {
	taken := map[string]bool{}
	for _, r := range reserved {
		taken[strings.ToLower(r)] = true
	}
	out := make([]string, len(names))
	for i, n := range names {
		s := SafeFileName(n)
		stem, sig, limit := s, "", MaxFileNameRunes
		if doc, ok := SignedDocumentName(s); ok && strings.Contains(doc, ".") {
			stem, sig, limit = doc, s[len(doc):], MaxFileNameRunes-len(SignatureExt)
		}
		base, ext := stem, ""
		if j := strings.LastIndexByte(stem, '.'); j >= 0 {
			base, ext = stem[:j], stem[j+1:]
		}
		for k := 2; taken[strings.ToLower(s)]; k++ {
			s = SafeFileName(joinName(base, ext, fmt.Sprintf("_%d", k), limit) + sig)
		}
		taken[strings.ToLower(s)] = true
		out[i] = s
	}
	return out
}
