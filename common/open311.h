/* SPDX-License-Identifier: Apache-2.0 */
/*
 * open311.h - the Open311 GeoReport v2 facade, pure: no I/O, no clock.
 *
 * What the standard calls a service is one of our kinds of appeal in one of
 * the five domains (Art 7): "complaint.ecological_environment".  A service
 * request is a ticket, its id the ticket's id.  This module holds the
 * service table and its attribute definitions, reads the form of a POST,
 * maps a ticket's public state to the standard's fields, and renders any
 * answer as JSON or XML.  The routes are in open311_api.c, the SQL in
 * open311db.c.
 */
#ifndef HOTLINE_OPEN311_H
#define HOTLINE_OPEN311_H

#include "ticket.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum open311_format {
    OPEN311_XML,
    OPEN311_JSON,
};

/* The Content-Type of each format: exactly "text/xml" and "application/json". */
const char *open311_content_type(enum open311_format f);

/*
 * Splits the last path segment 'file' ("services.json", "440100-20241104-000001.xml")
 * at its last dot.  Writes the part before it, of at most 'cap' - 1 bytes,
 * into 'name' and the format into '*f'.  Returns 0, or -1 if there is no
 * known extension or the name is empty or too long.
 */
int open311_file_parse(const char *file, char *name, size_t cap, enum open311_format *f);

/* --- services ----------------------------------------------------------- */

#define OPEN311_CODE_MAX 48 /* "consultation.ecological_environment" */

/* Writes the service code of 'kind' in 'category'.  Returns 0, or -1 for an
 * unknown category. */
int open311_service_code(enum ticket_kind kind, const char *category,
                         char out[OPEN311_CODE_MAX + 1]);

/*
 * Parses a service code into its kind and its category (pointing into
 * ticket_categories).  Returns 0, or -1 if 'code' names no service.
 */
int open311_service_parse(const char *code, enum ticket_kind *kind, const char **category);

/*
 * Every service as the standard's list: service_code, service_name,
 * description (with the handling period in 'days', working days by kind),
 * metadata, type, keywords, group.  A new array, or NULL if out of memory.
 */
json_t *open311_services(const int days[KIND_COUNT]);

/* The service definition of 'code' (its attributes), or NULL if 'code'
 * names no service. */
json_t *open311_service_definition(const char *code);

/* Writes the name of the service of 'kind' in 'category' ("投诉·生态环境保护")
 * into 'out' of 'cap' bytes.  Returns 0, or -1 for an unknown category. */
int open311_service_name(enum ticket_kind kind, const char *category, char *out, size_t cap);

/* --- the form of a POST ------------------------------------------------- */

#define OPEN311_FORM_MAX 32 /* fields */

struct open311_form {
    size_t n;
    char *keys[OPEN311_FORM_MAX];
    char *values[OPEN311_FORM_MAX];
};

/*
 * Parses 'len' bytes of application/x-www-form-urlencoded text into 'form'
 * ('+' is a space, %XX a byte).  Returns 0, or -1 with the reason in 'why'
 * (of 'cap' bytes) when a key repeats, an escape is broken, there are more
 * than OPEN311_FORM_MAX fields, or a key or value is not UTF-8 or holds a
 * control character other than a line break or a tab (keys: none at all).
 * Free with open311_form_clear() either way.
 */
int open311_form_parse(const char *text, size_t len, struct open311_form *form, char *why,
                       size_t cap);
void open311_form_clear(struct open311_form *form);

/* The value of 'key', or NULL.  An empty value counts as absent. */
const char *open311_form_get(const struct open311_form *form, const char *key);

/* The fields a POST may carry besides attribute[code]. */
extern const char *const open311_post_fields[];

/*
 * Checks the attributes of 'form' (attribute[code]=value) against the
 * definition of the services, and every other key against
 * open311_post_fields.  Writes each attribute's value, or its default,
 * into 'citizen_type' and 'channel'.  Returns 0, or -1 with the reason in
 * 'why'.
 */
int open311_form_check(const struct open311_form *form, const char **citizen_type,
                       const char **channel, char *why, size_t cap);

/* --- requests ----------------------------------------------------------- */

/* A request as the public may see it: no personal data. */
struct open311_request {
    const char *id;
    const char *status; /* the public status (progress.h): "handling" */
    const char *kind;   /* "complaint" */
    const char *category;
    const char *description;
    const char *agency;         /* the unit's name, or NULL */
    const char *emergency_line; /* "110", "none", or NULL if not an emergency */
    int emergency_hours;        /* 0 if not an emergency */
    int64_t requested, updated; /* microseconds since the epoch */
    int64_t expected;           /* the deadline; 0 if none */
    const char *division;       /* GB/T 2260 code of where it happened */
    const char *media_url;      /* or NULL */
};

/* The public statuses that read "closed", as an array literal for SQL;
 * open311_status() answers the same. */
#define OPEN311_CLOSED_LITERAL "{answered,rejected,completed,closed}"

/* "open" or "closed" for a public status. */
const char *open311_status(const char *public_status);

/* The request as the standard's object; NULL if out of memory. */
json_t *open311_request_json(const struct open311_request *r);

/*
 * What the caller should know at once: the emergency line to call for an
 * emergency (Art 14), else the handling period of 'days' working days.
 * Writes it into 'out' of 'cap' bytes.
 */
void open311_notice(const char *emergency_line, int emergency_hours, int days, char *out,
                    size_t cap);

/* --- answers ------------------------------------------------------------ */

/*
 * Renders 'doc' in format 'f' as a new NUL-terminated string (free it), its
 * length in '*len'; NULL if out of memory.  JSON is 'doc' itself.  XML has
 * a declaration, the root element 'root' and, for an array, one element
 * 'item' per member; arrays inside objects are named by their member, with
 * one child per item under the singular (attributes/attribute,
 * values/value, endpoints/endpoint, formats/format).  null is an empty
 * element; text is escaped, and characters XML 1.0 cannot carry become
 * U+FFFD.
 */
char *open311_render(json_t *doc, enum open311_format f, const char *root, const char *item,
                     size_t *len);

/* The standard's error list: [{"code": status, "description": ...}]. */
json_t *open311_errors(int status, const char *description);

#endif
