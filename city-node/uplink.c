/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uplink.c - the city's end of the federation.
 *
 * Runs in the city's link thread, which owns the DEALER to the province and
 * a monitor of it.  libzmq connects and reconnects by itself; on top of that
 * this file keeps a session: Hello until the province answers Welcome, then
 * heartbeats both ways, and back to Hello when three are missed or the
 * province asks for it.  Each heartbeat carries the city's load figures,
 * computed on the link thread's own connection.  libzmq gives up on a
 * connection whose handshake failed, so when the province refuses our key
 * the socket is made anew after a pause: an administrator may register the
 * key meanwhile.  Refusals are logged at most once a minute, and the city
 * keeps serving its own hotline whatever the state of the link.  When the
 * node switches to new keys (SIGHUP, keyring.h) the main thread says so on
 * the control socket: the session ends and a new socket greets the
 * province with the new CURVE pair and signing key.
 */
#include "uplink.h"

#include "clock.h"
#include "deliver.h"
#include "inbox.h"
#include "link.h"
#include "loaddb.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "stream.h"
#include "transferdb.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#define MISSED_BEATS 3
/* After a refusal, wait this many heartbeat intervals before the next Hello. */
#define REFUSED_BACKOFF       10
#define COMPLAINT_INTERVAL_MS 60000

struct uplink {
    struct node *node;
    void *dealer;
    void *monitor;
    int connected;
    int64_t last_seen_ms;
    int64_t hello_after_ms;
    int64_t reopen_after_ms;
    int64_t complained_ms;
    unsigned generation; /* names each socket's monitor endpoint */
    int load_failed;     /* the last heartbeat's figures could not be computed */
    struct db *db;       /* the link thread's own connection: outbox, load */
    struct db_listener outbox;
    struct stream_sender tickets; /* every ticket change, to the master dataset */
    char province[8];
    int streaming; /* 'tickets' started in this session */
};

static int64_t backoff_ms(const struct uplink *up)
{
    return (int64_t)REFUSED_BACKOFF * up->node->cfg.heartbeat_interval_ms;
}

static void send_envelope(struct uplink *up, Fed__Envelope *env)
{
    if (link_send(up->dealer, NULL, env) < 0)
        log_debug("cannot send %s now: %s", wire_payload_name(env->payload_case),
                  zmq_strerror(zmq_errno()));
}

static void envelope_init(struct uplink *up, Fed__Envelope *env)
{
    link_envelope_init(env, up->node->cfg.node_code, up->province, up->node->incarnation);
}

/* Greets the province with how far the city's database has come on both
 * streams, when its database can tell: the province refuses a city that
 * lost what it holds (a restored backup). */
static void send_hello(struct uplink *up)
{
    Fed__Envelope env;
    Fed__Hello h = FED__HELLO__INIT;
    Fed__Streams streams = FED__STREAMS__INIT;

    envelope_init(up, &env);
    h.code = up->node->cfg.node_code;
    h.name = up->node->cfg.node_name;
    h.software = "city-node " HOTLINE_VERSION;
    h.incarnation = up->node->incarnation;
    h.sign_key = (char *)keyring_sign(&up->node->keys)->public_text;
    uint64_t acked;
    int known = outbox_acked(up->db, STREAM_TICKETS, OUTBOX_UPLINK, &acked,
                             &streams.tickets_numbered) == 0 &&
                inbox_applied(up->db, up->province, STREAM_DOWN, &streams.down_applied) == 0;
    if (known)
        h.streams = &streams;
    env.payload_case = FED__ENVELOPE__PAYLOAD_HELLO;
    env.hello = &h;
    send_envelope(up, &env);
}

/* Sends a heartbeat with the load figures of now: zeros, logged once per
 * outage, while the database cannot give them. */
static void send_heartbeat(struct uplink *up)
{
    Fed__Envelope env;
    Fed__Heartbeat hb = FED__HEARTBEAT__INIT;
    Fed__Load load = FED__LOAD__INIT;
    struct load_figures f;

    if (loaddb_figures(up->db, clock_now_us(), &f) == 0) {
        if (up->load_failed)
            log_info("load figures available again");
        up->load_failed = 0;
        load.agents_online = f.agents_online;
        load.agents_busy = f.agents_busy;
        load.queue_depth = f.queue_depth;
        load.oldest_wait_seconds = f.oldest_wait_seconds;
    } else if (!up->load_failed) {
        up->load_failed = 1;
        log_warnx("cannot compute the load figures; heartbeats carry zeros meanwhile");
    }
    envelope_init(up, &env);
    hb.load = &load;
    env.payload_case = FED__ENVELOPE__PAYLOAD_HEARTBEAT;
    env.heartbeat = &hb;
    send_envelope(up, &env);
}

/* Puts a batch of the outbox on the wire (stream_send_fn). */
static int send_batch(void *arg, int stream, const struct outbox_batch *b, uint64_t oldest)
{
    struct uplink *up = arg;
    Fed__Envelope env;

    envelope_init(up, &env);
    int n = link_send_batch(up->dealer, NULL, &env, stream, b, oldest);
    if (n < 0 && zmq_errno() != EAGAIN)
        log_warnx("cannot send a batch of %zu changes: %s", b->n, zmq_strerror(zmq_errno()));
    return n;
}

/*
 * Sends what the window allows, when there is a session and a database.
 * The first pump of a session starts the stream: everything not yet
 * acknowledged goes again, whenever the database let us read that.
 */
static void pump(struct uplink *up)
{
    if (!up->connected || up->outbox.fd < 0)
        return;
    if (!up->streaming) {
        if (stream_start(&up->tickets, up->db, STREAM_TICKETS, OUTBOX_UPLINK, clock_mono_ms(),
                         (int64_t)MISSED_BEATS * up->node->cfg.heartbeat_interval_ms) < 0)
            return;
        up->streaming = 1;
    }
    if (stream_pump(&up->tickets, up->db, send_batch, up, clock_mono_ms()) < 0)
        log_warnx("cannot read the outbox now");
    /* After what was queued is on its way, not before it: the progress
     * answers of transferred tickets, queued now, go in a pump of their
     * own. */
    int queued = transferdb_progress_flush(up->node, up->db);
    if (queued < 0)
        log_warnx("cannot queue the progress of transferred tickets now");
    else if (queued > 0 && stream_pump(&up->tickets, up->db, send_batch, up, clock_mono_ms()) < 0)
        log_warnx("cannot read the outbox now");
}

/* Publishes the stream's figures for /metrics and the API. */
static void report(struct uplink *up)
{
    struct outbox_figures f;

    if (up->outbox.fd >= 0 &&
        outbox_figures(up->db, STREAM_TICKETS, OUTBOX_UPLINK, clock_now_us(), &f) == 0)
        metrics_set_stream(f.queued, up->connected ? stream_in_flight(&up->tickets) : 0, f.acked,
                           f.lag);
}

static void set_connected(struct uplink *up, int connected, const char *why)
{
    if (up->connected == connected)
        return;
    up->connected = connected;
    up->streaming = 0; /* a new session starts the stream again */
    metrics_set_link_up(connected, connected ? clock_now_us() : 0);
    if (connected)
        log_info("connected to the province");
    else
        log_warnx("disconnected from the province: %s", why);
}

/* Logs a refusal, once a minute at most: a misconfigured city retries forever. */
static void complain(struct uplink *up, const char *what)
{
    int64_t now = clock_mono_ms();

    if (up->complained_ms != 0 && now - up->complained_ms < COMPLAINT_INTERVAL_MS)
        return;
    up->complained_ms = now;
    log_warnx("province refused %s", what);
}

static void send_ack(struct uplink *up, uint32_t stream, uint64_t seq, int resend)
{
    Fed__Envelope env;
    Fed__Ack ack = FED__ACK__INIT;

    envelope_init(up, &env);
    ack.stream = stream;
    ack.seq = seq;
    ack.resend = resend;
    env.stream = stream;
    env.payload_case = FED__ENVELOPE__PAYLOAD_ACK_MSG;
    env.ack_msg = &ack;
    send_envelope(up, &env);
}

/*
 * Applies what the province sent (inbox_apply_fn) and, in the same
 * transaction, numbers what that queued for the province: an acceptance
 * then waits for the disk once, with the offer, not again to be numbered.
 * This thread alone numbers the stream, so it may do so in any of its
 * transactions.
 */
static int apply_down(void *arg, struct db *db, const char *peer, uint64_t first,
                      const char *const *items, const size_t *lens, size_t n)
{
    struct uplink *up = arg;
    const char *const uplink[] = {OUTBOX_UPLINK};

    if (deliver_apply(up->node, db, peer, first, items, lens, n) < 0)
        return -1;
    return up->streaming ? outbox_number(db, STREAM_TICKETS, uplink, 1) : 0;
}

/* What the province sends this city: applied once, in order, then acknowledged. */
static void on_batch(struct uplink *up, const Fed__Envelope *env)
{
    const Fed__Batch *b = env->batch;
    const char *items[WIRE_MAX_BATCH];
    size_t lens[WIRE_MAX_BATCH];
    uint64_t applied;

    if (env->stream != STREAM_DOWN || !up->connected || up->outbox.fd < 0)
        return;
    for (size_t i = 0; i < b->n_items; i++) {
        items[i] = (const char *)b->items[i].data;
        lens[i] = b->items[i].len;
    }
    switch (inbox_apply(up->db, up->province, STREAM_DOWN, env->seq, b->oldest, items, lens,
                        b->n_items, apply_down, up, &applied)) {
    case INBOX_APPLIED:
        send_ack(up, STREAM_DOWN, applied, 0);
        break;
    case INBOX_GAP:
        send_ack(up, STREAM_DOWN, applied, 1);
        break;
    case INBOX_FAILED:
        log_warnx("cannot apply what the province sent now; it will be sent again");
        break;
    }
}

static void on_message(struct uplink *up)
{
    Fed__Envelope *env = link_recv(up->dealer, NULL);
    char what[WIRE_MAX_MESSAGE + 80];

    if (env == NULL)
        return;
    up->last_seen_ms = clock_mono_ms();
    switch (env->payload_case) {
    case FED__ENVELOPE__PAYLOAD_WELCOME:
        /* The province is authenticated by its CURVE key: its signing key is its word. */
        if (up->outbox.fd < 0 ||
            transferdb_pin_key(up->db, up->province, env->welcome->sign_key, 1, clock_now_us()) < 0)
            break;
        up->complained_ms = 0;
        set_connected(up, 1, NULL);
        pump(up);
        break;
    case FED__ENVELOPE__PAYLOAD_ACK_MSG:
        if (up->streaming && env->ack_msg->stream == STREAM_TICKETS && up->outbox.fd >= 0 &&
            stream_ack(&up->tickets, up->db, env->ack_msg->seq, env->ack_msg->resend,
                       clock_mono_ms()) == 0)
            pump(up);
        break;
    case FED__ENVELOPE__PAYLOAD_BATCH:
        on_batch(up, env);
        break;
    case FED__ENVELOPE__PAYLOAD_HEARTBEAT:
        if (up->connected)
            metrics_set_link_up(1, clock_now_us());
        break;
    case FED__ENVELOPE__PAYLOAD_REFUSE:
        set_connected(up, 0, "refused");
        if (strcmp(env->refuse->reason, "hello_required") == 0) {
            up->hello_after_ms = 0;
            break;
        }
        snprintf(what, sizeof(what), "the session: '%s' (%s)", env->refuse->reason,
                 env->refuse->message);
        complain(up, what);
        up->hello_after_ms = clock_mono_ms() + backoff_ms(up);
        break;
    default:
        log_debug("ignored %s from the province", wire_payload_name(env->payload_case));
        break;
    }
    wire_free(env);
}

static void uplink_close(struct uplink *up)
{
    if (up->dealer != NULL) {
        zmq_socket_monitor(up->dealer, NULL, 0);
        zmq_close(up->dealer);
        up->dealer = NULL;
    }
    if (up->monitor != NULL) {
        zmq_close(up->monitor);
        up->monitor = NULL;
    }
}

/* Makes the DEALER and its monitor.  Returns 0, or -1 (logged). */
static int uplink_open(struct uplink *up)
{
    const struct config *cfg = &up->node->cfg;
    char endpoint[64];

    snprintf(endpoint, sizeof(endpoint), "inproc://uplink-monitor-%u", up->generation++);
    up->dealer =
        link_dealer_new(up->node->zmq, keyring_curve(&up->node->keys), cfg->province_public_key,
                        cfg->province_endpoint, cfg->heartbeat_interval_ms);
    if (up->dealer == NULL)
        return -1;
    if (zmq_socket_monitor(up->dealer, endpoint,
                           ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0 ||
        (up->monitor = zmq_socket(up->node->zmq, ZMQ_PAIR)) == NULL ||
        zmq_connect(up->monitor, endpoint) != 0) {
        log_warnx("cannot monitor the uplink: %s", zmq_strerror(zmq_errno()));
        uplink_close(up);
        return -1;
    }
    return 0;
}

/* Reads one socket event: a failed handshake means the province refused our
 * key; a connection made is greeted at once, not at the next tick (a hello
 * sent before it is dropped). */
static void on_monitor(struct uplink *up)
{
    zmq_msg_t head, addr;
    uint16_t event = 0;

    zmq_msg_init(&head);
    zmq_msg_init(&addr);
    if (zmq_msg_recv(&head, up->monitor, ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&head) &&
        zmq_msg_recv(&addr, up->monitor, ZMQ_DONTWAIT) >= 0 && zmq_msg_size(&head) >= 2)
        memcpy(&event, zmq_msg_data(&head), sizeof(event));
    zmq_msg_close(&head);
    zmq_msg_close(&addr);

    if (event & (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                 ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)) {
        complain(up, "our key (curve handshake failed); is this node registered there?");
        set_connected(up, 0, "our key was refused");
        uplink_close(up);
        up->reopen_after_ms = clock_mono_ms() + backoff_ms(up);
    } else if (event & ZMQ_EVENT_DISCONNECTED) {
        set_connected(up, 0, "connection lost");
    } else if ((event & ZMQ_EVENT_HANDSHAKE_SUCCEEDED) && !up->connected &&
               clock_mono_ms() >= up->hello_after_ms) {
        send_hello(up);
    }
}

/* The node switched to new keys: a new socket with them, greeted at once. */
static void rekey(struct uplink *up)
{
    set_connected(up, 0, "switching to the new keys");
    uplink_close(up);
    up->complained_ms = 0;
    up->hello_after_ms = 0;
    up->reopen_after_ms = 0;
    if (uplink_open(up) < 0)
        up->reopen_after_ms = clock_mono_ms() + backoff_ms(up);
}

static void on_tick(struct uplink *up)
{
    int64_t now = clock_mono_ms();
    int64_t limit = (int64_t)MISSED_BEATS * up->node->cfg.heartbeat_interval_ms;

    if (up->dealer == NULL) {
        if (now < up->reopen_after_ms || uplink_open(up) < 0)
            return;
        up->hello_after_ms = 0;
    }
    if (up->connected && now - up->last_seen_ms > limit)
        set_connected(up, 0, "no heartbeat");
    if (up->connected) {
        send_heartbeat(up);
        stream_check(&up->tickets, now);
        pump(up);
    } else if (now >= up->hello_after_ms) {
        send_hello(up);
    }
    report(up);
}

int uplink_run(struct node *node, void *control)
{
    struct uplink up = {.node = node};
    int rc = -1;

    /* The province's code is not configured: it is the province of our code. */
    snprintf(up.province, sizeof(up.province), "%.2s0000", node->cfg.node_code);
    up.db = db_open(node->cfg.database);
    if (up.db == NULL || uplink_open(&up) < 0)
        goto out;
    up.outbox = (struct db_listener){.db = up.db, .channel = "outbox", .fd = -1};
    metrics_set_link_up(0, 0);
    log_info("uplink to '%s'", node->cfg.province_endpoint);

    int64_t next_tick = clock_mono_ms();
    int notified = 0; /* the last pump's statements took in notifications */
    for (;;) {
        /* Poll what exists now: the database and the uplink may be away. */
        zmq_pollitem_t items[4];
        int n = 0, on_db = -1, on_monitor_at = -1, on_dealer = -1;
        int fd = db_listener_fd(&up.outbox);
        items[n++] = (zmq_pollitem_t){control, 0, ZMQ_POLLIN, 0};
        if (fd >= 0) {
            on_db = n;
            items[n++] = (zmq_pollitem_t){NULL, fd, ZMQ_POLLIN, 0};
        }
        if (up.dealer != NULL) {
            on_monitor_at = n;
            items[n++] = (zmq_pollitem_t){up.monitor, 0, ZMQ_POLLIN, 0};
            on_dealer = n;
            items[n++] = (zmq_pollitem_t){up.dealer, 0, ZMQ_POLLIN, 0};
        }
        int64_t wait = notified ? 0 : next_tick - clock_mono_ms();
        if (zmq_poll(items, n, wait > 0 ? (long)wait : 0) < 0 && zmq_errno() != EINTR) {
            log_warnx("link poll failed: %s", zmq_strerror(zmq_errno()));
            goto out;
        }
        if ((items[0].revents & ZMQ_POLLIN) && node_control_read(control) == NODE_STOP)
            break;
        if (items[0].revents & ZMQ_POLLIN) {
            rekey(&up);
            continue;
        }
        if (on_dealer >= 0 && (items[on_dealer].revents & ZMQ_POLLIN))
            on_message(&up);
        /* After the message: a failed handshake may close the sockets. */
        if (on_monitor_at >= 0 && up.monitor != NULL && (items[on_monitor_at].revents & ZMQ_POLLIN))
            on_monitor(&up);
        if (clock_mono_ms() >= next_tick) {
            on_tick(&up);
            next_tick = clock_mono_ms() + node->cfg.heartbeat_interval_ms;
        }
        /* Last, whether or not the socket woke us: libpq reads the
         * notifications that arrive while this thread runs a statement,
         * and the NOTIFY of its own transaction (an acceptance, queued
         * applying the province's batch) comes back with the COMMIT; the
         * socket then stays quiet about them.  Sent now, not at the next
         * heartbeat.  The pump's own statements may take in the
         * notification of a change committed meanwhile (by an HTTP
         * worker): the next round then does not wait for the socket. */
        notified = on_db >= 0 && (notified || db_notifications(up.db) > 0);
        if (notified) {
            pump(&up);
            notified = db_notifications(up.db) > 0;
        }
    }
    rc = 0;
out:
    uplink_close(&up);
    db_free(up.db);
    metrics_set_link_up(0, 0);
    return rc;
}
