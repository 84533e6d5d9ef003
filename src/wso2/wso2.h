/* wso2.h - WSO2 IS 7 export files: readers and the mapping to the admin
 * API's bodies (docs/import.md).
 *
 * Two steps, both pure (no I/O, no store, no configuration):
 *
 *  1. wso2_read() turns one export file (XML, YAML or JSON, as WSO2's
 *     identity-api-server FileSerializationUtil writes them) into a generic
 *     tree of JSON values: an XML element with child elements becomes an
 *     object (a repeated child an array), any other element its text (an
 *     element with xsi:nil="true" null), and the document {"<root>": ...};
 *     a YAML mapping an object, a sequence an array, a scalar a string
 *     (plain null, ~ and empty scalars null); JSON stays JSON. Bounded by
 *     LIMIT_IMPORT_FILE bytes, LIMIT_IMPORT_DEPTH levels and
 *     LIMIT_IMPORT_NODES nodes. Hostile constructs are refused, never
 *     expanded: an XML document type declaration (where entity bombs and
 *     external entities live; libxml2 runs with XML_PARSE_NONET, without
 *     XML_PARSE_NOENT or DTD loading), YAML aliases (*ref), duplicate JSON
 *     or YAML keys.
 *
 *  2. wso2_map() recognises the tree as an identity provider (WSO2's
 *     IdentityProvider) or an application (ServiceProvider with its OAuth
 *     inbound's OAuthAppDO) and builds the body of POST
 *     /identity-providers or POST /applications (docs/api/openapi.yaml),
 *     with a report: the WSO2 members that were mapped and those dropped
 *     because grantd has no such setting. Member names are matched without
 *     regard to case, so XML's IdentityProviderName and JSON's
 *     identityProviderName are one member. A member is only reported as
 *     dropped when it holds something: "false", 0, "", null and empty lists
 *     and objects (recursively) are what every export carries by default.
 *
 * Ownership: every json_t returned is a new reference owned by the caller.
 * Errors are ST_INVALID (not an export, malformed, hostile), ST_TOO_LARGE
 * (a bound) or ST_NOMEM, with the reason in `e`; they never quote a secret. */
#ifndef GRANTD_WSO2_WSO2_H
#define GRANTD_WSO2_WSO2_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "lib/err.h"

enum wso2_format {
	WSO2_FORMAT_UNKNOWN = 0,
	WSO2_FORMAT_XML,
	WSO2_FORMAT_YAML,
	WSO2_FORMAT_JSON,
};

/* "xml", "yaml", "json" or "unknown". */
const char *wso2_format_name(enum wso2_format f);

/* The format from a media type (application/xml, text/xml,
 * application/yaml, text/yaml, application/x-yaml, application/json,
 * text/json; parameters ignored), else from a file name's extension (.xml,
 * .yaml, .yml, .json), else WSO2_FORMAT_UNKNOWN. Either may be NULL. */
enum wso2_format wso2_format_of(const char *media_type, const char *filename);

/* The format of a file whose type and name say nothing: its first
 * character after a UTF-8 byte order mark and whitespace is '<' for XML,
 * '{' for JSON; anything else is read as YAML. */
enum wso2_format wso2_sniff(const char *data, size_t n);

/* Reads `n` bytes of `data` in format `f` into a generic tree (above);
 * WSO2_FORMAT_UNKNOWN: the format wso2_sniff() finds. */
status wso2_read(enum wso2_format f, const char *data, size_t n, json_t **tree, struct err *e);

enum wso2_kind {
	WSO2_IDP = 1, /* -> POST /identity-providers */
	WSO2_APP,     /* -> POST /applications */
};

/* "identity provider" or "application". */
const char *wso2_kind_name(enum wso2_kind k);

struct wso2_object {
	enum wso2_kind kind;
	json_t *name;    /* string: the object's name, for the report */
	json_t *body;    /* the admin API body; an application's may hold
			  * inboundProtocolConfiguration.oidc.clientSecret */
	json_t *mapped;  /* array of WSO2 member names used */
	json_t *dropped; /* array of WSO2 member names grantd has no use for */
	json_t *notes;   /* array of sentences (a masked secret, ...) */
};

/* Maps `tree` (from wso2_read) to `out`. ST_INVALID when the tree is not an
 * identity provider or application export, or lacks what grantd needs (a
 * name; for an application with an OAuth inbound, one grant type grantd
 * knows; an application without one maps to a name-only body, as WSO2's
 * console creates them, with a note):
 * then `out` is cleared, but out->kind and out->name are set when known. */
status wso2_map(const json_t *tree, struct wso2_object *out, struct err *e);
/* Wipes a clientSecret the body still holds, then releases the members of
 * `o` (not `o` itself). */
void wso2_object_clear(struct wso2_object *o);

#endif
