/* SPDX-License-Identifier: Apache-2.0 */
/*
 * link.h - ZeroMQ sockets between nodes: CURVE set-up, the ZAP handler that
 * admits only registered keys, and sending and receiving envelopes.
 *
 * All of it runs in a node's link thread, which owns every socket.  The
 * province binds a ROUTER; each city connects a DEALER.  libzmq checks
 * CURVE clients only when a ZAP handler is bound in the same context before
 * the server socket binds, so link_router_new() refuses to run without one.
 */
#ifndef HOTLINE_LINK_H
#define HOTLINE_LINK_H

#include "keys.h"
#include "outbox.h"
#include "wire.h"

#include <stddef.h>
#include <stdint.h>

#define LINK_ZAP_DOMAIN     "hotline"
#define LINK_MAX_ROUTING_ID 255
/* The largest message libzmq takes (ZMQ_MAXMSGSIZE): the largest envelope
 * and room for its framing.  It closes the connection of a larger one; a
 * message between WIRE_MAX_SIZE and this is dropped by wire_decode(). */
#define LINK_MAX_MESSAGE (WIRE_MAX_SIZE + 1024)

/* The sender of a message received on a ROUTER. */
struct link_peer {
    uint8_t routing_id[LINK_MAX_ROUTING_ID];
    size_t routing_id_len;
    char user_id[8];                      /* node code given by the ZAP handler; "" if none */
    char key[CRYPTO_FINGERPRINT_LEN + 1]; /* fingerprint of the key it was admitted with */
    char address[64];                     /* peer's IP address, for logs */
};

/*
 * Decides whether a CURVE client key may connect.  Returns 1 and writes the
 * node code into 'code' to admit, 0 to refuse, -1 if it cannot tell now
 * (refused too).
 */
typedef int link_admit_fn(void *arg, const uint8_t key[32], char code[8]);

/* Returns 0 if libzmq supports CURVE, else -1 with the reason logged. */
int link_check_curve(void);

/*
 * Binds the ZAP handler socket in 'ctx'.  Call before link_router_new().
 * Returns the socket, or NULL (logged).
 */
void *link_zap_new(void *ctx);

/*
 * Answers one pending ZAP request on 'zap' with the decision of 'admit'.
 * Refusals are logged with the key's fingerprint and the peer's address,
 * one line per address and minute for unknown keys.
 */
void link_zap_handle(void *zap, link_admit_fn *admit, void *arg);

/*
 * The events of the ROUTER's connections (libzmq's socket monitor), for the
 * refusals libzmq makes by itself: a client without CURVE, a handshake
 * made with another server key, a message over LINK_MAX_MESSAGE (the
 * connection closed).  link_monitor_new() watches 'router' of 'ctx' and
 * returns the monitor, or NULL (logged); link_monitor_free(&m) closes it
 * and sets m to NULL (safe twice).  Poll link_monitor_socket() and call
 * link_monitor_handle(), which logs what ended each connection, held back
 * to one line per kind and address and minute.
 */
struct link_monitor;
struct link_monitor *link_monitor_new(void *ctx, void *router);
void link_monitor_free(struct link_monitor **m);
void *link_monitor_socket(const struct link_monitor *m);
void link_monitor_handle(struct link_monitor *m);

/*
 * The province's ROUTER: CURVE server with 'k', bound to 'endpoint', with
 * ZMTP heartbeats every 'heartbeat_ms'.  Returns the socket, or NULL (logged).
 */
void *link_router_new(void *ctx, const struct keys *k, const char *endpoint, int heartbeat_ms);

/*
 * A city's DEALER: CURVE client with 'k', trusting 'server_key' (Z85),
 * connecting to 'endpoint' with back-off.  A connection attempt that gets
 * no answer is given up after three heartbeats and made again, so that a
 * link healing after a long partition is used at once, not after the
 * kernel's SYN back-off (half a minute and more).  Returns the socket, or
 * NULL.
 */
void *link_dealer_new(void *ctx, const struct keys *k, const char *server_key, const char *endpoint,
                      int heartbeat_ms);

/* Fills the header of an outgoing envelope. */
void link_envelope_init(Fed__Envelope *env, const char *from, const char *to, uint64_t incarnation);

/*
 * Encodes and sends 'env' without blocking, to 'peer' on a ROUTER or to the
 * connected peer on a DEALER (peer NULL).  Returns 0, or -1 if it could not
 * be sent now (not logged: the caller knows whether that matters).
 */
int link_send(void *sock, const struct link_peer *peer, const Fed__Envelope *env);

/*
 * Sends the first messages of outbox batch 'b' of 'stream' as one Batch in
 * 'env' (header filled by the caller), as many as one envelope holds, to
 * 'peer' as link_send() does.  Returns how many it sent (at least one), or
 * -1 if it could not send now.
 */
int link_send_batch(void *sock, const struct link_peer *peer, Fed__Envelope *env, int stream,
                    const struct outbox_batch *b, uint64_t oldest);

/*
 * Receives one message without blocking.  On a ROUTER 'peer' gets the
 * sender.  Returns the decoded envelope (free with wire_free), or NULL if
 * nothing was waiting or the message was invalid (dropped, and logged once
 * per kind, sender and minute).
 */
Fed__Envelope *link_recv(void *sock, struct link_peer *peer);

#endif
