// Package xsd validates XML documents against W3C XML Schemas with
// libxml2's validator (xmlSchemaValidateDoc), the validator xmllint uses,
// through a small cgo binding. It needs libxml2 and its headers
// (Debian: libxml2-dev) at build time.
//
// Guarantee: Validate returns nil only when libxml2 parsed the document
// as well-formed XML and found it valid against the compiled schema.
// Nothing a document or schema says can reach a file or the network:
// the binding installs the process's only libxml2 external entity
// loader, which serves the schema files handed to Compile while that
// compile runs and refuses every other location, and documents are
// parsed with XML_PARSE_NONET, without entity substitution, DTD loading,
// default attributes or XInclude. A document type declaration is refused
// (ErrDoctype). Input is bounded by Limits.MaxBytes before libxml2 sees
// it, and libxml2's own depth and text limits stay on. Schemas that import
// by absolute URL (the XÖV libraries do) compile with CompileCatalog: an
// explicit table from each such URL to a file of the set, the role an XML
// catalog plays for xmllint; a URL not in the table is refused like any
// other location, and no address is ever fetched.
//
// Failure: every error wraps one sentinel (ErrCompile, ErrTooLarge,
// ErrMalformed, ErrDoctype, ErrInvalid, ErrInternal); compile and
// validation failures are an *Error carrying libxml2's own messages with
// line numbers, at most Limits.MaxProblems of them (Total counts all).
//
// Threads: libxml2 is initialized once (xmlInitParser) before first use.
// Compiles are serialized, because xmlSchemaParse initializes libxml2's
// built-in types lazily and not thread-safely. A compiled Schema is reused
// for every validation; libxml2 promises thread safety for separate
// documents, not for one compiled schema shared by concurrent validation
// contexts, so validations against one Schema run one at a time (a record
// takes well under a millisecond). Every call does all its libxml2 work
// in one cgo call, so libxml2's thread-local error handlers never see
// another goroutine's document.
package xsd
