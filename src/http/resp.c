/* resp.c - response helpers shared by the layer and the handlers. */
#include "http/http.h"

#include <stdio.h>
#include <strings.h>

#include "lib/log.h"

const char *http_status_text(int code)
{
	switch (code) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Unknown";
	}
}

void http_resp_header(struct http_resp *r, const char *name, const char *value)
{
	for (size_t i = 0; i < r->nheaders; i++) {
		if (strcasecmp(r->headers[i].name, name) == 0) {
			r->headers[i].name = name;
			r->headers[i].value = value;
			return;
		}
	}
	if (r->nheaders == HTTP_MAX_RESP_HEADERS) {
		log_error("http: response header table full, dropping %s", name);
		return;
	}
	r->headers[r->nheaders].name = name;
	r->headers[r->nheaders].value = value;
	r->nheaders++;
}

void http_resp_error(struct http_resp *r, const struct http_req *req, int http_status,
		     const char *code, const char *description)
{
	const char *message = http_status_text(http_status);
	char codebuf[16];
	status st;

	if (code == NULL) {
		snprintf(codebuf, sizeof codebuf, "HTTP-%d", http_status);
		code = codebuf;
	}
	r->status = http_status;
	r->content_type = "application/json";
	buf_reset(&r->body);
	st = buf_append_cstr(&r->body, "{\"code\":");
	if (st == ST_OK)
		st = buf_json_str(&r->body, sv_from(code));
	if (st == ST_OK)
		st = buf_append_cstr(&r->body, ",\"message\":");
	if (st == ST_OK)
		st = buf_json_str(&r->body, sv_from(message));
	if (st == ST_OK)
		st = buf_append_cstr(&r->body, ",\"description\":");
	if (st == ST_OK)
		st = buf_json_str(&r->body, sv_from(description ? description : message));
	if (st == ST_OK)
		st = buf_append_cstr(&r->body, ",\"traceId\":");
	if (st == ST_OK)
		st = buf_json_str(&r->body, sv_from(req ? req->trace_id : ""));
	if (st == ST_OK)
		st = buf_putc(&r->body, '}');
	if (st != ST_OK)
		buf_reset(&r->body); /* OOM: an empty body still carries the status */
}

void http_resp_oauth_error(struct http_resp *r, int http_status, const char *error,
			   const char *description)
{
	status st;

	r->status = http_status;
	r->content_type = "application/json";
	http_resp_header(r, "Cache-Control", "no-store");
	http_resp_header(r, "Pragma", "no-cache");
	buf_reset(&r->body);
	st = buf_append_cstr(&r->body, "{\"error\":");
	if (st == ST_OK)
		st = buf_json_str(&r->body, sv_from(error));
	if (st == ST_OK && description != NULL) {
		st = buf_append_cstr(&r->body, ",\"error_description\":");
		if (st == ST_OK)
			st = buf_json_str(&r->body, sv_from(description));
	}
	if (st == ST_OK)
		st = buf_putc(&r->body, '}');
	if (st != ST_OK)
		buf_reset(&r->body);
}
