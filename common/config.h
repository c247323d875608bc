/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h - a node's configuration: one table of typed options with bounds
 * and defaults, read from a file of `key = value` lines.  A '#' at the
 * start of a line or after a blank starts a comment; inside a value it is a
 * character like any other (Z85 keys contain it).
 *
 * The same table serves both daemons; each option says which roles accept
 * it, so a city-only key in a province file is an error, like a typo.
 */
#ifndef HOTLINE_CONFIG_H
#define HOTLINE_CONFIG_H

#include "keys.h"
#include "log.h"

#include <stddef.h>

enum node_role {
    NODE_PROVINCE = 1 << 0,
    NODE_CITY = 1 << 1,
};

#define NODE_CODE_LEN 6

struct config {
    enum node_role role;
    char node_code[NODE_CODE_LEN + 1];
    char *node_name;
    char *data_dir;
    char *database;
    char *http_address;
    int http_port;
    int http_threads;
    int http_timeout_s;    /* a connection idle this long is closed */
    char *console_dir;     /* the web console's files; NULL: "console" beside the executable */
    char *trusted_proxies; /* reverse proxies whose X-Forwarded-For is read (proxy.c) */
    int heartbeat_interval_ms;
    enum log_level log_level;
    int clock_interval_ms;
    /* Seconds an item offered for overflow and sent back, for want of a
     * helper, stays at home before it may be offered again (Art 3). */
    int overflow_retry_seconds;
    /* Knowledge base (Art 18): working days of notice a new policy needs
     * before its publication day, and working days to correct an entry. */
    int kb_policy_notice_days, kb_correction_days;
    /* Handling periods in working days, by kind (REGULATION.md, Art 11). */
    int period_consultation, period_help, period_suggestion, period_complaint, period_report;
    int period_national;    /* orders from the national platform (Art 11 Decision) */
    int rating_window_days; /* natural days to rate a completed order (Art 15) */
    int repeat_window_days; /* how far back intake looks for repeats (Art 7 item 6) */
    /* Statistics and assessment (Art 17): categories reported but left out
     * of the satisfaction rate, as "a,b" ("" for none); the weights of the
     * parts of a unit's score and the points a supervised order costs. */
    char *satisfaction_excluded_categories;
    int assessment_weight_on_time, assessment_weight_satisfaction;
    int assessment_weight_returns, assessment_weight_redo;
    int assessment_penalty_supervised;
    int broadcast_stale_seconds;                     /* city: link down this long warns */
    char *province_endpoint;                         /* city */
    char province_public_key[CURVE_KEY_Z85_LEN + 1]; /* city */
    char *federation_bind;                           /* province */
};

/*
 * Parses the text of a configuration file for 'role' into 'cfg', naming
 * 'source' in messages.  Every option is checked against its type and bounds;
 * missing options take their default, and a missing required option is an
 * error.  Returns 0 on success.  On error returns -1, writes a message naming
 * the line and the option into 'err', and leaves 'cfg' empty.
 */
int config_parse(struct config *cfg, enum node_role role, const char *source, const char *text,
                 char *err, size_t errlen);

/* Reads the file at 'path' and parses it as config_parse() does. */
int config_load(struct config *cfg, enum node_role role, const char *path, char *err,
                size_t errlen);

/* Releases what 'cfg' holds; safe on an empty or already freed config. */
void config_free(struct config *cfg);

/* Returns 1 if 's' is a GB/T 2260 code valid for 'role', else 0. */
int config_code_valid(const char *s, enum node_role role);

#endif
