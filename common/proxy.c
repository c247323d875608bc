/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proxy.c - trusted reverse proxies and the client they forward.
 *
 * The list is parsed once, from the configuration, in the main thread, and
 * only read afterwards by every HTTP worker (http.c).  An address is kept
 * as 16 bytes, an IPv4 one as its IPv4-mapped IPv6 form with 96 added to
 * its prefix, so one comparison serves both families.
 *
 * X-Forwarded-For is written by whoever sends the request; only the part a
 * trusted proxy added can be believed.  Each proxy appends the address it
 * saw, so the header is read from the right, past the trusted proxies, and
 * the first address that is not one is the client.  A header that is not
 * strictly a list of addresses is not guessed at: the request is the
 * proxy's, so a client cannot escape its count by writing nonsense.
 */
#include "proxy.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADDRESS_TEXT_MAX 45 /* INET6_ADDRSTRLEN without its NUL */

struct proxy_entry {
    uint8_t addr[16];
    int prefix; /* 0..128, of the 16-byte form */
};

struct proxy_list {
    size_t n;
    struct proxy_entry entries[PROXY_MAX];
};

static void why_set(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void why_set(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (whylen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

/* Reads 'len' bytes of 'text' as an address into its 16-byte form.  Returns
 * 4 or 6 (the family it was written in), or 0 if it is not an address. */
static int address_parse(const char *text, size_t len, uint8_t out[16])
{
    char copy[ADDRESS_TEXT_MAX + 1];
    struct in_addr a4;

    if (len == 0 || len > ADDRESS_TEXT_MAX)
        return 0;
    memcpy(copy, text, len);
    copy[len] = '\0';
    if (inet_pton(AF_INET, copy, &a4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &a4, 4);
        return 4;
    }
    if (inet_pton(AF_INET6, copy, out) == 1)
        return 6;
    return 0;
}

static int is_v4_mapped(const uint8_t a[16])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    return memcmp(a, mapped, sizeof(mapped)) == 0;
}

static void address_format(const uint8_t a[16], char out[ADDRESS_TEXT_MAX + 1])
{
    if (is_v4_mapped(a))
        inet_ntop(AF_INET, a + 12, out, ADDRESS_TEXT_MAX + 1);
    else
        inet_ntop(AF_INET6, a, out, ADDRESS_TEXT_MAX + 1);
}

static int entry_matches(const struct proxy_entry *e, const uint8_t a[16])
{
    int whole = e->prefix / 8, bits = e->prefix % 8;

    if (memcmp(e->addr, a, (size_t)whole) != 0)
        return 0;
    if (bits == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - bits));
    return (e->addr[whole] & mask) == (a[whole] & mask);
}

static int trusted(const struct proxy_list *list, const uint8_t a[16])
{
    for (size_t i = 0; list != NULL && i < list->n; i++)
        if (entry_matches(&list->entries[i], a))
            return 1;
    return 0;
}

/* Reads one entry, "address" or "address/prefix", of 'len' bytes. */
static int entry_parse(const char *text, size_t len, struct proxy_entry *e, char *why,
                       size_t whylen)
{
    const char *slash = memchr(text, '/', len);
    size_t alen = slash != NULL ? (size_t)(slash - text) : len;
    int family = address_parse(text, alen, e->addr);

    if (family == 0) {
        why_set(why, whylen, "'%.*s' is not an IP address", (int)alen, text);
        return -1;
    }
    int max = family == 4 ? 32 : 128;
    e->prefix = max;
    if (slash != NULL) {
        size_t plen = len - alen - 1;
        int prefix = 0;
        if (plen == 0 || plen > 3 || strspn(slash + 1, "0123456789") < plen ||
            (plen > 1 && slash[1] == '0')) {
            why_set(why, whylen, "'%.*s' is not a prefix length", (int)plen, slash + 1);
            return -1;
        }
        for (size_t i = 0; i < plen; i++)
            prefix = prefix * 10 + (slash[1 + i] - '0');
        if (prefix > max) {
            why_set(why, whylen, "prefix /%d is longer than %d bits", prefix, max);
            return -1;
        }
        e->prefix = prefix;
    }
    if (family == 4)
        e->prefix += 96;
    /* Bits past the prefix are cleared: 10.1.2.3/8 is 10.0.0.0/8. */
    for (int bit = e->prefix; bit < 128; bit++)
        e->addr[bit / 8] &= (uint8_t) ~(0x80 >> (bit % 8));
    return 0;
}

static int blank(char c)
{
    return c == ' ' || c == '\t';
}

/*
 * Splits 'text' at its commas into at most 'max' items without the blanks
 * around them, as offsets and lengths.  Returns the number of items, or -1
 * if an item is empty or there are more than 'max'.  "" has none.
 */
static int split(const char *text, size_t max, size_t *start, size_t *len)
{
    size_t n = 0, i = 0, end = strlen(text);

    while (end > 0 && blank(text[end - 1]))
        end--;
    while (i < end && blank(text[i]))
        i++;
    if (i == end)
        return 0;
    for (;;) {
        size_t from = i;
        while (i < end && text[i] != ',')
            i++;
        size_t to = i;
        while (to > from && blank(text[to - 1]))
            to--;
        if (to == from || n == max)
            return -1;
        start[n] = from;
        len[n++] = to - from;
        if (i == end)
            return (int)n;
        for (i++; i < end && blank(text[i]);)
            i++;
        if (i == end)
            return -1;
    }
}

struct proxy_list *proxy_list_parse(const char *text, char *why, size_t whylen)
{
    size_t start[PROXY_MAX], len[PROXY_MAX];
    struct proxy_list *list = calloc(1, sizeof(*list));

    if (list == NULL) {
        why_set(why, whylen, "out of memory");
        return NULL;
    }
    int n = split(text, PROXY_MAX, start, len);
    if (n < 0) {
        why_set(why, whylen, "'%s' is not a comma list of at most %d addresses or CIDR blocks",
                text, PROXY_MAX);
        goto fail;
    }
    for (int i = 0; i < n; i++)
        if (entry_parse(text + start[i], len[i], &list->entries[i], why, whylen) < 0)
            goto fail;
    list->n = (size_t)n;
    return list;

fail:
    free(list);
    return NULL;
}

void proxy_list_free(struct proxy_list *list)
{
    free(list);
}

size_t proxy_list_count(const struct proxy_list *list)
{
    return list != NULL ? list->n : 0;
}

void proxy_list_format(const struct proxy_list *list, char out[PROXY_TEXT_MAX])
{
    size_t at = 0;

    out[0] = '\0';
    for (size_t i = 0; i < proxy_list_count(list); i++) {
        const struct proxy_entry *e = &list->entries[i];
        char a[ADDRESS_TEXT_MAX + 1];
        address_format(e->addr, a);
        int prefix = is_v4_mapped(e->addr) && e->prefix >= 96 ? e->prefix - 96 : e->prefix;
        int w = snprintf(out + at, PROXY_TEXT_MAX - at, "%s%s/%d", i > 0 ? "," : "", a, prefix);
        if (w < 0 || (size_t)w >= PROXY_TEXT_MAX - at)
            return;
        at += (size_t)w;
    }
}

int proxy_trusted(const struct proxy_list *list, const char *address)
{
    uint8_t a[16];

    return address_parse(address, strlen(address), a) != 0 && trusted(list, a);
}

enum proxy_source proxy_client(const struct proxy_list *list, const char *peer, const char *header,
                               char *out, size_t len)
{
    size_t start[PROXY_MAX_HOPS], hop_len[PROXY_MAX_HOPS];
    uint8_t hops[PROXY_MAX_HOPS][16];

    snprintf(out, len, "%s", peer);
    if (header == NULL || !proxy_trusted(list, peer))
        return PROXY_PEER;
    int n = strlen(header) <= PROXY_HEADER_MAX ? split(header, PROXY_MAX_HOPS, start, hop_len) : -1;
    if (n <= 0)
        return PROXY_MALFORMED;
    for (int i = 0; i < n; i++)
        if (address_parse(header + start[i], hop_len[i], hops[i]) == 0)
            return PROXY_MALFORMED;
    int client = 0;
    for (int i = n; i-- > 0;) {
        if (!trusted(list, hops[i])) {
            client = i;
            break;
        }
    }
    char text[ADDRESS_TEXT_MAX + 1];
    address_format(hops[client], text);
    snprintf(out, len, "%s", text);
    return PROXY_FORWARDED;
}
