/* SPDX-License-Identifier: Apache-2.0 */
/*
 * link.c - the ZeroMQ plumbing of the federation, shared by both daemons.
 *
 * Runs in the link thread only.  Nothing here blocks: every send and receive
 * is ZMQ_DONTWAIT, and the owner polls.  A message that does not decode is
 * dropped with a log line naming the peer, never handed on.  What libzmq
 * refuses by itself (a client without CURVE, a handshake made with another
 * server key, a message over the maximum size) only shows in its socket
 * monitor's events, which link_monitor_handle() logs.  A peer can repeat
 * any of these at will: their lines are held back to one per kind and
 * minute (struct log_limit), in this thread's table.
 */
#include "link.h"

#include "clock.h"
#include "log.h"
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <zmq.h>

#define ZAP_ENDPOINT     "inproc://zeromq.zap.01"
#define MONITOR_ENDPOINT "inproc://link.monitor"

/* The lines of this thread a peer can repeat at will. */
static _Thread_local struct log_limit link_logs;

int link_check_curve(void)
{
    if (!zmq_has("curve")) {
        log_warnx("this libzmq lacks curve security; refusing to run without it");
        return -1;
    }
    return 0;
}

void *link_zap_new(void *ctx)
{
    void *zap = zmq_socket(ctx, ZMQ_REP);
    int linger = 0;

    if (zap == NULL || zmq_setsockopt(zap, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
        zmq_bind(zap, ZAP_ENDPOINT) != 0) {
        log_warnx("cannot bind the zap handler: %s", zmq_strerror(zmq_errno()));
        if (zap != NULL)
            zmq_close(zap);
        return NULL;
    }
    return zap;
}

/* Receives the frames of one ZAP request.  Returns their count, or -1 if
 * there were more than 'max' (all closed then). */
static int zap_recv(void *zap, zmq_msg_t *frames, int max)
{
    int n = 0, overflow = 0, more = 1;

    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, zap, 0) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        if (n < max) {
            zmq_msg_init(&frames[n]);
            zmq_msg_move(&frames[n++], &m);
        } else {
            overflow = 1;
        }
        zmq_msg_close(&m);
    }
    if (!overflow)
        return n;
    while (n > 0)
        zmq_msg_close(&frames[--n]);
    return -1;
}

static void zap_reply(void *zap, const void *request_id, size_t id_len, const char *status,
                      const char *text, const char *user_id)
{
    zmq_send(zap, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(zap, request_id, id_len, ZMQ_SNDMORE);
    zmq_send(zap, status, strlen(status), ZMQ_SNDMORE);
    zmq_send(zap, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(zap, user_id, strlen(user_id), ZMQ_SNDMORE);
    zmq_send(zap, "", 0, 0);
}

static void frame_text(zmq_msg_t *m, char *out, size_t cap)
{
    size_t len = zmq_msg_size(m);

    if (len >= cap)
        len = cap - 1;
    memcpy(out, zmq_msg_data(m), len);
    out[len] = '\0';
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] > 0x7e)
            out[i] = '?';
}

void link_zap_handle(void *zap, link_admit_fn *admit, void *arg)
{
    /* version, request id, domain, address, routing id, mechanism, key */
    zmq_msg_t f[7];
    char address[64] = "unknown", mechanism[16] = "", fp[CRYPTO_FINGERPRINT_LEN + 1] = "none";
    char code[8] = "";
    int admitted = 0;
    int n = zap_recv(zap, f, 7);

    if (n < 2) {
        /* Without a request id there is no one to answer but the REP state. */
        log_warnx("zap: malformed request");
        zap_reply(zap, "", 0, "500", "malformed request", "");
        for (int i = 0; i < n; i++)
            zmq_msg_close(&f[i]);
        return;
    }
    if (n == 7) {
        frame_text(&f[3], address, sizeof(address));
        frame_text(&f[5], mechanism, sizeof(mechanism));
        if (strcmp(mechanism, "CURVE") == 0 && zmq_msg_size(&f[6]) == 32) {
            const uint8_t *key = zmq_msg_data(&f[6]);
            crypto_fingerprint(key, fp);
            admitted = admit(arg, key, code);
        }
    }
    const void *rid = zmq_msg_data(&f[1]);
    size_t rid_len = zmq_msg_size(&f[1]);
    if (admitted == 1) {
        /* The User-Id of every message names the node and its key. */
        char user[8 + CRYPTO_FINGERPRINT_LEN + 1];
        snprintf(user, sizeof(user), "%s:%s", code, fp);
        log_debug("zap: admitted key '%s' of node '%s' from '%s'", fp, code, address);
        zap_reply(zap, rid, rid_len, "200", "OK", user);
    } else if (admitted < 0) {
        log_warnx("refused key '%s' from '%s': registry unavailable", fp, address);
        zap_reply(zap, rid, rid_len, "300", "registry unavailable", "");
    } else {
        /* One kind per address: a client trying key after key is one. */
        char kind[96];
        snprintf(kind, sizeof(kind), "unknown key|%s", address);
        log_limited(&link_logs, LOG_LEVEL_WARN, kind, "refused unknown key '%s' from '%s'", fp,
                    address);
        zap_reply(zap, rid, rid_len, "400", "unknown key", "");
    }
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
}

static int set_int(void *s, int option, int value)
{
    return zmq_setsockopt(s, option, &value, sizeof(value));
}

/* Options both ends share: heartbeats, no lingering, bounded message size. */
static int common_options(void *s, const struct keys *k, int heartbeat_ms)
{
    int64_t maxmsg = LINK_MAX_MESSAGE;

    return set_int(s, ZMQ_LINGER, 0) | set_int(s, ZMQ_HEARTBEAT_IVL, heartbeat_ms) |
           set_int(s, ZMQ_HEARTBEAT_TIMEOUT, 3 * heartbeat_ms) |
           set_int(s, ZMQ_HEARTBEAT_TTL, 3 * heartbeat_ms) |
           zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) |
           zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, k->secret_z85, CURVE_KEY_Z85_LEN) |
           zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, k->public_z85, CURVE_KEY_Z85_LEN);
}

void *link_router_new(void *ctx, const struct keys *k, const char *endpoint, int heartbeat_ms)
{
    void *s = zmq_socket(ctx, ZMQ_ROUTER);

    if (s == NULL)
        goto fail;
    if (common_options(s, k, heartbeat_ms) != 0 || set_int(s, ZMQ_CURVE_SERVER, 1) != 0 ||
        set_int(s, ZMQ_ROUTER_MANDATORY, 1) != 0 ||
        zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, LINK_ZAP_DOMAIN, strlen(LINK_ZAP_DOMAIN)) != 0)
        goto fail;
    if (zmq_bind(s, endpoint) != 0) {
        log_warnx("cannot bind '%s': %s", endpoint, zmq_strerror(zmq_errno()));
        zmq_close(s);
        return NULL;
    }
    return s;

fail:
    log_warnx("cannot set up the federation socket: %s", zmq_strerror(zmq_errno()));
    if (s != NULL)
        zmq_close(s);
    return NULL;
}

void *link_dealer_new(void *ctx, const struct keys *k, const char *server_key, const char *endpoint,
                      int heartbeat_ms)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);

    if (s == NULL)
        goto fail;
    if (common_options(s, k, heartbeat_ms) != 0 ||
        zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server_key, CURVE_KEY_Z85_LEN) != 0 ||
        set_int(s, ZMQ_IMMEDIATE, 1) != 0 || set_int(s, ZMQ_RECONNECT_IVL, 100) != 0 ||
        set_int(s, ZMQ_RECONNECT_IVL_MAX, 5000) != 0 ||
        set_int(s, ZMQ_CONNECT_TIMEOUT, 3 * heartbeat_ms) != 0 || zmq_connect(s, endpoint) != 0)
        goto fail;
    return s;

fail:
    log_warnx("cannot set up the uplink to '%s': %s", endpoint, zmq_strerror(zmq_errno()));
    if (s != NULL)
        zmq_close(s);
    return NULL;
}

void link_envelope_init(Fed__Envelope *env, const char *from, const char *to, uint64_t incarnation)
{
    fed__envelope__init(env);
    env->version = WIRE_VERSION;
    env->from = (char *)from;
    env->to = (char *)to;
    env->incarnation = incarnation;
    env->sent_at_us = clock_now_us();
}

int link_send(void *sock, const struct link_peer *peer, const Fed__Envelope *env)
{
    size_t len;
    uint8_t *buf = wire_encode(env, &len);
    int rc = -1;

    if (buf == NULL)
        return -1;
    if (peer != NULL &&
        zmq_send(sock, peer->routing_id, peer->routing_id_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        goto out;
    if (zmq_send(sock, buf, len, ZMQ_DONTWAIT) < 0)
        goto out;
    metrics_link_sent((int)env->payload_case);
    rc = 0;
out:
    free(buf);
    return rc;
}

int link_send_batch(void *sock, const struct link_peer *peer, Fed__Envelope *env, int stream,
                    const struct outbox_batch *b, uint64_t oldest)
{
    Fed__Batch batch = FED__BATCH__INIT;
    ProtobufCBinaryData items[OUTBOX_BATCH];
    size_t n = 0, bytes = 0;

    /* As many as fit in one envelope; at least one (writers keep items
     * within WIRE_MAX_ITEM; a receiver drops any that is not). */
    for (; n < b->n; n++) {
        items[n].data = (uint8_t *)outbox_item(b, n, &items[n].len);
        if (n > 0 && bytes + items[n].len + 16 > WIRE_MAX_SIZE - WIRE_MAX_HEADER)
            break;
        bytes += items[n].len + 16;
    }
    batch.n_items = n;
    batch.items = items;
    batch.oldest = oldest;
    env->stream = (uint32_t)stream;
    env->seq = b->first;
    env->payload_case = FED__ENVELOPE__PAYLOAD_BATCH;
    env->batch = &batch;
    int rc = link_send(sock, peer, env);
    env->batch = NULL;
    return rc < 0 ? -1 : (int)n;
}

/* Discards the remaining frames of a multipart message. */
static void drain(void *sock, zmq_msg_t *last)
{
    while (zmq_msg_more(last)) {
        zmq_msg_close(last);
        zmq_msg_init(last);
        if (zmq_msg_recv(last, sock, ZMQ_DONTWAIT) < 0)
            break;
    }
}

Fed__Envelope *link_recv(void *sock, struct link_peer *peer)
{
    zmq_msg_t msg;
    char err[128];
    Fed__Envelope *env = NULL;

    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0)
        goto out;
    if (peer != NULL) {
        size_t len = zmq_msg_size(&msg);
        if (len == 0 || len > LINK_MAX_ROUTING_ID || !zmq_msg_more(&msg)) {
            drain(sock, &msg);
            goto out;
        }
        memcpy(peer->routing_id, zmq_msg_data(&msg), len);
        peer->routing_id_len = len;
        zmq_msg_close(&msg);
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0)
            goto out;
        const char *uid = zmq_msg_gets(&msg, "User-Id");
        const char *addr = zmq_msg_gets(&msg, "Peer-Address");
        /* "code:fingerprint", as the ZAP handler admitted it. */
        const char *colon = uid != NULL ? strchr(uid, ':') : NULL;
        size_t code_len = colon != NULL ? (size_t)(colon - uid) : 0;
        snprintf(peer->user_id, sizeof(peer->user_id), "%.*s", code_len < 8 ? (int)code_len : 0,
                 uid != NULL ? uid : "");
        snprintf(peer->key, sizeof(peer->key), "%s", colon != NULL ? colon + 1 : "");
        snprintf(peer->address, sizeof(peer->address), "%s", addr != NULL ? addr : "unknown");
    }
    char who[96], kind[256];
    if (peer == NULL)
        snprintf(who, sizeof(who), "the province");
    else if (peer->user_id[0] != '\0')
        snprintf(who, sizeof(who), "node '%s' at '%s'", peer->user_id, peer->address);
    else
        snprintf(who, sizeof(who), "'%s'", peer->address);
    if (zmq_msg_more(&msg)) {
        snprintf(kind, sizeof(kind), "multipart|%s", who);
        log_limited(&link_logs, LOG_LEVEL_WARN, kind, "dropped a multipart message from %s", who);
        drain(sock, &msg);
        goto out;
    }
    env = wire_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), err, sizeof(err));
    if (env == NULL) {
        snprintf(kind, sizeof(kind), "%s|%s", err, who);
        log_limited(&link_logs, LOG_LEVEL_WARN, kind, "dropped a message from %s: %s", who, err);
    } else {
        metrics_link_received((int)env->payload_case);
    }
out:
    zmq_msg_close(&msg);
    return env;
}

/* Remembered connections: the peer's address by descriptor, taken when the
 * connection is accepted, for the lines of its end. */
#define MONITOR_CONNS 128

struct link_monitor {
    void *sock;
    struct {
        int fd; /* -1: free */
        char address[64];
    } conn[MONITOR_CONNS];
    size_t next;        /* the slot taken next when all are in use */
    const char *failed; /* why the handshake that just failed did; NULL if none */
};

/* The mark of a handshake the ZAP handler refused (and logged). */
static const char zap_refused[] = "refused by the zap handler";

/* What libzmq's protocol errors mean to an operator; others are "broken". */
static const struct {
    uint32_t error;
    const char *why;
} handshake_errors[] = {
    {ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH, "it does not speak curve"},
    {ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC,
     "its curve handshake does not decrypt (another server key?)"},
};

struct link_monitor *link_monitor_new(void *ctx, void *router)
{
    struct link_monitor *m = calloc(1, sizeof(*m));
    int hwm = 10000, linger = 0;

    if (m == NULL)
        return NULL;
    for (size_t i = 0; i < MONITOR_CONNS; i++)
        m->conn[i].fd = -1;
    if (zmq_socket_monitor(
            router, MONITOR_ENDPOINT,
            ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0 ||
        (m->sock = zmq_socket(ctx, ZMQ_PAIR)) == NULL ||
        zmq_setsockopt(m->sock, ZMQ_RCVHWM, &hwm, sizeof(hwm)) != 0 ||
        zmq_setsockopt(m->sock, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
        zmq_connect(m->sock, MONITOR_ENDPOINT) != 0)
        goto fail;
    return m;

fail:
    log_warnx("cannot watch the federation socket: %s", zmq_strerror(zmq_errno()));
    link_monitor_free(&m);
    return NULL;
}

void link_monitor_free(struct link_monitor **m)
{
    if (m == NULL || *m == NULL)
        return;
    if ((*m)->sock != NULL)
        zmq_close((*m)->sock);
    free(*m);
    *m = NULL;
}

void *link_monitor_socket(const struct link_monitor *m)
{
    return m->sock;
}

static void monitor_accepted(struct link_monitor *m, int fd)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof(sa);
    size_t i;

    for (i = 0; i < MONITOR_CONNS && m->conn[i].fd != -1; i++)
        ;
    if (i == MONITOR_CONNS)
        i = m->next++ % MONITOR_CONNS;
    m->conn[i].fd = fd;
    snprintf(m->conn[i].address, sizeof(m->conn[i].address), "unknown");
    if (getpeername(fd, (struct sockaddr *)&sa, &len) != 0)
        return;
    if (sa.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, m->conn[i].address,
                  sizeof(m->conn[i].address));
    else if (sa.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, m->conn[i].address,
                  sizeof(m->conn[i].address));
}

/* A connection ended: its handshake failed just before (libzmq reports
 * both at once), or it had been open.  One kind per reason, whatever the
 * address: the address is known only if the connection lived long enough
 * for its event to be read. */
static void monitor_disconnected(struct link_monitor *m, int fd)
{
    char address[64] = "unknown";

    for (size_t i = 0; i < MONITOR_CONNS; i++) {
        if (m->conn[i].fd == fd) {
            snprintf(address, sizeof(address), "%s", m->conn[i].address);
            m->conn[i].fd = -1;
            break;
        }
    }
    if (m->failed == NULL)
        log_limited(&link_logs, LOG_LEVEL_INFO, "closed",
                    "connection from '%s' closed: by the peer, by the network or for a message"
                    " over %d bytes",
                    address, LINK_MAX_MESSAGE);
    else if (m->failed != zap_refused) /* that one the ZAP handler logged */
        log_limited(&link_logs, LOG_LEVEL_WARN, m->failed, "refused a connection from '%s': %s",
                    address, m->failed);
    m->failed = NULL;
}

static void monitor_event(struct link_monitor *m, uint16_t event, uint32_t value)
{
    switch (event) {
    case ZMQ_EVENT_ACCEPTED:
        monitor_accepted(m, (int)value);
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        m->failed = "a broken handshake";
        for (size_t i = 0; i < sizeof(handshake_errors) / sizeof(handshake_errors[0]); i++)
            if (handshake_errors[i].error == value)
                m->failed = handshake_errors[i].why;
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        m->failed = "it broke off its handshake";
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        m->failed = zap_refused;
        break;
    case ZMQ_EVENT_DISCONNECTED:
        monitor_disconnected(m, (int)value);
        break;
    }
}

void link_monitor_handle(struct link_monitor *m)
{
    for (;;) {
        zmq_msg_t head, addr;
        zmq_msg_init(&head);
        zmq_msg_init(&addr);
        int got = zmq_msg_recv(&head, m->sock, ZMQ_DONTWAIT) >= 0;
        /* An event is two frames: its number and value, then an endpoint. */
        if (got && zmq_msg_more(&head))
            zmq_msg_recv(&addr, m->sock, 0);
        if (got && zmq_msg_size(&head) == 6) {
            const uint8_t *d = zmq_msg_data(&head);
            uint16_t event;
            uint32_t value;
            memcpy(&event, d, sizeof(event));
            memcpy(&value, d + 2, sizeof(value));
            monitor_event(m, event, value);
        }
        zmq_msg_close(&head);
        zmq_msg_close(&addr);
        if (!got)
            return;
    }
}
