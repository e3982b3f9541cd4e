// The C half of the libxml2 binding. Every entry point does all its libxml2
// work in one call on one thread, so the thread-local state below (the files
// a compile may load, the collector for messages) never crosses threads.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlIO.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

#include "binding.h"

static __thread const xsd_file *tl_files;
static __thread int tl_nfiles;
static __thread xsd_problems *tl_out;

static void add_problem(xsd_problems *out, int level, int domain, int code, int line, int column, const char *msg) {
	if (out == NULL) {
		return;
	}
	out->total++;
	if (out->n >= out->cap) {
		return;
	}
	xsd_problem *p = &out->items[out->n];
	p->level = level;
	p->domain = domain;
	p->code = code;
	p->line = line;
	p->column = column;
	p->message = strdup(msg != NULL ? msg : "");
	if (p->message != NULL) {
		out->n++;
	}
}

static void on_error(void *ctx, xmlErrorPtr e) {
	if (e == NULL) {
		return;
	}
	add_problem((xsd_problems *)ctx, (int)e->level, e->domain, e->code, e->line, e->int2, e->message);
}

// Messages through the generic channel (rare: out of memory and the like)
// are dropped rather than printed to stderr; the structured channel carries
// everything a caller can act on.
static void on_generic(void *ctx, const char *msg, ...) {
	(void)ctx;
	(void)msg;
}

// The only external entity loader in the process: it serves the files of
// the compile running on this thread and refuses everything else, so no
// file, network or system catalog lookup can happen from any document. A
// catalog entry of the compile (an absolute URL standing for one of its
// files) is served under the file's own URL, so that what it references
// relatively resolves inside the file set too.
static xmlParserInputPtr loader(const char *url, const char *id, xmlParserCtxtPtr ctxt) {
	(void)id;
	if (url != NULL && tl_files != NULL) {
		for (int i = 0; i < tl_nfiles; i++) {
			if (strcmp(url, tl_files[i].url) != 0) {
				continue;
			}
			xmlParserInputBufferPtr buf = xmlParserInputBufferCreateMem(tl_files[i].data, tl_files[i].len, XML_CHAR_ENCODING_NONE);
			if (buf == NULL) {
				return NULL;
			}
			xmlParserInputPtr in = xmlNewIOInputStream(ctxt, buf, XML_CHAR_ENCODING_NONE);
			if (in == NULL) {
				xmlFreeParserInputBuffer(buf);
				return NULL;
			}
			in->filename = (char *)xmlStrdup((const xmlChar *)tl_files[i].base);
			return in;
		}
	}
	char msg[300];
	snprintf(msg, sizeof msg, "external resource refused: %.250s", url != NULL ? url : "(none)");
	add_problem(tl_out, XML_ERR_FATAL, XML_FROM_IO, XML_IO_LOAD_ERROR, 0, 0, msg);
	return NULL;
}

void xsd_init(void) {
	xmlInitParser();
	xmlSetExternalEntityLoader(loader);
}

static void begin(xsd_problems *out) {
	tl_out = out;
	xmlSetStructuredErrorFunc(out, on_error);
	xmlSetGenericErrorFunc(NULL, on_generic);
}

static void end(void) {
	xmlSetStructuredErrorFunc(NULL, NULL);
	xmlSetGenericErrorFunc(NULL, NULL);
	tl_out = NULL;
	tl_files = NULL;
	tl_nfiles = 0;
}

xmlSchemaPtr xsd_compile(const xsd_file *files, int nfiles, const char *entry, xsd_problems *out) {
	begin(out);
	tl_files = files;
	tl_nfiles = nfiles;
	xmlSchemaPtr schema = NULL;
	xmlSchemaParserCtxtPtr pctxt = xmlSchemaNewParserCtxt(entry);
	if (pctxt != NULL) {
		xmlSchemaSetParserStructuredErrors(pctxt, on_error, out);
		schema = xmlSchemaParse(pctxt);
		xmlSchemaFreeParserCtxt(pctxt);
	}
	end();
	return schema;
}

// Parse options: no network, no entity substitution, no DTD loading or
// default attributes, no XInclude, and libxml2's own limits on depth and
// text size stay on (no XML_PARSE_HUGE).
#define PARSE_OPTIONS XML_PARSE_NONET

int xsd_validate(xmlSchemaPtr schema, const char *buf, int len, xsd_problems *out) {
	begin(out);
	int rc = XSD_INTERNAL;
	xmlParserCtxtPtr pctxt = xmlNewParserCtxt();
	if (pctxt == NULL) {
		end();
		return XSD_INTERNAL;
	}
	xmlDocPtr doc = xmlCtxtReadMemory(pctxt, buf, len, "record.xml", NULL, PARSE_OPTIONS);
	if (doc == NULL || !pctxt->wellFormed) {
		rc = XSD_MALFORMED;
	} else if (doc->intSubset != NULL || doc->extSubset != NULL) {
		add_problem(out, XML_ERR_FATAL, XML_FROM_PARSER, XML_ERR_DOCTYPE_NOT_FINISHED, 0, 0,
		            "document type declaration not allowed");
		rc = XSD_DOCTYPE;
	} else {
		xmlSchemaValidCtxtPtr vctxt = xmlSchemaNewValidCtxt(schema);
		if (vctxt != NULL) {
			xmlSchemaSetValidStructuredErrors(vctxt, on_error, out);
			int v = xmlSchemaValidateDoc(vctxt, doc);
			rc = v == 0 ? XSD_VALID : (v > 0 ? XSD_INVALID : XSD_INTERNAL);
			xmlSchemaFreeValidCtxt(vctxt);
		}
	}
	if (doc != NULL) {
		xmlFreeDoc(doc);
	}
	xmlFreeParserCtxt(pctxt);
	end();
	return rc;
}

void xsd_free_schema(xmlSchemaPtr schema) {
	xmlSchemaFree(schema);
}

void xsd_free_problems(xsd_problems *p) {
	for (int i = 0; i < p->n; i++) {
		free(p->items[i].message);
	}
	free(p->items);
	p->items = NULL;
	p->n = 0;
}
