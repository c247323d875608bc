/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wire_fuzz.c - libFuzzer harness of wire_decode(), the first code to see
 * every message a peer sends.
 *
 * Whatever the bytes, decoding must not crash or leak.  An envelope it
 * accepts must survive a round trip: encoded again, it decodes again with
 * the same payload, and encoding that gives the same bytes.
 */
#include "log.h"
#include "wire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    size_t len, len2;

    log_set_level(LOG_LEVEL_ERROR);
    Fed__Envelope *env = wire_decode(data, size, err, sizeof(err));
    if (env == NULL)
        return 0;
    uint8_t *buf = wire_encode(env, &len);
    if (buf == NULL)
        abort();
    Fed__Envelope *again = wire_decode(buf, len, err, sizeof(err));
    if (again == NULL || again->payload_case != env->payload_case)
        abort();
    uint8_t *buf2 = wire_encode(again, &len2);
    if (buf2 == NULL || len2 != len || memcmp(buf, buf2, len) != 0)
        abort();
    free(buf2);
    free(buf);
    wire_free(again);
    wire_free(env);
    return 0;
}
