/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.c - the option table and its parser.
 *
 * Runs once in the main thread before any other thread starts; the result is
 * read-only afterwards.  A bad file stops the daemon with a message naming
 * the line and the option, and `-n` reports the same without starting.
 */
#include "config.h"

#include "proxy.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum option_type {
    OPT_STRING,   /* any non-empty text */
    OPT_DIR,      /* an existing directory */
    OPT_OPTDIR,   /* an existing directory, or empty for none */
    OPT_INT,      /* integer within [min, max] */
    OPT_LEVEL,    /* error | warn | info | debug */
    OPT_CODE,     /* node code valid for the role */
    OPT_ENDPOINT, /* tcp://host:port */
    OPT_KEY,      /* CURVE public key, Z85 */
    OPT_NAMES,    /* comma list of names [a-z0-9_], possibly empty */
    OPT_PROXIES,  /* comma list of IP addresses and CIDR blocks, possibly empty */
};

struct option {
    const char *name;
    enum option_type type;
    unsigned roles;
    size_t offset;
    const char *fallback; /* NULL: required */
    long min, max;
};

#define BOTH      (NODE_PROVINCE | NODE_CITY)
#define AT(field) offsetof(struct config, field)

static const struct option options[] = {
    {"node_code", OPT_CODE, BOTH, AT(node_code), NULL, 0, 0},
    {"node_name", OPT_STRING, BOTH, AT(node_name), NULL, 0, 0},
    {"data_dir", OPT_DIR, BOTH, AT(data_dir), NULL, 0, 0},
    {"database", OPT_STRING, BOTH, AT(database), NULL, 0, 0},
    {"http_address", OPT_STRING, BOTH, AT(http_address), "127.0.0.1", 0, 0},
    {"http_port", OPT_INT, BOTH, AT(http_port), "8080", 1, 65535},
    {"http_threads", OPT_INT, BOTH, AT(http_threads), "4", 1, 64},
    {"http_timeout_s", OPT_INT, BOTH, AT(http_timeout_s), "30", 1, 3600},
    {"console_dir", OPT_OPTDIR, BOTH, AT(console_dir), "", 0, 0},
    {"trusted_proxies", OPT_PROXIES, BOTH, AT(trusted_proxies), "", 0, 0},
    {"heartbeat_interval_ms", OPT_INT, BOTH, AT(heartbeat_interval_ms), "5000", 100, 60000},
    {"log_level", OPT_LEVEL, BOTH, AT(log_level), "info", 0, 0},
    {"clock_interval_ms", OPT_INT, BOTH, AT(clock_interval_ms), "60000", 100, 3600000},
    {"overflow_retry_seconds", OPT_INT, BOTH, AT(overflow_retry_seconds), "300", 1, 86400},
    {"kb_policy_notice_days", OPT_INT, BOTH, AT(kb_policy_notice_days), "3", 1, 60},
    {"kb_correction_days", OPT_INT, BOTH, AT(kb_correction_days), "2", 1, 60},
    {"period_consultation", OPT_INT, BOTH, AT(period_consultation), "2", 1, 60},
    {"period_help", OPT_INT, BOTH, AT(period_help), "10", 1, 60},
    {"period_suggestion", OPT_INT, BOTH, AT(period_suggestion), "10", 1, 60},
    {"period_complaint", OPT_INT, BOTH, AT(period_complaint), "15", 1, 60},
    {"period_report", OPT_INT, BOTH, AT(period_report), "15", 1, 60},
    {"period_national", OPT_INT, BOTH, AT(period_national), "10", 1, 60},
    {"rating_window_days", OPT_INT, BOTH, AT(rating_window_days), "7", 1, 90},
    {"repeat_window_days", OPT_INT, BOTH, AT(repeat_window_days), "90", 1, 3650},
    {"satisfaction_excluded_categories", OPT_NAMES, BOTH, AT(satisfaction_excluded_categories), "",
     0, 0},
    {"assessment_weight_on_time", OPT_INT, BOTH, AT(assessment_weight_on_time), "40", 0, 100},
    {"assessment_weight_satisfaction", OPT_INT, BOTH, AT(assessment_weight_satisfaction), "40", 0,
     100},
    {"assessment_weight_returns", OPT_INT, BOTH, AT(assessment_weight_returns), "10", 0, 100},
    {"assessment_weight_redo", OPT_INT, BOTH, AT(assessment_weight_redo), "10", 0, 100},
    {"assessment_penalty_supervised", OPT_INT, BOTH, AT(assessment_penalty_supervised), "2", 0,
     100},
    {"broadcast_stale_seconds", OPT_INT, NODE_CITY, AT(broadcast_stale_seconds), "3600", 1, 604800},
    {"province_endpoint", OPT_ENDPOINT, NODE_CITY, AT(province_endpoint), NULL, 0, 0},
    {"province_public_key", OPT_KEY, NODE_CITY, AT(province_public_key), NULL, 0, 0},
    {"federation_bind", OPT_ENDPOINT, NODE_PROVINCE, AT(federation_bind), NULL, 0, 0},
};

#define NOPTIONS      (sizeof(options) / sizeof(options[0]))
#define MAX_FILE_SIZE (64 * 1024)

int config_code_valid(const char *s, enum node_role role)
{
    size_t i;

    for (i = 0; i < NODE_CODE_LEN; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    if (s[i] != '\0' || s[0] == '0')
        return 0;
    int is_province = strcmp(s + 2, "0000") == 0;
    int is_city = !is_province && strcmp(s + 4, "00") == 0;
    return role == NODE_PROVINCE ? is_province : is_city;
}

static int endpoint_valid(const char *s)
{
    const char *colon = strrchr(s, ':');
    char *end;

    if (strncmp(s, "tcp://", 6) != 0 || colon == NULL || colon == s + 5 || colon == s + 6)
        return 0;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    return errno == 0 && *end == '\0' && end != colon + 1 && port >= 1 && port <= 65535;
}

static void fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* A comma list of names, each of lower-case letters, digits and '_', with
 * blanks around the commas; empty means none.  Stored without the blanks. */
static int set_names(char **field, const char *value, char *why, size_t whylen)
{
    char *copy = malloc(strlen(value) + 1), *out = copy;

    if (copy == NULL) {
        fail(why, whylen, "out of memory");
        return -1;
    }
    const char *p = value;
    while (isspace((unsigned char)*p))
        p++;
    while (*p != '\0') {
        size_t len = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");
        const char *after = p + len;
        while (isspace((unsigned char)*after))
            after++;
        if (len == 0 || (*after != ',' && *after != '\0')) {
            fail(why, whylen, "'%s' is not a comma list of names of a-z, 0-9 and '_'", value);
            free(copy);
            return -1;
        }
        if (out != copy)
            *out++ = ',';
        memcpy(out, p, len);
        out += len;
        if (*after == '\0')
            break;
        for (p = after + 1; isspace((unsigned char)*p);)
            p++;
        if (*p == '\0') {
            fail(why, whylen, "'%s' ends with a comma", value);
            free(copy);
            return -1;
        }
    }
    *out = '\0';
    free(*field);
    *field = copy;
    return 0;
}

/* A list of trusted proxies (proxy.c), stored as proxy_list_format()
 * writes it: each entry with its prefix, without blanks. */
static int set_proxies(char **field, const char *value, char *why, size_t whylen)
{
    struct proxy_list *list = proxy_list_parse(value, why, whylen);
    char text[PROXY_TEXT_MAX];

    if (list == NULL)
        return -1;
    proxy_list_format(list, text);
    proxy_list_free(list);
    char *copy = strdup(text);
    if (copy == NULL) {
        fail(why, whylen, "out of memory");
        return -1;
    }
    free(*field);
    *field = copy;
    return 0;
}

static int set_string(char **field, const char *value, char *why, size_t whylen)
{
    if (*value == '\0') {
        fail(why, whylen, "must not be empty");
        return -1;
    }
    char *copy = strdup(value);
    if (copy == NULL) {
        fail(why, whylen, "out of memory");
        return -1;
    }
    free(*field);
    *field = copy;
    return 0;
}

/* Stores 'value' for 'opt' into 'cfg'.  Returns 0, or -1 with a message. */
static int option_set(struct config *cfg, const struct option *opt, enum node_role role,
                      const char *value, char *why, size_t whylen)
{
    void *field = (char *)cfg + opt->offset;
    char *end;

    switch (opt->type) {
    case OPT_STRING:
        return set_string(field, value, why, whylen);
    case OPT_OPTDIR:
        if (*value == '\0') {
            free(*(char **)field);
            *(char **)field = NULL;
            return 0;
        }
        /* fall through */
    case OPT_DIR: {
        struct stat st;
        if (stat(value, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fail(why, whylen, "'%s' is not an existing directory", value);
            return -1;
        }
        return set_string(field, value, why, whylen);
    }
    case OPT_INT: {
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno != 0 || *value == '\0' || *end != '\0') {
            fail(why, whylen, "'%s' is not an integer", value);
            return -1;
        }
        if (v < opt->min || v > opt->max) {
            fail(why, whylen, "'%s' is out of range %ld..%ld", value, opt->min, opt->max);
            return -1;
        }
        *(int *)field = (int)v;
        return 0;
    }
    case OPT_LEVEL:
        if (log_level_parse(value, (enum log_level *)field) < 0) {
            fail(why, whylen, "'%s' is not one of error, warn, info, debug", value);
            return -1;
        }
        return 0;
    case OPT_CODE:
        if (!config_code_valid(value, role)) {
            fail(why, whylen, "'%s' is not a %s division code (six digits%s)", value,
                 role == NODE_PROVINCE ? "province" : "city",
                 role == NODE_PROVINCE ? ", ending in 0000" : ", ending in 00 but not 0000");
            return -1;
        }
        memcpy(field, value, NODE_CODE_LEN + 1);
        return 0;
    case OPT_ENDPOINT:
        if (!endpoint_valid(value)) {
            fail(why, whylen, "'%s' is not an endpoint of the form tcp://host:port", value);
            return -1;
        }
        return set_string(field, value, why, whylen);
    case OPT_NAMES:
        return set_names(field, value, why, whylen);
    case OPT_PROXIES:
        return set_proxies(field, value, why, whylen);
    case OPT_KEY:
        if (!keys_z85_valid(value)) {
            fail(why, whylen, "is not a CURVE public key (40 characters of Z85)");
            return -1;
        }
        memcpy(field, value, CURVE_KEY_Z85_LEN + 1);
        return 0;
    }
    fail(why, whylen, "unknown option type");
    return -1;
}

static const struct option *option_find(const char *name)
{
    for (size_t i = 0; i < NOPTIONS; i++)
        if (strcmp(options[i].name, name) == 0)
            return &options[i];
    return NULL;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/* A '#' starts a comment at the start of a line or after a blank; elsewhere
 * it is part of the value, as in a Z85 key. */
static void strip_comment(char *line)
{
    for (char *p = line; *p != '\0'; p++) {
        if (*p == '#' && (p == line || isspace((unsigned char)p[-1]))) {
            *p = '\0';
            return;
        }
    }
}

int config_parse(struct config *cfg, enum node_role role, const char *source, const char *text,
                 char *err, size_t errlen)
{
    unsigned char seen[NOPTIONS] = {0};
    char why[200];
    char *copy = strdup(text);
    int lineno = 0;

    memset(cfg, 0, sizeof(*cfg));
    cfg->role = role;
    if (copy == NULL) {
        fail(err, errlen, "%s: out of memory", source);
        return -1;
    }
    for (char *line = copy, *next; line != NULL; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        lineno++;
        strip_comment(line);
        char *key = trim(line);
        if (*key == '\0')
            continue;
        char *eq = strchr(key, '=');
        if (eq == NULL) {
            fail(err, errlen, "%s:%d: expected 'key = value'", source, lineno);
            goto fail;
        }
        *eq = '\0';
        key = trim(key);
        char *value = trim(eq + 1);
        const struct option *opt = option_find(key);
        if (opt == NULL || !(opt->roles & role)) {
            fail(err, errlen, "%s:%d: %s: unknown option%s", source, lineno, key,
                 opt != NULL ? " for this node kind" : "");
            goto fail;
        }
        size_t idx = (size_t)(opt - options);
        if (seen[idx]) {
            fail(err, errlen, "%s:%d: %s: given twice", source, lineno, key);
            goto fail;
        }
        seen[idx] = 1;
        if (option_set(cfg, opt, role, value, why, sizeof(why)) < 0) {
            fail(err, errlen, "%s:%d: %s: %s", source, lineno, key, why);
            goto fail;
        }
    }
    for (size_t i = 0; i < NOPTIONS; i++) {
        const struct option *opt = &options[i];
        if (seen[i] || !(opt->roles & role))
            continue;
        if (opt->fallback == NULL) {
            fail(err, errlen, "%s: %s: required option missing", source, opt->name);
            goto fail;
        }
        if (option_set(cfg, opt, role, opt->fallback, why, sizeof(why)) < 0) {
            fail(err, errlen, "%s: %s: bad default: %s", source, opt->name, why);
            goto fail;
        }
    }
    free(copy);
    return 0;

fail:
    free(copy);
    config_free(cfg);
    return -1;
}

int config_load(struct config *cfg, enum node_role role, const char *path, char *err, size_t errlen)
{
    char *text = malloc(MAX_FILE_SIZE + 1);
    FILE *f = fopen(path, "r");
    int rc = -1;

    memset(cfg, 0, sizeof(*cfg));
    if (text == NULL || f == NULL) {
        fail(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    size_t n = fread(text, 1, MAX_FILE_SIZE + 1, f);
    if (ferror(f)) {
        fail(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (n > MAX_FILE_SIZE) {
        fail(err, errlen, "%s: larger than %d bytes", path, MAX_FILE_SIZE);
        goto out;
    }
    if (memchr(text, '\0', n) != NULL) {
        fail(err, errlen, "%s: contains a NUL byte", path);
        goto out;
    }
    text[n] = '\0';
    rc = config_parse(cfg, role, path, text, err, errlen);
out:
    if (f != NULL)
        fclose(f);
    free(text);
    return rc;
}

void config_free(struct config *cfg)
{
    for (size_t i = 0; i < NOPTIONS; i++) {
        enum option_type t = options[i].type;
        if (t == OPT_STRING || t == OPT_DIR || t == OPT_OPTDIR || t == OPT_ENDPOINT ||
            t == OPT_NAMES || t == OPT_PROXIES) {
            char **field = (char **)((char *)cfg + options[i].offset);
            free(*field);
            *field = NULL;
        }
    }
}
