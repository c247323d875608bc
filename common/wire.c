/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wire.c - the envelope codec and its validation, one table row per payload.
 *
 * Runs in the link thread of each node, on every message in and out.  A
 * message that fails validation is dropped with one log line by the caller;
 * it never reaches a handler.
 */
#include "wire.h"

#include "log.h"
#include "utf8.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int validate_fn(const Fed__Envelope *env, char *err, size_t errlen);

struct payload {
    Fed__Envelope__PayloadCase kind;
    const char *name;
    validate_fn *validate;
};

static int invalid(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int invalid(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* A text field: valid UTF-8, at most 'max' bytes, non-empty if 'required'. */
static int text_ok(const char *s, size_t max, int required)
{
    size_t len = strlen(s);

    return len <= max && (len > 0 || !required) && utf8_valid(s, len);
}

static int code_ok(const char *s)
{
    if (strlen(s) != 6 || s[0] == '0')
        return 0;
    for (int i = 0; i < 6; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

static int validate_hello(const Fed__Envelope *env, char *err, size_t errlen)
{
    const Fed__Hello *h = env->hello;

    if (!code_ok(h->code))
        return invalid(err, errlen, "hello: bad node code");
    if (!text_ok(h->name, WIRE_MAX_NAME, 1))
        return invalid(err, errlen, "hello: bad name");
    if (!text_ok(h->software, WIRE_MAX_TOKEN, 0))
        return invalid(err, errlen, "hello: bad software");
    if (!text_ok(h->sign_key, WIRE_MAX_TOKEN, 1) || strlen(h->sign_key) != WIRE_SIGN_KEY_LEN)
        return invalid(err, errlen, "hello: bad signing key");
    return 0;
}

static int validate_welcome(const Fed__Envelope *env, char *err, size_t errlen)
{
    const Fed__Welcome *w = env->welcome;

    if (!code_ok(w->code) || !text_ok(w->name, WIRE_MAX_NAME, 1))
        return invalid(err, errlen, "welcome: bad code or name");
    if (!text_ok(w->sign_key, WIRE_MAX_TOKEN, 1) || strlen(w->sign_key) != WIRE_SIGN_KEY_LEN)
        return invalid(err, errlen, "welcome: bad signing key");
    return 0;
}

static int validate_refuse(const Fed__Envelope *env, char *err, size_t errlen)
{
    const Fed__Refuse *r = env->refuse;

    if (!text_ok(r->reason, WIRE_MAX_TOKEN, 1) || !text_ok(r->message, WIRE_MAX_MESSAGE, 0))
        return invalid(err, errlen, "refuse: bad reason or message");
    return 0;
}

/* A batch of a known stream, bounded.  Its items are checked one by one
 * (empty_bad_items), not here: one bad item must not lose the others. */
static int validate_batch(const Fed__Envelope *env, char *err, size_t errlen)
{
    const Fed__Batch *b = env->batch;

    if ((env->stream != STREAM_TICKETS && env->stream != STREAM_DOWN) || env->seq == 0)
        return invalid(err, errlen, "batch: unknown stream or no sequence");
    if (b->oldest == 0 || b->oldest > env->seq)
        return invalid(err, errlen, "batch: oldest %llu after first %llu",
                       (unsigned long long)b->oldest, (unsigned long long)env->seq);
    if (b->n_items == 0 || b->n_items > WIRE_MAX_BATCH)
        return invalid(err, errlen, "batch: %zu items", b->n_items);
    return 0;
}

/*
 * Empties every item of a batch that cannot be a JSON object of at most
 * WIRE_MAX_ITEM bytes, in place: it keeps its number, and its receiver
 * drops it as it drops any message it cannot apply, so the stream goes on.
 * Only the first byte is looked at here: the receiver parses every item
 * anyway, and parsing it twice took a third of the province's time for a
 * batch.  Returns how many it emptied.
 */
static size_t empty_bad_items(Fed__Batch *b)
{
    size_t emptied = 0;

    for (size_t i = 0; i < b->n_items; i++) {
        ProtobufCBinaryData *it = &b->items[i];
        if (it->len > WIRE_MAX_ITEM || (it->len > 0 && it->data[0] != '{')) {
            it->len = 0;
            emptied++;
        }
    }
    return emptied;
}

static int validate_nothing(const Fed__Envelope *env, char *err, size_t errlen)
{
    (void)env;
    (void)err;
    (void)errlen;
    return 0;
}

static const struct payload payloads[] = {
    {FED__ENVELOPE__PAYLOAD_HELLO, "hello", validate_hello},
    {FED__ENVELOPE__PAYLOAD_WELCOME, "welcome", validate_welcome},
    {FED__ENVELOPE__PAYLOAD_REFUSE, "refuse", validate_refuse},
    {FED__ENVELOPE__PAYLOAD_HEARTBEAT, "heartbeat", validate_nothing},
    {FED__ENVELOPE__PAYLOAD_ACK_MSG, "ack", validate_nothing},
    {FED__ENVELOPE__PAYLOAD_BATCH, "batch", validate_batch},
};

#define NPAYLOADS (sizeof(payloads) / sizeof(payloads[0]))

static const struct payload *payload_find(Fed__Envelope__PayloadCase kind)
{
    for (size_t i = 0; i < NPAYLOADS; i++)
        if (payloads[i].kind == kind)
            return &payloads[i];
    return NULL;
}

/* The highest field number protobuf allows. */
#define MAX_FIELD_NUMBER 0x1fffffff

/*
 * Whether every unknown field (a newer peer's) of 'm' and of its messages
 * has a number protobuf allows.  protobuf-c also takes 0 spelled in more
 * than one byte, which encoded again makes an envelope nobody decodes, and
 * numbers above the highest, which other implementations refuse.
 */
static int numbers_ok(const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;

    for (size_t i = 0; i < m->n_unknown_fields; i++)
        if (m->unknown_fields[i].tag == 0 || m->unknown_fields[i].tag > MAX_FIELD_NUMBER)
            return 0;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE || f->label == PROTOBUF_C_LABEL_REPEATED)
            continue;
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(const void *)(base + f->quantifier_offset) != f->id)
            continue;
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)(const void *)(base + f->offset);
        if (sub != NULL && !numbers_ok(sub))
            return 0;
    }
    return 1;
}

uint8_t *wire_encode(const Fed__Envelope *env, size_t *len)
{
    size_t size = fed__envelope__get_packed_size(env);
    uint8_t *buf;

    if (size > WIRE_MAX_SIZE || (buf = malloc(size > 0 ? size : 1)) == NULL)
        return NULL;
    *len = fed__envelope__pack(env, buf);
    return buf;
}

Fed__Envelope *wire_decode(const uint8_t *data, size_t len, char *err, size_t errlen)
{
    Fed__Envelope *env;
    const struct payload *p;

    if (len > WIRE_MAX_SIZE) {
        invalid(err, errlen, "message of %zu bytes exceeds %d", len, WIRE_MAX_SIZE);
        return NULL;
    }
    env = fed__envelope__unpack(NULL, len, data);
    if (env == NULL) {
        invalid(err, errlen, "message is not a valid envelope");
        return NULL;
    }
    if (!numbers_ok(&env->base)) {
        invalid(err, errlen, "message has a field number out of range");
        goto fail;
    }
    if (env->version != WIRE_VERSION) {
        invalid(err, errlen, "unknown protocol version %u", env->version);
        goto fail;
    }
    if (!code_ok(env->from) || !code_ok(env->to)) {
        invalid(err, errlen, "bad sender or receiver code");
        goto fail;
    }
    if (env->message_id.len != 0 && env->message_id.len != WIRE_MESSAGE_ID_LEN) {
        invalid(err, errlen, "bad message id length %zu", env->message_id.len);
        goto fail;
    }
    p = payload_find(env->payload_case);
    if (p == NULL) {
        invalid(err, errlen, "no known payload");
        goto fail;
    }
    if (p->validate(env, err, errlen) < 0)
        goto fail;
    if (env->payload_case == FED__ENVELOPE__PAYLOAD_BATCH && empty_bad_items(env->batch) > 0)
        log_warnx("a batch from '%s' holds items that are not JSON objects of at most %d bytes:"
                  " they are dropped",
                  env->from, WIRE_MAX_ITEM);
    return env;

fail:
    wire_free(env);
    return NULL;
}

void wire_free(Fed__Envelope *env)
{
    if (env != NULL)
        fed__envelope__free_unpacked(env, NULL);
}

const char *wire_payload_name(Fed__Envelope__PayloadCase c)
{
    const struct payload *p = payload_find(c);

    return p != NULL ? p->name : "unknown";
}

size_t wire_payload_count(void)
{
    return NPAYLOADS;
}

Fed__Envelope__PayloadCase wire_payload_at(size_t i)
{
    return i < NPAYLOADS ? payloads[i].kind : FED__ENVELOPE__PAYLOAD__NOT_SET;
}
