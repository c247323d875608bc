/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proxy_fuzz.c - libFuzzer harness of the trusted proxies and the client
 * read from X-Forwarded-For (proxy.c).
 *
 * The input is three lines: a `trusted_proxies` value, the peer's address
 * and the header.  A list is refused with a message or, written out and
 * read again, is the same list.  The client is the peer unless the peer is
 * a trusted proxy whose header is well formed, and then an address.
 */
#include "proxy.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_address(const char *s)
{
    unsigned char buf[16];

    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), why[200] = "", out[46], again[PROXY_TEXT_MAX],
         first[PROXY_TEXT_MAX];

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *peer = strchr(text, '\n');
    char *header = peer != NULL ? strchr(peer + 1, '\n') : NULL;
    if (peer != NULL)
        *peer++ = '\0';
    if (header != NULL)
        *header++ = '\0';

    struct proxy_list *list = proxy_list_parse(text, why, sizeof(why));
    if (list == NULL) {
        if (why[0] == '\0')
            abort();
    } else {
        proxy_list_format(list, first);
        struct proxy_list *read = proxy_list_parse(first, why, sizeof(why));
        if (read == NULL)
            abort();
        proxy_list_format(read, again);
        if (strcmp(first, again) != 0 || proxy_list_count(read) != proxy_list_count(list))
            abort();
        proxy_list_free(read);
    }
    if (peer != NULL && strlen(peer) < sizeof(out)) {
        enum proxy_source source = proxy_client(list, peer, header, out, sizeof(out));
        int trusted = proxy_trusted(list, peer);
        if (source == PROXY_FORWARDED ? !trusted || header == NULL || !is_address(out)
                                      : strcmp(out, peer) != 0)
            abort();
        if (!trusted && source != PROXY_PEER)
            abort();
    }
    proxy_list_free(list);
    free(text);
    return 0;
}
