/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.h - the HTTP server: libmicrohttpd with one route table, bearer-token
 * authentication, JSON in and out, and the error format of the API:
 * {"error": {"code": "...", "message": "..."}}.
 *
 * A handler runs in one of the server's worker threads and answers exactly
 * once through http_reply_json, http_reply_error or http_reply_text.
 *
 * A GET or HEAD of a path that no route takes, outside the API's prefixes
 * (/api, /open311, /metrics, /healthz), is answered from the folder of
 * static files, when there is one (the web console): a regular file of a
 * known type, with an ETag and Cache-Control; "/" is its index.html.
 */
#ifndef HOTLINE_HTTP_H
#define HOTLINE_HTTP_H

#include "auth.h"

#include <jansson.h>
#include <stddef.h>

#define HTTP_MAX_BODY (1024 * 1024)

#define HTTP_ADDRESS_LEN 46 /* INET6_ADDRSTRLEN: the longest address text and its NUL */

struct http_request;
struct http_server;

typedef void http_handler(struct http_request *req);

struct http_route {
    const char *method;
    const char *path; /* segments in braces match one segment: /tickets/{id} */
    http_handler *handler;
    unsigned roles;  /* enum role bits allowed; 0: no token needed */
    const void *arg; /* for the handler: http_route_arg() */
};

/*
 * Looks up the principal holding 'token' for the application 'app'.
 * Returns 1 if found (filling 'out'), 0 if not, -1 if it cannot tell now.
 */
typedef int http_auth_fn(void *app, const char *token, struct principal *out);

struct http_options {
    const char *address; /* IPv4 or IPv6 literal */
    int port;
    int threads;
    int timeout_s;               /* a connection idle this long, mid-request too, is closed */
    const char *static_dir;      /* the static files served at "/"; NULL: none */
    const char *trusted_proxies; /* proxy_list_parse() text; NULL or "" for none */
    /* Optional: returns 1 if the worker calling it lost its database, so
     * that a handler's failure then is answered 503 database_unavailable,
     * as a request made while the database is away is, not 500; 2 if it
     * lost it while committing, answered 500 outcome_unknown. */
    int (*database_lost)(void *app);
    /* Optional: called as each request's handler returned; returns 1 if
     * what the worker took as current when it looked up the caller was
     * not, so that none of the request's work was done: the request is
     * then handled again from the start, its first answer dropped (what a
     * handler does outside the database, a log line or a limiter's count,
     * is then done twice). */
    int (*request_stale)(void *app);
};

/*
 * Starts serving 'routes' (kept by reference, at most METRICS_MAX_ROUTES)
 * on the worker threads, and the files of opt->static_dir (copied).  'app'
 * is handed to every handler.  Returns the running server, or NULL with the reason logged.
 */
struct http_server *http_server_new(const struct http_options *opt, const struct http_route *routes,
                                    size_t nroutes, http_auth_fn *auth, void *app);

/* Stops accepting, finishes the requests in flight, frees; NULL is a no-op. */
void http_server_free(struct http_server *srv);

/* Writes the request counters of 'srv' and every other metric to 'out'. */
void http_server_metrics(const struct http_server *srv, FILE *out);

/* The application pointer, the server, and the caller (NULL on a public route). */
void *http_app(const struct http_request *req);
const struct http_server *http_server_of(const struct http_request *req);
const struct principal *http_principal(const struct http_request *req);

/* The 'arg' of the route that matched. */
const void *http_route_arg(const struct http_request *req);

/*
 * For a public route that also serves principals: returns 1 if the request
 * carries an Authorization header, else 0.
 */
int http_has_token(const struct http_request *req);

/*
 * Authenticates the caller of a public route and checks its role against
 * 'roles', as the server does for routes that require a token.  Returns 1,
 * or 0 having answered 401, 403 or 503.
 */
int http_authorize(struct http_request *req, unsigned roles);

/* The path segment matched by {name} in the route, or NULL. */
const char *http_path_param(const struct http_request *req, const char *name);
/* The query-string argument 'name', or NULL. */
const char *http_query_param(const struct http_request *req, const char *name);
/* The request header 'name' (any case: "Accept"), or NULL. */
const char *http_header(const struct http_request *req, const char *name);

/*
 * Writes the IP address of the client as text into 'buf' of 'len' bytes:
 * "192.0.2.1", "2001:db8::1"; an IPv4-mapped IPv6 address as IPv4.  The
 * client is the peer of the TCP connection, unless that is a trusted proxy
 * (`trusted_proxies`) that sent X-Forwarded-For: then the client it names
 * (proxy_client), or the proxy itself for a malformed header, which is
 * logged.  The address is personal data: never log it.  Returns 0, or -1
 * if it is unknown or does not fit ('buf' is then "").
 */
int http_client_address(const struct http_request *req, char *buf, size_t len);

/*
 * The request body as a JSON object.  On a missing, oversized or malformed
 * body, or one that is not an object, answers 400 itself and returns NULL.
 * The object belongs to the request.
 */
json_t *http_body_json(struct http_request *req);

/*
 * The request body as it came, for a body that is not JSON (a form): its
 * bytes in '*body' (not NUL-terminated; NULL if there is none) and their
 * number in '*len'.  Returns 0, or -1 if it exceeded HTTP_MAX_BODY.  The
 * bytes belong to the request.
 */
int http_body_raw(const struct http_request *req, const char **body, size_t *len);

/* Why a request body, or one of its fields, is refused: the answer's status,
 * its error code, the field at fault for "invalid_field" and the message. */
struct http_refusal {
    int status;
    const char *code; /* a constant string */
    char field[128];
    char message[512];
};

/*
 * Parses the 'len' bytes of a request body as http_body_json() does, apart
 * from any request: one JSON object, in UTF-8, without duplicate keys.
 * Returns the object (the caller owns the reference), or NULL with the
 * refusal in 'why': "body_missing", "malformed_json", or "invalid_field"
 * naming the first key or string that is not UTF-8.
 */
json_t *http_body_parse(const char *body, size_t len, struct http_refusal *why);

/* Answers with the error object of 'why'. */
void http_reply_refusal(struct http_request *req, const struct http_refusal *why);

/* Answers with 'body' as JSON; takes the reference to 'body'. */
void http_reply_json(struct http_request *req, int status, json_t *body);
/* Answers with the API's error object. */
void http_reply_error(struct http_request *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/*
 * Answers 400 with the error object for one bad input, naming it in "field"
 * (a query parameter or a dotted path in the body: "citizen.phone"):
 * {"error": {"code": "invalid_field", "field": ..., "message": ...}}.
 */
void http_reply_invalid(struct http_request *req, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * Adds the header 'name: value' to the answer already given.  Returns 0, or
 * -1 if there is no answer yet or the header cannot be added.
 */
int http_reply_header(struct http_request *req, const char *name, const char *value);
/* Answers with 'len' bytes of 'text' (copied) and the given content type. */
void http_reply_text(struct http_request *req, int status, const char *content_type,
                     const char *text, size_t len);

#endif
