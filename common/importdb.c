/* SPDX-License-Identifier: Apache-2.0 */
/*
 * importdb.c - `city-node import`: the file, the batches, their rows, the
 * checkpoint and the progress line.
 *
 * Runs in the command's thread, on its own connection, beside a node that
 * may be running.  Lines are read and checked by import.c; the good ones of
 * a batch are laid out here: what is already there set aside, their numbers
 * drawn from the numbering of their day (ticket_numbers(), in a transaction
 * of its own as intake draws one), personal data sealed and the phone
 * hashed as at intake, content bigrams for the repeat search, the event
 * chains hashed as ticketdb.c does, every event's message for the master
 * dataset.  The writer's thread (importwriter.c) loads the batch with COPY,
 * with the file's checkpoint past it, in one transaction, while this thread
 * reads and lays out the next.  Killed at any point, the transaction in
 * flight is lost whole (and the numbers it had, as an intake that fails
 * loses its own); run again, the import seeks to the checkpoint, and a
 * legacy id already held is skipped, so nothing is written twice.  The
 * clock thread of the node rolls the statistics of the days the events
 * fall on up again (the trigger on ticket_events marks them).
 */
#include "importdb.h"

#include "calstore.h"
#include "clock.h"
#include "crypto.h"
#include "import.h"
#include "importwriter.h"
#include "log.h"
#include "ngram.h"
#include "pii.h"
#include "restriction.h"
#include "ticketdb.h"
#include "wire.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define BATCH_LINES 2000
#define BATCH_SLOTS 4096 /* a power of two above BATCH_LINES: the batch's legacy ids */
#define KEY_BYTES   65536
#define GENESIS     "0000000000000000000000000000000000000000000000000000000000000000"
#define PROGRESS_US 1000000
#define UNITS_MAX   4096
#define GRAMS_TEXT  (NGRAM_MAX * 12 + 3)

/* The node's units, sorted by code, for the checks and the master dataset. */
struct unit {
    char code[UNIT_CODE_MAX + 1];
    char *name;
};

struct units {
    struct unit *list;
    size_t n;
};

/*
 * A batch of lines: the records taken, then the rows laid out from them.
 * Two take turns: one is filled and laid out while the writer writes the
 * other (importwriter.c), whose records stay until it is filled again, so
 * that a legacy id it holds is known while its commit is not.
 */
struct batch {
    struct import_record *records;
    long long *lines;       /* the line of each record */
    int slots[BATCH_SLOTS]; /* 1 + the index of a legacy id's record, by hash; 0: free */
    size_t n;
    long long tickets, events; /* laid out */
    struct importwriter_batch out;
};

struct run {
    struct node *node;
    struct db *db; /* the command's: what is read, and the numbers */
    struct importwriter *writer;
    struct import_rules rules;
    struct units units;
    FILE *in;
    off_t size;                          /* 0 for a stream */
    char key[CRYPTO_SHA256_HEX_LEN + 1]; /* the checkpoint's file key; "" for a stream */
    off_t offset;                        /* after the last line read */
    long long line, imported, skipped, refused, events; /* by this run, but 'line' */
    long long imported_before, refused_before;          /* by the runs before, on the file */
    int64_t started, shown;
    long long line_at_start;
    struct batch batches[2];
    struct batch *filling;                /* being filled and laid out */
    struct batch *written;                /* handed to the writer last */
    struct importwriter_rows ticket_text; /* a ticket's message text, escaped for COPY */
};

static int buf_grow(struct importwriter_rows *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return 0;
    size_t cap = b->cap > 0 ? b->cap : 1 << 20;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (p == NULL)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

/* Appends the 'n' bytes of 's' as they are. */
static int raw(struct importwriter_rows *b, const char *s, size_t n)
{
    if (buf_grow(b, n) < 0)
        return -1;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return 0;
}

/* Appends 's' escaped for COPY's text format, a run without a byte to
 * escape at a time. */
static int escaped(struct importwriter_rows *b, const char *s)
{
    if (buf_grow(b, 2 * strlen(s)) < 0)
        return -1;
    for (;;) {
        size_t run = strcspn(s, "\\\t\n\r");
        memcpy(b->data + b->len, s, run);
        b->len += run;
        s += run;
        if (*s == '\0')
            return 0;
        b->data[b->len++] = '\\';
        b->data[b->len++] = *s == '\\' ? '\\' : *s == '\t' ? 't' : *s == '\n' ? 'n' : 'r';
        s++;
    }
}

/* Appends a column in COPY's text format: escaped, or \N for NULL. */
static int col(struct importwriter_rows *b, const char *s)
{
    if (s == NULL)
        return raw(b, "\\N\t", 3);
    return escaped(b, s) < 0 ? -1 : raw(b, "\t", 1);
}

/* Ends a row: the last tab becomes a newline. */
static void row_end(struct importwriter_rows *b)
{
    b->data[b->len - 1] = '\n';
}

static const char *stamp(int64_t us, char out[CLOCK_RFC3339_LEN])
{
    if (us == 0)
        return NULL;
    clock_format(us, out);
    return out;
}

static const char *flag(int b)
{
    return b ? "t" : "f";
}

static int unit_cmp(const void *a, const void *b)
{
    return strcmp(((const struct unit *)a)->code, ((const struct unit *)b)->code);
}

static const struct unit *unit_find(const struct units *u, const char *code)
{
    struct unit key = {0};

    snprintf(key.code, sizeof(key.code), "%s", code);
    return u->n > 0 ? bsearch(&key, u->list, u->n, sizeof(*u->list), unit_cmp) : NULL;
}

static int unit_known(const char *code, void *arg)
{
    return strlen(code) <= UNIT_CODE_MAX && unit_find(arg, code) != NULL;
}

static int units_load(struct run *r)
{
    const char *p[] = {r->node->cfg.node_code};
    PGresult *res = db_query(r->db, "SELECT code, name FROM units WHERE node = $1", 1, p);

    if (res == NULL)
        return -1;
    size_t n = (size_t)PQntuples(res);
    r->units.list = n <= UNITS_MAX ? calloc(n > 0 ? n : 1, sizeof(*r->units.list)) : NULL;
    for (size_t i = 0; r->units.list != NULL && i < n; i++) {
        snprintf(r->units.list[i].code, sizeof(r->units.list[i].code), "%s",
                 PQgetvalue(res, (int)i, 0));
        r->units.list[i].name = strdup(PQgetvalue(res, (int)i, 1));
        r->units.n = i + 1;
        if (r->units.list[i].name == NULL)
            break;
    }
    PQclear(res);
    if (r->units.list == NULL || r->units.n != n || (n > 0 && r->units.list[n - 1].name == NULL))
        return -1;
    qsort(r->units.list, n, sizeof(*r->units.list), unit_cmp);
    return 0;
}

/* A text[] literal of 'n' strings. */
static char *array_literal(const char *const *items, size_t n)
{
    struct importwriter_rows b = {0};

    if (buf_grow(&b, 2) < 0)
        return NULL;
    b.data[b.len++] = '{';
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(items[i]);
        if (buf_grow(&b, 2 * len + 4) < 0) {
            free(b.data);
            return NULL;
        }
        if (i > 0)
            b.data[b.len++] = ',';
        b.data[b.len++] = '"';
        for (const char *c = items[i]; *c != '\0'; c++) {
            if (*c == '"' || *c == '\\')
                b.data[b.len++] = '\\';
            b.data[b.len++] = *c;
        }
        b.data[b.len++] = '"';
    }
    b.data[b.len++] = '}';
    b.data[b.len] = '\0';
    return b.data;
}

/* The file's key: the SHA-256 of its first and last 64 KiB and its size
 * (r->size), so that another export beginning alike is another file.
 * Returns 0 or -1. */
static int file_key(struct run *r)
{
    char *buf = malloc(2 * KEY_BYTES + 24);
    size_t n = buf != NULL ? fread(buf, 1, KEY_BYTES, r->in) : 0;
    off_t tail = r->size > 2 * KEY_BYTES ? r->size - KEY_BYTES : (off_t)n;

    if (buf == NULL || ferror(r->in) || fseeko(r->in, tail, SEEK_SET) < 0) {
        free(buf);
        return -1;
    }
    n += fread(buf + n, 1, KEY_BYTES, r->in);
    n += (size_t)snprintf(buf + n, 24, "%lld", (long long)r->size);
    if (ferror(r->in) || fseeko(r->in, 0, SEEK_SET) < 0) {
        free(buf);
        return -1;
    }
    crypto_sha256_hex(buf, n, r->key);
    free(buf);
    return 0;
}

/* Does a line start at 'offset' (the byte before it a newline)? */
static int line_starts_at(FILE *in, off_t offset)
{
    if (offset == 0)
        return 1;
    return fseeko(in, offset - 1, SEEK_SET) == 0 && fgetc(in) == '\n';
}

/* Goes on from the checkpoint of this file, if there is one.  Returns 0 or -1. */
static int checkpoint_load(struct run *r)
{
    const char *p[] = {r->key};
    PGresult *res = db_query(r->db,
                             "SELECT byte_offset, line, imported, refused FROM import_checkpoints"
                             " WHERE file = $1",
                             1, p);

    if (res == NULL)
        return -1;
    if (PQntuples(res) == 1) {
        off_t offset = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        if (offset <= r->size && line_starts_at(r->in, offset) &&
            fseeko(r->in, offset, SEEK_SET) == 0) {
            r->offset = offset;
            r->line = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
            r->imported_before = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
            r->refused_before = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
            fprintf(stderr, "import: resuming after line %lld (%lld imported before)\n", r->line,
                    r->imported_before);
        }
    }
    PQclear(res);
    return 0;
}

/* Seals the citizen of ticket 'id' as intake does (workflow.c). */
static char *sealed_hex(const struct hotline *h, const char *id, const struct import_record *rec,
                        char key_id[PII_KEY_ID_LEN + 1])
{
    struct pii_citizen citizen = {rec->name, rec->phone, rec->id_number, rec->contact};
    size_t len = 0;
    uint8_t *sealed = pii_seal_citizen(&h->pii, id, &citizen, &len, key_id);
    char *hex = sealed != NULL ? ticketdb_bytea_hex(sealed, len) : NULL;

    free(sealed);
    return hex;
}

static json_t *jtime(int64_t us)
{
    char text[CLOCK_RFC3339_LEN];

    return us == 0 ? json_null() : json_string(stamp(us, text));
}

static json_t *jtext(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

/* The compact JSON text of 'o', which it releases; NULL if out of memory. */
static char *dump_compact(json_t *o)
{
    char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

    json_decref(o);
    return text;
}

/*
 * The ticket as the master dataset receives it: the keys of MASTER_TICKET
 * in ticketdb.c, which builds them in SQL for a change made here; built
 * here once per ticket for all its events, a fifth of the import's time
 * in SQL.  No personal data.
 */
static json_t *master_ticket(struct run *r, const char *id, const struct import_record *rec,
                             const char *phone_hash, const char *head)
{
    const struct ticket *t = &rec->t;
    const struct unit *u = t->unit[0] != '\0' ? unit_find(&r->units, t->unit) : NULL;
    json_t *o = json_object();

    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "owner_node", json_string(r->node->cfg.node_code));
    json_object_set_new(o, "owner_epoch", json_integer(1));
    json_object_set_new(o, "version", json_integer((json_int_t)rec->nevents));
    json_object_set_new(o, "status", json_string(ticket_status_name(t->status)));
    json_object_set_new(o, "kind", json_string(ticket_kind_name(t->kind)));
    json_object_set_new(o, "channel", json_string(rec->channel));
    json_object_set_new(o, "category", json_string(t->category));
    json_object_set_new(o, "content", json_string(rec->content));
    json_object_set_new(o, "citizen_type", json_string(rec->citizen_type));
    json_object_set_new(o, "phone_hash", json_string(phone_hash));
    json_object_set_new(o, "division", json_string(rec->division));
    json_object_set_new(o, "unit_code", jtext(t->unit[0] != '\0' ? t->unit : NULL));
    json_object_set_new(o, "source", json_string(rec->source));
    json_object_set_new(o, "received_at", jtime(t->received_at));
    json_object_set_new(o, "deadline", jtime(t->deadline));
    json_object_set_new(o, "provisional", json_boolean(t->provisional));
    json_object_set_new(o, "returns", json_integer(t->returns));
    json_object_set_new(o, "extensions", json_integer(t->extensions));
    json_object_set_new(o, "redos", json_integer(t->redos));
    json_object_set_new(o, "no_return", json_boolean(t->no_return));
    json_object_set_new(o, "due_soon", json_boolean(t->due_soon));
    json_object_set_new(o, "overdue", json_boolean(t->overdue));
    json_object_set_new(o, "supervised", json_boolean(t->supervised));
    json_object_set_new(o, "rated", json_boolean(t->rated));
    json_object_set_new(o, "rating_due", jtime(t->rating_due));
    json_object_set_new(o, "emergency_line", json_null());
    json_object_set_new(o, "emergency_hours", json_null());
    json_object_set_new(o, "created_at", jtime(rec->received_at));
    json_object_set_new(o, "updated_at", jtime(rec->events[rec->nevents - 1].at));
    json_object_set_new(o, "event_seq", json_integer((json_int_t)rec->nevents));
    json_object_set_new(o, "event_hash", json_string(head));
    json_object_set_new(o, "media_url", json_null());
    json_object_set_new(o, "unit_name", jtext(u != NULL ? u->name : NULL));
    return o;
}

/* Event 'i' of 'rec' as the master dataset receives it (to_jsonb(e) in
 * ticketdb.c's MASTER_ITEM), as JSON text; NULL if out of memory. */
static char *master_event(const char *id, const struct import_record *rec, size_t i,
                          char (*hashes)[CRYPTO_SHA256_HEX_LEN + 1])
{
    const struct import_event *e = &rec->events[i];
    json_t *ev = json_object();

    json_object_set_new(ev, "ticket_id", json_string(id));
    json_object_set_new(ev, "seq", json_integer((json_int_t)i + 1));
    json_object_set_new(ev, "at", jtime(e->at));
    json_object_set_new(ev, "actor", json_string(e->actor));
    json_object_set_new(ev, "role", json_string(e->role));
    json_object_set_new(ev, "action", json_string(e->action));
    json_object_set_new(ev, "from_status",
                        e->from == STATUS_COUNT ? json_null()
                                                : json_string(ticket_status_name(e->from)));
    json_object_set_new(ev, "to_status", json_string(ticket_status_name(e->to)));
    json_object_set_new(ev, "reason", jtext(e->reason));
    json_object_set_new(ev, "detail", jtext(e->detail));
    json_object_set_new(ev, "prev_hash", json_string(hashes[i]));
    json_object_set_new(ev, "hash", json_string(hashes[i + 1]));
    json_object_set_new(ev, "copied", json_false());
    return dump_compact(ev);
}

/* Appends the message {"ticket": ..., "event": ...} to the outbox's rows,
 * and for an approved completion the deadline then in force
 * (stats_completions): the text jansson makes of that object, joined from
 * the ticket's text, made and escaped once for all its events, and the
 * event's. */
static int message_add(struct importwriter_rows *outbox, const struct importwriter_rows *ticket,
                       const char *event, const struct import_event *e, const char *created)
{
    static const char head[] = "{\"ticket\":", middle[] = ",\"event\":";
    char stream[12], at[CLOCK_RFC3339_LEN], tail[CLOCK_RFC3339_LEN + 32] = "}";

    snprintf(stream, sizeof(stream), "%d", STREAM_TICKETS);
    if (strcmp(e->action, "completion/review:approve") == 0) {
        snprintf(tail, sizeof(tail), ",\"approval_deadline\":null}");
        if (e->deadline != 0) {
            clock_format(e->deadline, at);
            snprintf(tail, sizeof(tail), ",\"approval_deadline\":\"%s\"}", at);
        }
    }
    if (col(outbox, stream) < 0 || raw(outbox, head, sizeof(head) - 1) < 0 ||
        raw(outbox, ticket->data, ticket->len) < 0 || raw(outbox, middle, sizeof(middle) - 1) < 0 ||
        escaped(outbox, event) < 0 || col(outbox, tail) < 0 || col(outbox, created) < 0)
        return -1;
    row_end(outbox);
    return 0;
}

/* One message for the master dataset per event of the ticket, as
 * ticketdb.c's MASTER_ITEM. */
static int outbox_add(struct run *r, const char *id, const struct import_record *rec,
                      const char *phone_hash, char (*hashes)[CRYPTO_SHA256_HEX_LEN + 1],
                      const char *created)
{
    char *text = dump_compact(master_ticket(r, id, rec, phone_hash, hashes[rec->nevents]));
    int rc = text != NULL ? 0 : -1;

    r->ticket_text.len = 0;
    if (rc == 0)
        rc = escaped(&r->ticket_text, text);
    free(text);
    for (size_t i = 0; i < rec->nevents && rc == 0; i++) {
        char *event = master_event(id, rec, i, hashes);
        rc = event != NULL ? message_add(&r->filling->out.outbox, &r->ticket_text, event,
                                         &rec->events[i], created)
                           : -1;
        free(event);
    }
    return rc;
}

/* The rows of ticket 'id' from record 'rec' into the batch being laid out. */
static int rows_add(struct run *r, const char *id, const struct import_record *rec)
{
    struct importwriter_batch *out = &r->filling->out;
    const struct hotline *h = &r->node->hotline;
    const struct ticket *t = &rec->t;
    char phone[RESTRICTION_PHONE_MAX + 1], phone_hash[PII_HASH_LEN + 1];
    char created[CLOCK_RFC3339_LEN], updated[CLOCK_RFC3339_LEN], received[CLOCK_RFC3339_LEN];
    char deadline[CLOCK_RFC3339_LEN], rating_due[CLOCK_RFC3339_LEN], at[CLOCK_RFC3339_LEN];
    char lat[32], lon[32], returns[12], extensions[12], version[12], redos[12], seq[12];
    char prev[CRYPTO_SHA256_HEX_LEN + 1] = GENESIS, hash[CRYPTO_SHA256_HEX_LEN + 1];
    int32_t grams[NGRAM_MAX];
    char literal[GRAMS_TEXT];
    char hashes[IMPORT_EVENTS_MAX + 1][CRYPTO_SHA256_HEX_LEN + 1];

    /* The events first: the ticket holds the head of its chain. */
    memcpy(hashes[0], GENESIS, sizeof(hashes[0]));
    for (size_t i = 0; i < rec->nevents; i++) {
        const struct import_event *e = &rec->events[i];
        const char *from = e->from == STATUS_COUNT ? NULL : ticket_status_name(e->from);
        const char *fields[7] = {e->actor,  e->role,  e->action, from, ticket_status_name(e->to),
                                 e->reason, e->detail};
        snprintf(seq, sizeof(seq), "%d", (int)i + 1);
        if (ticketdb_event_hash(prev, id, (int)i + 1, e->at, fields, hash) < 0)
            return -1;
        if (col(&out->events, id) < 0 || col(&out->events, seq) < 0 ||
            col(&out->events, stamp(e->at, at)) < 0)
            return -1;
        for (int c = 0; c < 7; c++)
            if (col(&out->events, fields[c]) < 0)
                return -1;
        if (col(&out->events, prev) < 0 || col(&out->events, hash) < 0)
            return -1;
        row_end(&out->events);
        memcpy(prev, hash, sizeof(prev));
        memcpy(hashes[i + 1], hash, sizeof(hashes[i + 1]));
        /* The trigger on ticket_events keeps the deadline of an approval
         * from the ticket as imported: a redo after it set another. */
        if (strcmp(e->action, "completion/review:approve") == 0 && e->deadline != rec->t.deadline) {
            if (col(&out->approvals, id) < 0 || col(&out->approvals, seq) < 0 ||
                col(&out->approvals, stamp(e->deadline, at)) < 0)
                return -1;
            row_end(&out->approvals);
        }
    }
    for (size_t i = 0; i < rec->nratings; i++) {
        const struct import_rating *g = &rec->ratings[i];
        char round[12];
        snprintf(round, sizeof(round), "%d", g->round);
        if (col(&out->ratings, id) < 0 || col(&out->ratings, round) < 0 ||
            col(&out->ratings, g->intake) < 0 || col(&out->ratings, g->handling) < 0 ||
            col(&out->ratings, g->comment) < 0 || col(&out->ratings, g->by) < 0 ||
            col(&out->ratings, stamp(g->at, at)) < 0)
            return -1;
        row_end(&out->ratings);
    }

    if (restriction_phone_normalize(rec->phone, phone) < 0)
        return -1;
    pii_phone_hash(&h->pii, phone, phone_hash);
    size_t ngrams = ngram_grams(rec->content, grams, NGRAM_MAX);
    if (ngram_array(grams, ngrams, literal, sizeof(literal)) < 0)
        return -1;
    char key_id[PII_KEY_ID_LEN + 1];
    char *pii = sealed_hex(h, id, rec, key_id);
    if (pii == NULL) {
        log_warnx("cannot seal the personal data of '%s'", id);
        return -1;
    }
    snprintf(lat, sizeof(lat), "%.7f", rec->lat);
    snprintf(lon, sizeof(lon), "%.7f", rec->lon);
    snprintf(returns, sizeof(returns), "%d", t->returns);
    snprintf(extensions, sizeof(extensions), "%d", t->extensions);
    snprintf(version, sizeof(version), "%zu", rec->nevents);
    snprintf(redos, sizeof(redos), "%d", t->redos);
    snprintf(seq, sizeof(seq), "%zu", rec->nevents);
    const char *cols[] = {
        id,
        ticket_status_name(t->status),
        ticket_kind_name(t->kind),
        rec->channel,
        t->category,
        rec->content,
        rec->citizen_type,
        pii,
        key_id,
        phone_hash,
        rec->division,
        rec->address,
        rec->has_lat ? lat : NULL,
        rec->has_lon ? lon : NULL,
        t->unit[0] != '\0' ? t->unit : NULL,
        stamp(t->received_at, received),
        stamp(t->deadline, deadline),
        flag(t->provisional),
        returns,
        extensions,
        flag(t->no_return),
        flag(t->due_soon),
        flag(t->overdue),
        flag(t->supervised),
        rec->pending,
        rec->outcome,
        h->node_code,
        version,
        stamp(rec->received_at, created),
        stamp(rec->events[rec->nevents - 1].at, updated),
        redos,
        stamp(t->rating_due, rating_due),
        flag(t->rated),
        literal,
        seq,
        hash,
        rec->source,
        rec->legacy_id,
    };
    int rc = 0;
    for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]) && rc == 0; c++)
        rc = col(&out->tickets, cols[c]);
    if (rc == 0)
        row_end(&out->tickets);
    free(pii);
    if (rc == 0)
        rc = outbox_add(r, id, rec, phone_hash, hashes, stamp(out->now, at));
    return rc;
}

/* The slot of 'legacy_id' in 'b': the one holding its record, or the free
 * one where it goes.  A record skipped since (cleared) is passed over. */
static size_t batch_slot(const struct batch *b, const char *legacy_id)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (const unsigned char *c = (const unsigned char *)legacy_id; *c != '\0'; c++)
        h = (h ^ *c) * 16777619u;
    size_t slot = h & (BATCH_SLOTS - 1);
    for (; b->slots[slot] != 0; slot = (slot + 1) & (BATCH_SLOTS - 1)) {
        const char *held = b->records[b->slots[slot] - 1].legacy_id;
        if (held != NULL && strcmp(held, legacy_id) == 0)
            break;
    }
    return slot;
}

/* Sets record 'i' of 'b' aside as already there. */
static void record_skip(struct run *r, struct batch *b, size_t i)
{
    import_record_clear(&b->records[i]);
    r->skipped++;
}

/* Sets aside the records of 'b' whose legacy id is held already: in the
 * database, or in the batch the writer was given last, which may not be
 * committed yet.  Returns the number left to write, or -1. */
static long long skip_known(struct run *r, struct batch *b)
{
    const char **ids = calloc(b->n + 1, sizeof(*ids));
    long long left = (long long)b->n;

    if (ids == NULL)
        return -1;
    for (size_t i = 0; i < b->n; i++)
        ids[i] = b->records[i].legacy_id;
    char *literal = array_literal(ids, b->n);
    free(ids);
    const char *p[] = {literal};
    PGresult *res = literal != NULL ? db_query(r->db,
                                               "SELECT legacy_id FROM tickets"
                                               " WHERE legacy_id = ANY($1::text[])",
                                               1, p)
                                    : NULL;
    free(literal);
    if (res == NULL)
        return -1;
    for (int k = 0; k < PQntuples(res); k++) {
        size_t slot = batch_slot(b, PQgetvalue(res, k, 0));
        if (b->slots[slot] != 0 && b->records[b->slots[slot] - 1].nevents > 0) {
            record_skip(r, b, (size_t)b->slots[slot] - 1);
            left--;
        }
    }
    PQclear(res);
    for (size_t i = 0; i < b->n; i++) {
        if (b->records[i].nevents > 0 &&
            r->written->slots[batch_slot(r->written, b->records[i].legacy_id)] != 0) {
            record_skip(r, b, i);
            left--;
        }
    }
    return left;
}

/* The numbers of the days of 'days' (a text[] literal), as many of each as
 * 'counts' says (an int[] literal), in a transaction of their own that does
 * not wait for the disk, as intake draws one (100_ticket_number.sql): the
 * batch that uses them commits durably after. */
static PGresult *numbers_query(struct run *r, const char *days, const char *counts)
{
    const char *p[] = {days, counts};

    if (db_begin(r->db) < 0)
        return NULL;
    PGresult *res = db_exec(r->db, "SET LOCAL synchronous_commit = off", 0, NULL) == 0
                        ? db_query(r->db,
                                   "SELECT u.d, x.n FROM unnest($1::text[], $2::int[])"
                                   " WITH ORDINALITY u(d, c, o),"
                                   " LATERAL ticket_numbers(u.d::date, u.c) WITH ORDINALITY"
                                   " x(n, k) ORDER BY u.o, x.k",
                                   2, p)
                        : NULL;
    if (res == NULL || db_commit(r->db) < 0) {
        PQclear(res);
        db_rollback(r->db);
        return NULL;
    }
    return res;
}

/* Draws the numbers of the tickets of 'b', each from the day it was
 * received, in order: one call per run of tickets of the same day.  'ids'
 * holds TICKET_ID_LEN + 1 bytes per record. */
static int numbers_draw(struct run *r, struct batch *b, char (*ids)[TICKET_ID_LEN + 1])
{
    const char **days = calloc(b->n + 1, sizeof(*days));
    char(*text)[CALENDAR_DATE_LEN] = calloc(b->n + 1, sizeof(*text));
    size_t *count = calloc(b->n + 1, sizeof(*count));
    struct importwriter_rows counts = {0};
    size_t runs = 0, n = 0;
    PGresult *res = NULL;
    char *literal = NULL;
    int rc = -1;

    if (days == NULL || text == NULL || count == NULL)
        goto out;
    for (size_t i = 0; i < b->n; i++) {
        if (b->records[i].nevents == 0)
            continue;
        char day[CALENDAR_DATE_LEN];
        calendar_day_format(calendar_day_of(b->records[i].received_at), day);
        if (runs == 0 || strcmp(day, text[runs - 1]) != 0) {
            memcpy(text[runs], day, sizeof(day));
            days[runs] = text[runs];
            runs++;
        }
        count[runs - 1]++;
        n++;
    }
    if (buf_grow(&counts, 24 * (runs + 1)) < 0)
        goto out;
    for (size_t i = 0; i < runs; i++)
        counts.len +=
            (size_t)sprintf(counts.data + counts.len, "%s%zu", i > 0 ? "," : "{", count[i]);
    counts.len += (size_t)sprintf(counts.data + counts.len, "%s", runs > 0 ? "}" : "{}");
    literal = array_literal(days, runs);
    res = literal != NULL ? numbers_query(r, literal, counts.data) : NULL;
    if (res == NULL || (size_t)PQntuples(res) != n)
        goto out;
    size_t k = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (b->records[i].nevents == 0)
            continue;
        const char *day = PQgetvalue(res, (int)k, 0);
        long seq = strtol(PQgetvalue(res, (int)k, 1), NULL, 10);
        k++;
        if (seq < 1 || seq > 999999) {
            log_warnx("the numbers of day '%s' are used up", day);
            goto out;
        }
        snprintf(ids[i], TICKET_ID_LEN + 1, "%.6s-%.4s%.2s%.2s-%06ld", r->node->cfg.node_code, day,
                 day + 5, day + 8, seq);
    }
    rc = 0;
out:
    PQclear(res);
    free(literal);
    free(counts.data);
    free(count);
    free(days);
    free(text);
    return rc;
}

/* Lays the batch being filled out for the writer: what is already there
 * set aside, numbers drawn, the rows of the others.  Returns 0 or -1. */
static int batch_lay_out(struct run *r)
{
    struct batch *b = r->filling;
    char(*ids)[TICKET_ID_LEN + 1] = calloc(b->n + 1, sizeof(*ids));
    long long left = ids != NULL ? skip_known(r, b) : -1;
    int rc = left < 0 || (left > 0 && numbers_draw(r, b, ids) < 0) ? -1 : 0;

    b->out.now = clock_now_us();
    for (size_t i = 0; i < b->n && rc == 0; i++) {
        if (b->records[i].nevents == 0)
            continue;
        rc = rows_add(r, ids[i], &b->records[i]);
        if (rc == 0) {
            b->tickets++;
            b->events += (long long)b->records[i].nevents;
        }
    }
    free(ids);
    return rc;
}

/* Empties 'b' for the lines to come. */
static void batch_reset(struct batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        import_record_clear(&b->records[i]);
    b->n = 0;
    memset(b->slots, 0, sizeof(b->slots));
    b->tickets = b->events = 0;
    b->out.tickets.len = b->out.events.len = b->out.ratings.len = 0;
    b->out.outbox.len = b->out.approvals.len = 0;
}

/* Waits for the batch the writer was given last and counts it in.
 * Returns 0, or -1 if it was not committed. */
static int batch_landed(struct run *r)
{
    if (importwriter_wait(r->writer) < 0)
        return -1;
    r->imported += r->written->tickets;
    r->events += r->written->events;
    r->written->tickets = r->written->events = 0;
    return 0;
}

/* Lays the batch being filled out, while the writer writes the one before,
 * then hands it over, the file's checkpoint after it with it.  Returns 0
 * or -1. */
static int batch_send(struct run *r)
{
    struct batch *b = r->filling;
    int rc = batch_lay_out(r);

    if (batch_landed(r) < 0 || rc < 0)
        return -1;
    memcpy(b->out.key, r->key, sizeof(b->out.key));
    b->out.offset = r->offset;
    b->out.line = r->line;
    b->out.imported = r->imported_before + r->imported + b->tickets;
    b->out.refused = r->refused_before + r->refused;
    if (importwriter_submit(r->writer, &b->out) < 0)
        return -1;
    r->filling = r->written;
    r->written = b;
    batch_reset(r->filling);
    return 0;
}

static void duration(long long s, char *out, size_t cap)
{
    snprintf(out, cap, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
}

/* The progress line, at most about once a second unless 'last'. */
static void progress(struct run *r, int last)
{
    int64_t now = clock_mono_ms() * 1000;

    if (!last && now - r->shown < PROGRESS_US)
        return;
    r->shown = now;
    double secs = (double)(now - r->started) / 1e6;
    double rate = secs > 0 ? (double)(r->line - r->line_at_start) / secs : 0;
    char eta[96] = "";
    if (r->size > 0 && r->offset > 0) {
        double done = (double)r->offset / (double)r->size;
        char left[64];
        duration(done > 0 && rate > 0 ? (long long)(secs / done * (1 - done)) : 0, left,
                 sizeof(left));
        snprintf(eta, sizeof(eta), " %.0f%% ETA %s", 100 * done, left);
    }
    fprintf(stderr,
            "import: %lld lines, %lld imported, %lld already there, %lld refused, %.0f "
            "lines/s%s\n",
            r->line, r->imported, r->skipped, r->refused, rate, eta);
}

/* Takes one line into the batch, or reports why it is refused. */
static void line_take(struct run *r, const char *text, size_t len)
{
    struct batch *b = r->filling;
    struct import_record *rec = &b->records[b->n];
    char why[512];

    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    if (len == 0)
        return;
    if (import_parse(text, len, &r->rules, rec, why, sizeof(why)) < 0) {
        fprintf(stderr, "line %lld: %s\n", r->line, why);
        r->refused++;
        return;
    }
    size_t slot = batch_slot(b, rec->legacy_id);
    if (b->slots[slot] != 0) {
        fprintf(stderr, "line %lld: 'legacy_id' repeats line %lld\n", r->line,
                b->lines[b->slots[slot] - 1]);
        import_record_clear(rec);
        r->refused++;
        return;
    }
    b->slots[slot] = (int)b->n + 1;
    b->lines[b->n++] = r->line;
}

static int run_file(struct run *r)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;

    while (rc == 0 && (n = getline(&line, &cap, r->in)) >= 0) {
        r->line++;
        r->offset += n;
        line_take(r, line, (size_t)n);
        if (r->filling->n == BATCH_LINES)
            rc = batch_send(r);
        progress(r, 0);
    }
    if (rc == 0 && ferror(r->in)) {
        log_warn("cannot read the file");
        (void)batch_landed(r); /* what was handed over lands all the same */
        rc = -1;
    }
    /* The last batch moves the checkpoint to the end, even when empty. */
    if (rc == 0)
        rc = batch_send(r);
    if (rc == 0)
        rc = batch_landed(r);
    free(line);
    return rc;
}

static int batches_alloc(struct run *r)
{
    for (size_t i = 0; i < 2; i++) {
        r->batches[i].records = calloc(BATCH_LINES, sizeof(*r->batches[i].records));
        r->batches[i].lines = calloc(BATCH_LINES, sizeof(*r->batches[i].lines));
        if (r->batches[i].records == NULL || r->batches[i].lines == NULL)
            return -1;
    }
    r->filling = &r->batches[0];
    r->written = &r->batches[1];
    return 0;
}

static void batches_free(struct run *r)
{
    for (size_t i = 0; i < 2; i++) {
        struct batch *b = &r->batches[i];
        if (b->records != NULL)
            batch_reset(b);
        free(b->records);
        free(b->lines);
        free(b->out.tickets.data);
        free(b->out.events.data);
        free(b->out.ratings.data);
        free(b->out.outbox.data);
        free(b->out.approvals.data);
    }
}

int importdb_run(struct node *node, struct db *db, char **argv)
{
    const char *path = argv[0];
    struct run r = {.node = node, .db = db};
    int rc = 2;

    if (node_hotline_start(node) < 0)
        goto out;
    r.in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (r.in == NULL) {
        log_warn("cannot open '%s'", path);
        goto out;
    }
    struct stat st;
    if (r.in != stdin && fstat(fileno(r.in), &st) == 0 && S_ISREG(st.st_mode)) {
        r.size = st.st_size;
        if (file_key(&r) < 0 || checkpoint_load(&r) < 0)
            goto out;
    }
    if (batches_alloc(&r) < 0 || units_load(&r) < 0)
        goto out;
    r.rules = (struct import_rules){
        .calendar = calstore_get(db),
        .periods = &node->hotline.periods,
        .unit_known = unit_known,
        .unit_arg = &r.units,
        .now = clock_now_us(),
    };
    if (r.rules.calendar == NULL)
        goto out;
    r.writer = importwriter_start(node->cfg.database);
    if (r.writer == NULL)
        goto out;
    r.started = r.shown = clock_mono_ms() * 1000;
    r.line_at_start = r.line;
    int failed = run_file(&r) < 0;
    importwriter_free(&r.writer);
    progress(&r, 1);
    printf("imported %lld tickets (%lld events) from %lld lines; %lld already there, %lld "
           "refused\n",
           r.imported, r.events, r.line - r.line_at_start, r.skipped, r.refused);
    rc = failed ? 2 : r.refused > 0 ? 1 : 0;
out:
    importwriter_free(&r.writer);
    if (r.in != NULL && r.in != stdin)
        fclose(r.in);
    batches_free(&r);
    for (size_t i = 0; i < r.units.n; i++)
        free(r.units.list[i].name);
    free(r.units.list);
    free(r.ticket_text.data);
    pii_keys_wipe(&node->hotline.pii);
    return rc;
}
