/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of wire.c and utf8.c: envelopes round-trip, and nothing malformed
 * gets through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "utf8.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>

static Fed__Hello hello = FED__HELLO__INIT;
static Fed__Envelope env = FED__ENVELOPE__INIT;
static uint8_t message_id[WIRE_MESSAGE_ID_LEN] = {1, 2, 3};

static int make_hello(void **state)
{
    (void)state;
    fed__hello__init(&hello);
    hello.code = "440100";
    hello.name = "广州";
    hello.software = "city-node 0.1.0";
    hello.incarnation = 42;
    hello.sign_key = "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqo=";
    fed__envelope__init(&env);
    env.version = WIRE_VERSION;
    env.from = "440100";
    env.to = "440000";
    env.seq = 7;
    env.ack = 3;
    env.sent_at_us = 1733300000123456;
    env.message_id.data = message_id;
    env.message_id.len = sizeof(message_id);
    env.payload_case = FED__ENVELOPE__PAYLOAD_HELLO;
    env.hello = &hello;
    return 0;
}

/* Encodes the current envelope and decodes it again; NULL if refused. */
static Fed__Envelope *round_trip(char *err)
{
    size_t len;
    uint8_t *buf = wire_encode(&env, &len);

    assert_non_null(buf);
    Fed__Envelope *out = wire_decode(buf, len, err, 128);
    free(buf);
    return out;
}

static void hello_round_trips(void **state)
{
    char err[128];
    Fed__Envelope *out;

    (void)state;
    out = round_trip(err);
    assert_non_null(out);
    assert_int_equal(out->version, WIRE_VERSION);
    assert_string_equal(out->from, "440100");
    assert_string_equal(out->to, "440000");
    assert_int_equal(out->seq, 7);
    assert_int_equal(out->ack, 3);
    assert_int_equal(out->sent_at_us, 1733300000123456);
    assert_memory_equal(out->message_id.data, message_id, sizeof(message_id));
    assert_int_equal(out->payload_case, FED__ENVELOPE__PAYLOAD_HELLO);
    assert_string_equal(out->hello->name, "广州");
    assert_int_equal(out->hello->incarnation, 42);
    assert_null(out->hello->streams);
    assert_string_equal(wire_payload_name(out->payload_case), "hello");
    wire_free(out);
    wire_free(NULL);

    /* How far the node's database came, which a restored one gives away. */
    Fed__Streams streams = FED__STREAMS__INIT;
    streams.tickets_numbered = 5123;
    streams.down_applied = 77;
    hello.streams = &streams;
    out = round_trip(err);
    hello.streams = NULL;
    assert_non_null(out);
    assert_non_null(out->hello->streams);
    assert_int_equal(out->hello->streams->tickets_numbered, 5123);
    assert_int_equal(out->hello->streams->down_applied, 77);
    wire_free(out);
}

static void heartbeat_round_trips(void **state)
{
    Fed__Heartbeat hb = FED__HEARTBEAT__INIT;
    Fed__Load load = FED__LOAD__INIT;
    char err[128];

    (void)state;
    load.agents_online = 12;
    load.queue_depth = 5;
    hb.load = &load;
    env.payload_case = FED__ENVELOPE__PAYLOAD_HEARTBEAT;
    env.heartbeat = &hb;
    Fed__Envelope *out = round_trip(err);
    assert_non_null(out);
    assert_int_equal(out->heartbeat->load->agents_online, 12);
    assert_int_equal(out->heartbeat->load->queue_depth, 5);
    wire_free(out);
}

/* One bad item of a batch is emptied, keeping its place; the others arrive. */
static void bad_batch_items_are_emptied(void **state)
{
    Fed__Batch b = FED__BATCH__INIT;
    ProtobufCBinaryData items[3] = {
        {2, (uint8_t *)"{}"}, {9, (uint8_t *)"not json!"}, {7, (uint8_t *)"{\"a\":1}"}};
    char err[128];

    (void)state;
    b.items = items;
    b.n_items = 3;
    b.oldest = 1;
    env.stream = STREAM_DOWN;
    env.seq = 1;
    env.payload_case = FED__ENVELOPE__PAYLOAD_BATCH;
    env.batch = &b;
    Fed__Envelope *out = round_trip(err);
    assert_non_null(out);
    assert_int_equal(out->batch->n_items, 3);
    assert_int_equal(out->batch->items[0].len, 2);
    assert_int_equal(out->batch->items[1].len, 0);
    assert_int_equal(out->batch->items[2].len, 7);
    wire_free(out);
}

static void invalid_headers_refused(void **state)
{
    char err[128];

    (void)state;
    env.version = 2;
    assert_null(round_trip(err));
    assert_non_null(strstr(err, "version"));
    env.version = WIRE_VERSION;

    env.from = "44010";
    assert_null(round_trip(err));
    env.from = "44x100";
    assert_null(round_trip(err));
    env.from = "440100";
    env.to = "";
    assert_null(round_trip(err));
    assert_non_null(strstr(err, "code"));
    env.to = "440000";

    env.message_id.len = 5;
    assert_null(round_trip(err));
    assert_non_null(strstr(err, "message id"));
    env.message_id.len = 0;
    Fed__Envelope *out = round_trip(err);
    assert_non_null(out);
    wire_free(out);

    env.payload_case = FED__ENVELOPE__PAYLOAD__NOT_SET;
    assert_null(round_trip(err));
    assert_non_null(strstr(err, "payload"));
}

static void invalid_payloads_refused(void **state)
{
    char err[128];
    char big[WIRE_MAX_NAME + 2];

    (void)state;
    hello.name = "";
    assert_null(round_trip(err));
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    hello.name = big;
    assert_null(round_trip(err));
    hello.name = "\xe5\xb9"; /* truncated UTF-8 */
    assert_null(round_trip(err));
    hello.name = "ok";
    hello.code = "abc";
    assert_null(round_trip(err));
    assert_non_null(strstr(err, "hello"));
}

static void truncated_and_garbage_refused(void **state)
{
    char err[128];
    size_t len;
    uint8_t *buf;

    (void)state;
    buf = wire_encode(&env, &len);
    assert_non_null(buf);
    /* Every proper prefix either fails to decode or fails validation. */
    for (size_t cut = 0; cut < len; cut++) {
        Fed__Envelope *out = wire_decode(buf, cut, err, sizeof(err));
        assert_null(out);
    }
    free(buf);

    srand(12345);
    uint8_t junk[512];
    for (int round = 0; round < 2000; round++) {
        size_t n = (size_t)(rand() % (int)sizeof(junk));
        for (size_t i = 0; i < n; i++)
            junk[i] = (uint8_t)rand();
        Fed__Envelope *out = wire_decode(junk, n, err, sizeof(err));
        /* Random bytes almost never form a valid envelope; if they do it
         * passed every check and must be freed like any other. */
        wire_free(out);
    }

    /* A length prefix claiming more bytes than there are. */
    const uint8_t lying[] = {0x5a, 0xff, 0xff, 0xff, 0x0f, 'x'};
    assert_null(wire_decode(lying, sizeof(lying), err, sizeof(err)));
}

/* Appends 'extra' to the current envelope, encoded; decodes the result. */
static Fed__Envelope *decode_with(const uint8_t *extra, size_t n, char *err)
{
    size_t len;
    uint8_t *buf = wire_encode(&env, &len);

    assert_non_null(buf);
    buf = realloc(buf, len + n);
    assert_non_null(buf);
    memcpy(buf + len, extra, n);
    Fed__Envelope *out = wire_decode(buf, len + n, err, 128);
    free(buf);
    return out;
}

/* A field number 0, spelled in two bytes, or above 2^29 - 1 would come out
 * of wire_encode() as bytes that decode to something else, or not at all. */
static void bad_field_numbers_refused(void **state)
{
    static const uint8_t zero[] = {0x81, 0x00, 1, 2, 3, 4, 5, 6, 7, 8};
    static const uint8_t huge[] = {0x80, 0x80, 0x80, 0x80, 0x10, 0x01};
    static const uint8_t newer[] = {0xf8, 0x01, 0x01}; /* field 31: a newer peer's */
    char err[128];
    Fed__Envelope *out;

    (void)state;
    assert_null(decode_with(zero, sizeof(zero), err));
    assert_non_null(strstr(err, "field number"));
    assert_null(decode_with(huge, sizeof(huge), err));
    assert_non_null(strstr(err, "field number"));
    out = decode_with(newer, sizeof(newer), err);
    assert_non_null(out);
    wire_free(out);
}

static void oversized_refused(void **state)
{
    char err[128];
    uint8_t *huge = calloc(1, WIRE_MAX_SIZE + 1);

    (void)state;
    assert_non_null(huge);
    assert_null(wire_decode(huge, WIRE_MAX_SIZE + 1, err, sizeof(err)));
    assert_non_null(strstr(err, "exceeds"));
    free(huge);
}

static void utf8_validation(void **state)
{
    (void)state;
    assert_true(utf8_valid("", 0));
    assert_true(utf8_valid("hotline", 7));
    assert_true(utf8_valid("广东省12345热线", strlen("广东省12345热线")));
    assert_true(utf8_valid("\xf0\x9f\x98\x80", 4));  /* U+1F600 */
    assert_false(utf8_valid("a\0b", 3));             /* NUL */
    assert_false(utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
    assert_false(utf8_valid("\xe0\x80\xaf", 3));     /* overlong */
    assert_false(utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
    assert_false(utf8_valid("\xe5\xb9", 2));         /* truncated */
    assert_false(utf8_valid("\x80", 1));             /* lone continuation */
    assert_false(utf8_valid("\xe5\x28\xbf", 3));     /* bad continuation */
    assert_false(utf8_valid("\xff", 1));
}

static void utf8_cut_keeps_whole_characters(void **state)
{
    char cut[] = "广东省"; /* as snprintf leaves it in a buffer of 8 */
    char whole[] = "广东省";
    char bad[] = "ab\xff\xe5\xb9\xbf";

    (void)state;
    cut[7] = '\0';
    utf8_cut(cut);
    assert_string_equal(cut, "广东");
    utf8_cut(whole);
    assert_string_equal(whole, "广东省");
    utf8_cut(bad);
    assert_string_equal(bad, "ab");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(hello_round_trips, make_hello),
        cmocka_unit_test_setup(heartbeat_round_trips, make_hello),
        cmocka_unit_test_setup(bad_batch_items_are_emptied, make_hello),
        cmocka_unit_test_setup(invalid_headers_refused, make_hello),
        cmocka_unit_test_setup(invalid_payloads_refused, make_hello),
        cmocka_unit_test_setup(truncated_and_garbage_refused, make_hello),
        cmocka_unit_test_setup(bad_field_numbers_refused, make_hello),
        cmocka_unit_test(oversized_refused),
        cmocka_unit_test(utf8_validation),
        cmocka_unit_test(utf8_cut_keeps_whole_characters),
    };
    return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
