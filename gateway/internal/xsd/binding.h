#ifndef BEBPO_XSD_BINDING_H
#define BEBPO_XSD_BINDING_H

#include <libxml/xmlschemas.h>

// A schema file served to libxml2 from memory while a schema compiles: the
// URL a schema names it by, and the URL it is known by once loaded (the base
// its own relative references resolve against). The two differ only for a
// catalog entry, an absolute URL standing for a file of the set.
typedef struct {
	const char *url;
	const char *base;
	const char *data;
	int len;
} xsd_file;

// One message libxml2 reported.
typedef struct {
	int level;  // xmlErrorLevel: 1 warning, 2 error, 3 fatal
	int domain; // xmlErrorDomain
	int code;
	int line;
	int column;
	char *message; // malloc'd; freed by xsd_free_problems
} xsd_problem;

// The messages of one call, at most cap of them; total counts all.
typedef struct {
	xsd_problem *items;
	int n;
	int cap;
	int total;
} xsd_problems;

// Results of xsd_validate.
enum {
	XSD_VALID = 0,
	XSD_INVALID = 1,      // well-formed, not schema-valid
	XSD_MALFORMED = 2,    // not well-formed XML
	XSD_DOCTYPE = 3,      // a document type declaration: refused
	XSD_INTERNAL = -1     // libxml2 failed (memory, internal error)
};

void xsd_init(void);
xmlSchemaPtr xsd_compile(const xsd_file *files, int nfiles, const char *entry, xsd_problems *out);
int xsd_validate(xmlSchemaPtr schema, const char *buf, int len, xsd_problems *out);
void xsd_free_schema(xmlSchemaPtr schema);
void xsd_free_problems(xsd_problems *p);

#endif
