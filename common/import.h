/* SPDX-License-Identifier: Apache-2.0 */
/*
 * import.h - one historical ticket of a legacy system, read and checked:
 * the pure core of `city-node import` (README, "Importing from a legacy
 * system").
 *
 * A line of JSON-lines holds the appeal as intake takes it, when it was
 * received, and its history: each event with its original time, actor and
 * role.  import_parse() checks the appeal with intake's rules and replays
 * the history through the work order's state machine (ticket.c) at the
 * events' own times, so an imported order is one the rules would have let
 * live here; what it yields is the order as it ended and the events to
 * store.  No I/O: the database side is importdb.c.
 */
#ifndef HOTLINE_IMPORT_H
#define HOTLINE_IMPORT_H

#include "calendar.h"
#include "ticket.h"

#include <stddef.h>
#include <stdint.h>

#define IMPORT_LEGACY_ID_MAX 64
#define IMPORT_EVENTS_MAX    64

/* What the checks need besides the line: the rules' calendar and periods,
 * the node's units, and the time now (nothing may come from the future). */
struct import_rules {
    const struct calendar *calendar;
    const struct ticket_periods *periods;
    /* Returns 1 if 'code' is a unit of this node, else 0. */
    int (*unit_known)(const char *code, void *arg);
    void *unit_arg;
    int64_t now;
};

/* One event of the history, as stored (ticket_events). */
struct import_event {
    int64_t at;
    const char *actor, *role, *action;
    enum ticket_status from; /* STATUS_COUNT: none (the registration) */
    enum ticket_status to;
    char *reason;     /* NULL if none; owned */
    char *detail;     /* JSON text, NULL if none; owned */
    int64_t deadline; /* the order's deadline once the event happened; 0 if none */
};

/* A rating given in the history (ticket_ratings). */
struct import_rating {
    int round;
    int64_t at;
    const char *intake, *handling, *comment, *by;
};

/* A line read and checked.  Strings point into 'doc' or are owned, as
 * said; release with import_record_clear(). */
struct import_record {
    void *doc; /* the parsed line (json_t) */
    const char *legacy_id;
    const char *channel, *content, *citizen_type, *source;
    const char *name, *phone, *id_number, *contact; /* id_number, contact may be NULL */
    const char *division, *address;
    int has_lat, has_lon;
    double lat, lon;
    int64_t received_at; /* when the appeal was registered: the ticket's created_at */
    struct ticket t;     /* the order as its history left it */
    char *pending;       /* JSON text, NULL if none; owned */
    char *outcome;       /* JSON text, NULL if none; owned */
    struct import_event events[IMPORT_EVENTS_MAX];
    size_t nevents;
    struct import_rating ratings[2];
    size_t nratings;
};

/*
 * Reads one line (its 'len' bytes, not NUL-terminated) into 'out', checked
 * against intake's rules and replayed through the state machine under
 * 'rules'.  Returns 0, or -1 with the reason in 'why' (a sentence naming
 * the field or the event at fault) and nothing to clear.
 */
int import_parse(const char *line, size_t len, const struct import_rules *rules,
                 struct import_record *out, char *why, size_t whylen);

/* Releases what import_parse() gave 'r'; safe on a zeroed record. */
void import_record_clear(struct import_record *r);

#endif
