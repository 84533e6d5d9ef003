/* read.c - WSO2 export files (XML, YAML, JSON) into a generic JSON tree
 * (wso2.h, docs/import.md "Reading the files"). */
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <yaml.h>

#include "lib/limits.h"
#include "lib/str.h"
#include "wso2/wso2.h"

const char *wso2_format_name(enum wso2_format f)
{
	switch (f) {
	case WSO2_FORMAT_XML: return "xml";
	case WSO2_FORMAT_YAML: return "yaml";
	case WSO2_FORMAT_JSON: return "json";
	default: return "unknown";
	}
}

/* `mt` equals `want` up to parameters (";...") and case. */
static bool media_is(const char *mt, const char *want)
{
	size_t n = strlen(want);

	return strncasecmp(mt, want, n) == 0 && (mt[n] == '\0' || mt[n] == ';' || mt[n] == ' ');
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

enum wso2_format wso2_format_of(const char *media_type, const char *filename)
{
	if (media_type != NULL) {
		if (media_is(media_type, "application/xml") || media_is(media_type, "text/xml"))
			return WSO2_FORMAT_XML;
		if (media_is(media_type, "application/yaml") || media_is(media_type, "text/yaml") ||
		    media_is(media_type, "application/x-yaml"))
			return WSO2_FORMAT_YAML;
		if (media_is(media_type, "application/json") || media_is(media_type, "text/json"))
			return WSO2_FORMAT_JSON;
	}
	if (filename != NULL) {
		if (ends_with(filename, ".xml"))
			return WSO2_FORMAT_XML;
		if (ends_with(filename, ".yaml") || ends_with(filename, ".yml"))
			return WSO2_FORMAT_YAML;
		if (ends_with(filename, ".json"))
			return WSO2_FORMAT_JSON;
	}
	return WSO2_FORMAT_UNKNOWN;
}

/* Adds `v` (stolen) under `key` of `obj`; a repeated key turns the member
 * into an array (XML's repeated elements). */
static status obj_add_repeat(json_t *obj, const char *key, json_t *v)
{
	json_t *cur = json_object_get(obj, key);

	if (v == NULL)
		return ST_NOMEM;
	if (cur == NULL)
		return json_object_set_new(obj, key, v) == 0 ? ST_OK : ST_NOMEM;
	if (json_is_array(cur))
		return json_array_append_new(cur, v) == 0 ? ST_OK : ST_NOMEM;
	{
		json_t *arr = json_array();
		if (arr == NULL || json_array_append(arr, cur) != 0 ||
		    json_array_append_new(arr, v) != 0 || json_object_set_new(obj, key, arr) != 0) {
			json_decref(arr);
			return ST_NOMEM;
		}
	}
	return ST_OK;
}

/* ---- XML --------------------------------------------------------------------- */

struct walk {
	size_t nodes;
	struct err *e;
};

static bool xml_nil(const xmlNode *n)
{
	for (const xmlAttr *a = n->properties; a != NULL; a = a->next)
		if (strcmp((const char *)a->name, "nil") == 0 && a->children != NULL &&
		    a->children->content != NULL &&
		    strcmp((const char *)a->children->content, "true") == 0)
			return true;
	return false;
}

static status xml_value(const xmlNode *n, int depth, struct walk *w, json_t **out)
{
	bool has_elements = false;
	json_t *obj;
	status st;

	*out = NULL;
	if (++w->nodes > LIMIT_IMPORT_NODES)
		return err_set(w->e, ST_TOO_LARGE, "XML: more than %d elements",
			       LIMIT_IMPORT_NODES);
	if (depth > LIMIT_IMPORT_DEPTH)
		return err_set(w->e, ST_TOO_LARGE, "XML: elements nested deeper than %d",
			       LIMIT_IMPORT_DEPTH);
	for (const xmlNode *c = n->children; c != NULL; c = c->next) {
		if (c->type == XML_ELEMENT_NODE)
			has_elements = true;
		else if (c->type == XML_ENTITY_REF_NODE || c->type == XML_ENTITY_NODE)
			return err_set(w->e, ST_INVALID, "XML: entity references are not accepted");
	}
	if (!has_elements) {
		xmlChar *text;
		if (xml_nil(n)) {
			*out = json_null();
			return ST_OK;
		}
		text = xmlNodeGetContent(n);
		*out = json_string(text != NULL ? (const char *)text : "");
		xmlFree(text);
		if (*out == NULL) /* not UTF-8 cannot happen: libxml2 decoded it */
		{
			char name[68];
			str_show(name, sizeof name, (const char *)n->name,
				 strlen((const char *)n->name));
			return err_set(w->e, ST_INVALID, "XML: element <%s>: invalid text", name);
		}
		return ST_OK;
	}
	if ((obj = json_object()) == NULL)
		return err_set(w->e, ST_NOMEM, "out of memory");
	for (const xmlNode *c = n->children; c != NULL; c = c->next) {
		json_t *v;
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if ((st = xml_value(c, depth + 1, w, &v)) != ST_OK) {
			json_decref(obj);
			return st;
		}
		if (obj_add_repeat(obj, (const char *)c->name, v) != ST_OK) {
			json_decref(obj);
			return err_set(w->e, ST_NOMEM, "out of memory");
		}
	}
	*out = obj;
	return ST_OK;
}

/* libxml2 reports through a global handler by default: keep it quiet, the
 * first error is taken from the parser context. */
static void xml_silent(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

/* libxml2 asks multithreaded programs to initialise it once, first. */
static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
	xmlInitParser();
}

static status read_xml(const char *data, size_t n, json_t **tree, struct err *e)
{
	/* No NOENT (entities are not substituted), no DTDLOAD/DTDATTR/DTDVALID
	 * (no external subset is read), NONET (nothing is fetched), no HUGE. */
	const int opts =
	    XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOWARNING | XML_PARSE_NOERROR;
	struct walk w = {0, e};
	xmlParserCtxtPtr ctx;
	xmlDocPtr doc = NULL;
	xmlNodePtr root;
	json_t *v = NULL, *o;
	status st;

	/* A document type declaration is where entity bombs and external
	 * entities are declared; WSO2 writes none. The input is read as
	 * UTF-8 whatever it declares, so the keyword cannot hide in another
	 * encoding. */
	if (memmem(data, n, "<!DOCTYPE", 9) != NULL || memmem(data, n, "<!ENTITY", 8) != NULL)
		return err_set(e, ST_INVALID,
			       "XML: a document type declaration (<!DOCTYPE, <!ENTITY) is not "
			       "accepted");
	pthread_once(&xml_once, xml_init);
	xmlSetGenericErrorFunc(NULL, xml_silent);
	if ((ctx = xmlNewParserCtxt()) == NULL)
		return err_set(e, ST_NOMEM, "out of memory");
	doc = xmlCtxtReadMemory(ctx, data, (int)n, "export.xml", "UTF-8", opts);
	if (doc == NULL) {
		const xmlError *xe = xmlCtxtGetLastError(ctx);
		const char *m = xe != NULL && xe->message != NULL ? xe->message : "not well-formed";
		char shown[204];
		size_t mn = strlen(m);
		/* libxml2's messages quote names from the input */
		while (mn > 0 && (m[mn - 1] == '\n' || m[mn - 1] == '\r' || m[mn - 1] == ' '))
			mn--;
		str_show(shown, sizeof shown, m, mn);
		st = err_set(e, ST_INVALID, "XML: line %d: %s", xe != NULL ? xe->line : 0, shown);
		goto out;
	}
	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		st = err_set(e, ST_INVALID, "XML: a document type declaration is not accepted");
		goto out;
	}
	if ((root = xmlDocGetRootElement(doc)) == NULL) {
		st = err_set(e, ST_INVALID, "XML: no root element");
		goto out;
	}
	if ((st = xml_value(root, 1, &w, &v)) != ST_OK)
		goto out;
	if ((o = json_object()) == NULL ||
	    json_object_set_new(o, (const char *)root->name, v) != 0) {
		json_decref(o);
		st = err_set(e, ST_NOMEM, "out of memory");
		goto out;
	}
	v = NULL;
	*tree = o;
	st = ST_OK;
out:
	json_decref(v);
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctx);
	return st;
}

/* ---- YAML -------------------------------------------------------------------- */

static bool yaml_null_scalar(const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return n == 0 || (n == 1 && s[0] == '~') ||
	       (n == 4 && (memcmp(s, "null", 4) == 0 || memcmp(s, "Null", 4) == 0 ||
			   memcmp(s, "NULL", 4) == 0));
}

struct ystack {
	json_t *node[LIMIT_IMPORT_DEPTH + 1];
	char *key[LIMIT_IMPORT_DEPTH + 1]; /* pending key of a mapping; NULL = expect key */
	int top;                           /* index of the innermost container; -1: none */
};

/* Places `v` (stolen) into the innermost container, or as the root. */
static status ystack_put(struct ystack *s, json_t **root, json_t *v, struct err *e)
{
	json_t *c;

	if (v == NULL)
		return err_set(e, ST_NOMEM, "out of memory");
	if (s->top < 0) {
		*root = v;
		return ST_OK;
	}
	c = s->node[s->top];
	if (json_is_array(c)) {
		if (json_array_append_new(c, v) != 0)
			return err_set(e, ST_NOMEM, "out of memory");
		return ST_OK;
	}
	if (s->key[s->top] == NULL) {
		json_decref(v);
		return err_set(e, ST_INVALID, "YAML: mapping keys must be scalars");
	}
	if (json_object_get(c, s->key[s->top]) != NULL) {
		json_decref(v);
		char shown[68];
		str_show(shown, sizeof shown, s->key[s->top], strlen(s->key[s->top]));
		err_set(e, ST_INVALID, "YAML: duplicate key '%s'", shown);
		free(s->key[s->top]);
		s->key[s->top] = NULL;
		return ST_INVALID;
	}
	if (json_object_set_new(c, s->key[s->top], v) != 0) {
		free(s->key[s->top]);
		s->key[s->top] = NULL;
		return err_set(e, ST_INVALID, "YAML: a key or value that is not UTF-8");
	}
	free(s->key[s->top]);
	s->key[s->top] = NULL;
	return ST_OK;
}

static status read_yaml(const char *data, size_t n, json_t **tree, struct err *e)
{
	yaml_parser_t p;
	yaml_event_t ev;
	struct ystack s = {.top = -1};
	json_t *root = NULL;
	size_t nodes = 0;
	status st = ST_OK;
	bool done = false, docs = false;

	if (!yaml_parser_initialize(&p))
		return err_set(e, ST_NOMEM, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)data, n);
	yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
	while (!done && st == ST_OK) {
		if (!yaml_parser_parse(&p, &ev)) {
			st = err_set(e, ST_INVALID, "YAML: line %zu: %.200s",
				     p.problem_mark.line + 1,
				     p.problem != NULL ? p.problem : "syntax error");
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT: done = true; break;
		case YAML_DOCUMENT_START_EVENT:
			if (docs)
				st = err_set(e, ST_INVALID,
					     "YAML: one document per file (a second '---' found)");
			docs = true;
			break;
		case YAML_ALIAS_EVENT: {
			const char *anchor = (const char *)ev.data.alias.anchor;
			char shown[68];
			str_show(shown, sizeof shown, anchor, strlen(anchor));
			st = err_set(e, ST_INVALID,
				     "YAML: aliases (*%s) are not accepted: exports have none, "
				     "and expanding them is how alias bombs grow",
				     shown);
			break;
		}
		case YAML_SCALAR_EVENT: {
			json_t *v;
			if (++nodes > LIMIT_IMPORT_NODES) {
				st = err_set(e, ST_TOO_LARGE, "YAML: more than %d nodes",
					     LIMIT_IMPORT_NODES);
				break;
			}
			if (s.top >= 0 && json_is_object(s.node[s.top]) && s.key[s.top] == NULL) {
				if (memchr(ev.data.scalar.value, '\0', ev.data.scalar.length) !=
				    NULL) {
					st = err_set(e, ST_INVALID, "YAML: a key holds a NUL");
					break;
				}
				s.key[s.top] = strndup((const char *)ev.data.scalar.value,
						       ev.data.scalar.length);
				if (s.key[s.top] == NULL)
					st = err_set(e, ST_NOMEM, "out of memory");
				break;
			}
			if (yaml_null_scalar(&ev))
				v = json_null();
			else
				v = json_stringn((const char *)ev.data.scalar.value,
						 ev.data.scalar.length);
			if (v == NULL) {
				st = err_set(e, ST_INVALID,
					     "YAML: line %zu: a scalar that is not "
					     "UTF-8",
					     ev.start_mark.line + 1);
				break;
			}
			st = ystack_put(&s, &root, v, e);
			break;
		}
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT: {
			json_t *c =
			    ev.type == YAML_MAPPING_START_EVENT ? json_object() : json_array();
			if (++nodes > LIMIT_IMPORT_NODES) {
				json_decref(c);
				st = err_set(e, ST_TOO_LARGE, "YAML: more than %d nodes",
					     LIMIT_IMPORT_NODES);
				break;
			}
			if (s.top + 1 >= LIMIT_IMPORT_DEPTH) {
				json_decref(c);
				st = err_set(e, ST_TOO_LARGE, "YAML: nested deeper than %d",
					     LIMIT_IMPORT_DEPTH);
				break;
			}
			if ((st = ystack_put(&s, &root, json_incref(c), e)) != ST_OK) {
				json_decref(c);
				break;
			}
			s.top++;
			s.node[s.top] = c;
			s.key[s.top] = NULL;
			break;
		}
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			json_decref(s.node[s.top]);
			free(s.key[s.top]);
			s.key[s.top] = NULL;
			s.top--;
			break;
		default: break;
		}
		yaml_event_delete(&ev);
	}
	for (; s.top >= 0; s.top--) {
		json_decref(s.node[s.top]);
		free(s.key[s.top]);
	}
	yaml_parser_delete(&p);
	if (st == ST_OK && root == NULL)
		st = err_set(e, ST_INVALID, "YAML: empty document");
	if (st != ST_OK) {
		json_decref(root);
		return st;
	}
	*tree = root;
	return ST_OK;
}

/* ---- JSON -------------------------------------------------------------------- */

static status json_bounds(const json_t *v, int depth, size_t *nodes, struct err *e)
{
	const char *k;
	json_t *m;
	size_t i;

	if (++*nodes > LIMIT_IMPORT_NODES)
		return err_set(e, ST_TOO_LARGE, "JSON: more than %d values", LIMIT_IMPORT_NODES);
	if (depth > LIMIT_IMPORT_DEPTH)
		return err_set(e, ST_TOO_LARGE, "JSON: nested deeper than %d", LIMIT_IMPORT_DEPTH);
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, m)
		{
			status st = json_bounds(m, depth + 1, nodes, e);
			if (st != ST_OK)
				return st;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m)
		{
			status st = json_bounds(m, depth + 1, nodes, e);
			if (st != ST_OK)
				return st;
		}
	}
	return ST_OK;
}

static status read_json(const char *data, size_t n, json_t **tree, struct err *e)
{
	json_error_t je;
	size_t nodes = 0;
	json_t *v;
	status st;

	/* jansson refuses nesting beyond its own depth limit (2048) while
	 * parsing, so the walk below is bounded before it starts. */
	v = json_loadb(data, n, JSON_REJECT_DUPLICATES, &je);
	if (v == NULL) {
		char shown[204]; /* jansson quotes the input near the error */
		str_show(shown, sizeof shown, je.text, strlen(je.text));
		return err_set(e, ST_INVALID, "JSON: line %d column %d: %s", je.line, je.column,
			       shown);
	}
	if ((st = json_bounds(v, 1, &nodes, e)) != ST_OK) {
		json_decref(v);
		return st;
	}
	*tree = v;
	return ST_OK;
}

enum wso2_format wso2_sniff(const char *data, size_t n)
{
	size_t i = 0;

	if (n >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	while (i < n && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
		i++;
	if (i < n && data[i] == '<')
		return WSO2_FORMAT_XML;
	if (i < n && data[i] == '{')
		return WSO2_FORMAT_JSON;
	return WSO2_FORMAT_YAML;
}

status wso2_read(enum wso2_format f, const char *data, size_t n, json_t **tree, struct err *e)
{
	*tree = NULL;
	if (n > LIMIT_IMPORT_FILE)
		return err_set(e, ST_TOO_LARGE, "the file has %zu bytes; at most %d are accepted",
			       n, LIMIT_IMPORT_FILE);
	if (memchr(data, '\0', n) != NULL)
		return err_set(e, ST_INVALID, "the file holds a NUL byte: not a text export");
	if (f == WSO2_FORMAT_UNKNOWN)
		f = wso2_sniff(data, n);
	switch (f) {
	case WSO2_FORMAT_XML: return read_xml(data, n, tree, e);
	case WSO2_FORMAT_YAML: return read_yaml(data, n, tree, e);
	default: return read_json(data, n, tree, e);
	}
}
