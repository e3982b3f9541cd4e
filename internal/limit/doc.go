// Package limit holds the one rule the module applies to its limits: a
// limit that is zero or negative (left unset) takes its safe default, so no
// configuration can turn a limit off. Fill applies the rule to every signed
// integer field of a limits struct at once, so a field added later cannot
// be forgotten. It fails only by panicking when given something other than
// a struct with exported fields, a programming error every test of a caller
// finds.
package limit
