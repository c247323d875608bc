/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proxy.h - the client of a request that came through a trusted reverse
 * proxy: the list of trusted proxies (`trusted_proxies`, addresses and
 * CIDR blocks) and the strict reading of X-Forwarded-For.  Pure: addresses
 * in, an address out, no I/O.
 */
#ifndef HOTLINE_PROXY_H
#define HOTLINE_PROXY_H

#include <stddef.h>

#define PROXY_MAX        32               /* entries of a list */
#define PROXY_MAX_HOPS   16               /* addresses an X-Forwarded-For may name */
#define PROXY_HEADER_MAX 1024             /* longest X-Forwarded-For read */
#define PROXY_TEXT_MAX   (PROXY_MAX * 44) /* a list as proxy_list_format() writes it */

struct proxy_list;

/* What proxy_client() made of a request. */
enum proxy_source {
    PROXY_PEER,      /* the peer itself: not a trusted proxy, or no header */
    PROXY_FORWARDED, /* an address of the header */
    PROXY_MALFORMED, /* the peer, a trusted proxy whose header is not a list of addresses */
};

/*
 * Parses 'text': a comma list of IPv4 or IPv6 addresses, each optionally a
 * CIDR block ("10.0.0.0/8", "2001:db8::/32"), with blanks around the
 * commas; "" is the empty list.  Returns a new list (free it with
 * proxy_list_free), or NULL with the reason in 'why' (of 'whylen' bytes)
 * when an entry is not an address, a prefix is out of range, or there are
 * more than PROXY_MAX entries.
 */
struct proxy_list *proxy_list_parse(const char *text, char *why, size_t whylen);

/* Frees 'list'; proxy_list_free(NULL) does nothing. */
void proxy_list_free(struct proxy_list *list);

/* The number of entries of 'list' (0 for NULL). */
size_t proxy_list_count(const struct proxy_list *list);

/*
 * Writes 'list' as a comma list without blanks, each entry as inet_ntop
 * writes its address with its prefix ("10.0.0.0/8,192.0.2.1/32") into
 * 'out' of PROXY_TEXT_MAX bytes.
 */
void proxy_list_format(const struct proxy_list *list, char out[PROXY_TEXT_MAX]);

/*
 * Is 'address' (IPv4 or IPv6 text, an IPv4-mapped IPv6 address as its
 * IPv4) in one of the entries of 'list'?  Returns 1 or 0; 0 for NULL or
 * anything that is not an address.
 */
int proxy_trusted(const struct proxy_list *list, const char *address);

/*
 * The client of a request whose connection came from 'peer' with the
 * X-Forwarded-For 'header' (NULL without one).  Only when 'peer' is a
 * trusted proxy is the header read: the client is its right-most address
 * that is not itself a trusted proxy, or its left-most if every one is.
 * The header must be a comma list of at most PROXY_MAX_HOPS addresses in
 * their plain form (no ports, brackets, zones or leading zeros), blanks
 * around the commas; anything else is malformed and the peer is the
 * client.  Writes the client's address, as inet_ntop writes it, into 'out'
 * of 'len' bytes (at least 46) and returns where it came from.
 */
enum proxy_source proxy_client(const struct proxy_list *list, const char *peer, const char *header,
                               char *out, size_t len);

#endif
