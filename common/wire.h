/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wire.h - encoding and decoding of federation envelopes.
 *
 * Everything that arrives from a peer passes wire_decode() before any other
 * code sees it: a decoded envelope is known to be well formed, so the
 * handlers only check what the protocol means, not how it is spelled.
 */
#ifndef HOTLINE_WIRE_H
#define HOTLINE_WIRE_H

#include "federation.pb-c.h"

#include <stddef.h>
#include <stdint.h>

#define WIRE_VERSION        1
#define WIRE_MAX_SIZE       (1024 * 1024)
#define WIRE_MESSAGE_ID_LEN 16

/* Bounds of the text fields, in bytes of UTF-8. */
#define WIRE_MAX_NAME    100
#define WIRE_MAX_TOKEN   64
#define WIRE_MAX_MESSAGE 512
/* An Ed25519 public key in base64. */
#define WIRE_SIGN_KEY_LEN 44
/* A batch carries at most this many items of at most this many bytes. */
#define WIRE_MAX_BATCH 500
#define WIRE_MAX_ITEM  (256 * 1024)
/* Room an envelope keeps for everything but the items of its batch. */
#define WIRE_MAX_HEADER (16 * 1024)

/* Streams of sequenced messages (Envelope.stream); 0 is control. */
enum wire_stream {
    STREAM_CONTROL = 0,
    STREAM_TICKETS = 1, /* node to province: ticket changes, transfer messages, reports */
    STREAM_DOWN = 2,    /* province to a node: transfers, decisions, status, broadcasts */
};

/*
 * Encodes 'env' into a new buffer and stores its size in '*len'.  Returns the
 * buffer (free with free()), or NULL if it would exceed WIRE_MAX_SIZE or
 * memory ran out.
 */
uint8_t *wire_encode(const Fed__Envelope *env, size_t *len);

/*
 * Decodes and validates 'len' bytes.  Returns the envelope (free with
 * wire_free), or NULL with the reason, fit for a log line, in 'err'.
 * Nothing in 'data' is trusted: sizes, versions, codes, text and the payload
 * are all checked.
 */
Fed__Envelope *wire_decode(const uint8_t *data, size_t len, char *err, size_t errlen);

/* Frees a decoded envelope; wire_free(NULL) does nothing. */
void wire_free(Fed__Envelope *env);

/* Short lower-case name of a payload, for logs and metrics: "hello", ... */
const char *wire_payload_name(Fed__Envelope__PayloadCase c);

/* Number of payload kinds, and the kind at 'i' (for iterating metrics). */
size_t wire_payload_count(void);
Fed__Envelope__PayloadCase wire_payload_at(size_t i);

#endif
