/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hub.c - the province's end of the federation.
 *
 * Runs in the province's link thread, which owns the ZAP handler, the
 * ROUTER every city connects to, and a database connection of its own.
 * CURVE with the ZAP handler decides who may open a connection (a node's
 * registered key, and during a key rotation's grace period the key it
 * replaced, whose session ends at the first heartbeat after the grace
 * period); this file decides what an admitted connection may say.  Every message must come
 * from the node its key is registered for (the User-Id the ZAP handler
 * gave it); a session starts with a Hello naming that same node and lives as
 * long as heartbeats arrive.  Session state is written to the registry so
 * the API and psql show it.  If the database goes away, new keys are
 * refused and state updates are retried with the next heartbeat.  The
 * nodes' ticket streams are checked here and applied to the master dataset
 * by a thread of their own (applier.c), acknowledged when it is done.
 */
#include "hub.h"

#include "applier.h"
#include "clock.h"
#include "link.h"
#include "log.h"
#include "metrics.h"
#include "master.h"
#include "outbox.h"
#include "registry.h"
#include "stream.h"
#include "transferdb.h"

#include <errno.h>
#include <string.h>
#include <zmq.h>

#define MAX_PEERS    64
#define MISSED_BEATS 3
/* Batches of a node checked and waiting for the master dataset's thread:
 * more than a node's window (stream.h) holds, so that only a node sending
 * past it loses any; and how many of them may be in that thread's queue
 * at once, so that a node catching up does not keep the others waiting. */
#define PEER_WAITING  16
#define PEER_APPLYING 1
/* The batches of a node waiting in a row are handed over as one, to be
 * applied in one transaction, up to this many messages: fewer commits,
 * and a ticket that changed in several of them written once.  Half a
 * node's window (stream.h), so the node goes on sending meanwhile. */
#define APPLY_JOINED 1000

struct peer {
    char code[8];
    struct link_peer addr;
    int64_t last_seen_ms;
    struct stream_sender down;                  /* the node's STREAM_DOWN */
    int streaming;                              /* 'down' started in this session */
    struct master_batch *waiting[PEER_WAITING]; /* a ring, oldest at 'oldest' */
    size_t oldest, nwaiting;
    int applying; /* batches in the applier's queue */
};

struct hub {
    struct node *node;
    struct db *db;
    struct applier *applier; /* the master dataset's thread */
    void *router;
    struct link_monitor *monitor; /* the ROUTER's connections */
    struct log_limit logs;        /* the lines a node can repeat at will */
    struct peer peers[MAX_PEERS];
    size_t npeers;
    size_t turn; /* the peer whose batch goes to the applier next */
    int fresh;   /* the registry's live state has been reset in this run */
};

typedef void hub_handler(struct hub *hub, const struct link_peer *from, const Fed__Envelope *env);

/*
 * Is the database here, with the registry's live state that of this run
 * (every node shown disconnected until it says hello)?  The reset is done
 * the first time the database is reached: the province may start while it
 * is away, and no hello is answered before.
 */
static int registry_fresh(struct hub *hub)
{
    if (!db_alive(hub->db))
        return 0;
    if (!hub->fresh && registry_reset(hub->db) == 0)
        hub->fresh = 1;
    return hub->fresh;
}

static int admit(void *arg, const uint8_t key[32], char code[8])
{
    struct hub *hub = arg;

    if (!db_alive(hub->db))
        return -1;
    return registry_admit(hub->db, key, code);
}

static struct peer *peer_find(struct hub *hub, const char *code)
{
    for (size_t i = 0; i < hub->npeers; i++)
        if (strcmp(hub->peers[i].code, code) == 0)
            return &hub->peers[i];
    return NULL;
}

static void send_to(struct hub *hub, const struct link_peer *to, const char *code,
                    Fed__Envelope *env)
{
    if (link_send(hub->router, to, env) < 0)
        log_debug("cannot send %s to '%s': %s", wire_payload_name(env->payload_case), code,
                  zmq_strerror(zmq_errno()));
}

static void refuse(struct hub *hub, const struct link_peer *to, const char *code,
                   const char *reason, const char *message)
{
    Fed__Envelope env;
    Fed__Refuse r = FED__REFUSE__INIT;

    link_envelope_init(&env, hub->node->cfg.node_code, code, hub->node->incarnation);
    r.reason = (char *)reason;
    r.message = (char *)message;
    env.payload_case = FED__ENVELOPE__PAYLOAD_REFUSE;
    env.refuse = &r;
    send_to(hub, to, code, &env);
}

/* Frees the batches of p that the applier's thread has not been given. */
static void peer_forget_waiting(struct peer *p)
{
    for (; p->nwaiting > 0; p->nwaiting--, p->oldest = (p->oldest + 1) % PEER_WAITING)
        master_batch_free(p->waiting[p->oldest]);
}

static void peer_drop(struct hub *hub, struct peer *p, const char *why)
{
    peer_forget_waiting(p);
    log_info("node '%s' disconnected: %s", p->code, why);
    registry_session(hub->db, p->code, 0, 0);
    *p = hub->peers[--hub->npeers];
    metrics_set_nodes_connected((int)hub->npeers);
}

/*
 * Has node 'code' lost what the province holds of it: numbered fewer
 * messages of its ticket stream than were applied here, or applied fewer
 * of its STREAM_DOWN than it acknowledged?  Only a database restored from
 * an older backup goes back so; its next changes would bear numbers
 * applied already, and be skipped as seen.  Returns 1 (logged), or 0, also
 * when the node or the database here cannot tell.
 */
static int restored_behind(struct hub *hub, const char *code, const Fed__Streams *s)
{
    uint64_t applied, acked;

    if (s == NULL || inbox_applied(hub->db, code, STREAM_TICKETS, &applied) < 0 ||
        outbox_acked(hub->db, STREAM_DOWN, code, &acked, NULL) < 0)
        return 0;
    if (s->tickets_numbered >= applied && s->down_applied >= acked)
        return 0;
    char kind[48];
    snprintf(kind, sizeof(kind), "restored|%s", code);
    log_limited(&hub->logs, LOG_LEVEL_WARN, kind,
                "refused hello from '%s': its database was restored from a backup; it numbered"
                " %llu messages of its ticket stream, %llu were applied here; it applied %llu of"
                " ours, %llu were acknowledged; run 'province-node node-export %s FILE' here and"
                " 'city-node recover FILE' there",
                code, (unsigned long long)s->tickets_numbered, (unsigned long long)applied,
                (unsigned long long)s->down_applied, (unsigned long long)acked, code);
    return 1;
}

static void on_hello(struct hub *hub, const struct link_peer *from, const Fed__Envelope *env)
{
    const Fed__Hello *h = env->hello;
    struct peer *p = peer_find(hub, from->user_id);

    if (strcmp(h->code, from->user_id) != 0) {
        log_warnx("refused hello from key of '%s' claiming '%s' from '%s'", from->user_id, h->code,
                  from->address);
        refuse(hub, from, from->user_id, "code_mismatch",
               "the hello names another node than the key is registered for");
        return;
    }
    /* A node refused says hello again at every heartbeat: a line a minute. */
    char kind[48];
    if (!registry_fresh(hub)) {
        snprintf(kind, sizeof(kind), "hello unanswered|%s", h->code);
        log_limited(&hub->logs, LOG_LEVEL_WARN, kind,
                    "hello from '%s' unanswered: the database is away", h->code);
        return;
    }
    if (registry_live(hub->db, h->code, from->key) != 1) {
        snprintf(kind, sizeof(kind), "not registered|%s", h->code);
        log_limited(&hub->logs, LOG_LEVEL_WARN, kind,
                    "refused hello from '%s': not registered any more", h->code);
        refuse(hub, from, h->code, "not_registered", "the node is not registered");
        return;
    }
    /* The first signing key a node shows is its key until it is registered again. */
    if (transferdb_pin_key(hub->db, h->code, h->sign_key, 0, clock_now_us()) != 1) {
        snprintf(kind, sizeof(kind), "sign key|%s", h->code);
        log_limited(&hub->logs, LOG_LEVEL_WARN, kind,
                    "refused hello from '%s': another signing key than the one pinned", h->code);
        refuse(hub, from, h->code, "sign_key_changed",
               "the node signs with another key than before; register it again");
        return;
    }
    if (restored_behind(hub, h->code, h->streams)) {
        refuse(hub, from, h->code, "restored_behind",
               "this node's database was restored from a backup older than what the province"
               " holds of it; stop it and recover it (node-export here, recover there)");
        if (p != NULL)
            peer_drop(hub, p, "restored from a backup, not recovered");
        return;
    }
    int again = p != NULL && p->addr.routing_id_len == from->routing_id_len &&
                memcmp(p->addr.routing_id, from->routing_id, from->routing_id_len) == 0 &&
                strcmp(p->addr.key, from->key) == 0;
    if (p == NULL) {
        if (hub->npeers == MAX_PEERS) {
            log_warnx("refused node '%s': too many sessions", h->code);
            refuse(hub, from, h->code, "busy", "too many sessions");
            return;
        }
        p = &hub->peers[hub->npeers++];
        *p = (struct peer){0};
        snprintf(p->code, sizeof(p->code), "%s", h->code);
    }
    p->addr = *from;
    p->last_seen_ms = clock_mono_ms();
    p->streaming = 0; /* a new session sends again what was not acknowledged */
    registry_session(hub->db, p->code, 1, h->incarnation);
    metrics_set_nodes_connected((int)hub->npeers);
    /* A node may say hello again on its connection as often as it likes:
     * the line, once a minute; a new connection is always logged. */
    snprintf(kind, sizeof(kind), "connected|%s", p->code);
    if (!again)
        log_info("node '%s' connected from '%s' (%s)", p->code, from->address, h->software);
    else
        log_limited(&hub->logs, LOG_LEVEL_INFO, kind, "node '%s' connected from '%s' (%s)", p->code,
                    from->address, h->software);

    Fed__Envelope reply;
    Fed__Welcome w = FED__WELCOME__INIT;
    link_envelope_init(&reply, hub->node->cfg.node_code, p->code, hub->node->incarnation);
    w.code = hub->node->cfg.node_code;
    w.name = hub->node->cfg.node_name;
    w.server_time_us = clock_now_us();
    w.incarnation = hub->node->incarnation;
    w.sign_key = (char *)keyring_sign(&hub->node->keys)->public_text;
    reply.payload_case = FED__ENVELOPE__PAYLOAD_WELCOME;
    reply.welcome = &w;
    send_to(hub, from, p->code, &reply);
}

static void on_heartbeat(struct hub *hub, const struct link_peer *from, const Fed__Envelope *env)
{
    struct peer *p = peer_find(hub, from->user_id);

    p->addr = *from;
    p->last_seen_ms = clock_mono_ms();
    registry_heartbeat(hub->db, p->code, env->heartbeat->load);
}

static void send_ack(struct hub *hub, const struct link_peer *to, const char *code, uint32_t stream,
                     uint64_t seq, int resend)
{
    Fed__Envelope env;
    Fed__Ack ack = FED__ACK__INIT;

    link_envelope_init(&env, hub->node->cfg.node_code, code, hub->node->incarnation);
    ack.stream = stream;
    ack.seq = seq;
    ack.resend = resend;
    env.stream = stream;
    env.payload_case = FED__ENVELOPE__PAYLOAD_ACK_MSG;
    env.ack_msg = &ack;
    send_to(hub, to, code, &env);
}

/* Hands the applier's thread what it has room for, a batch of each node in
 * turn (those of a node waiting in a row joined), so that a small change
 * of one node does not wait behind another node's whole catch-up. */
static void feed(struct hub *hub)
{
    for (size_t idle = 0; idle < hub->npeers && applier_has_room(hub->applier);) {
        struct peer *p = &hub->peers[hub->turn++ % hub->npeers];
        if (p->nwaiting == 0 || p->applying >= PEER_APPLYING) {
            idle++;
            continue;
        }
        idle = 0;
        struct master_batch *b = p->waiting[p->oldest];
        p->oldest = (p->oldest + 1) % PEER_WAITING;
        p->nwaiting--;
        while (p->nwaiting > 0 && master_batch_join(b, p->waiting[p->oldest], APPLY_JOINED) == 0) {
            master_batch_free(p->waiting[p->oldest]);
            p->oldest = (p->oldest + 1) % PEER_WAITING;
            p->nwaiting--;
        }
        if (applier_submit(hub->applier, &p->addr, b) < 0)
            break;
        p->applying++;
    }
}

/* A city's ticket changes, for the master dataset (Art 19): checked here,
 * applied by the applier's thread, acknowledged when it is done. */
static void on_batch(struct hub *hub, const struct link_peer *from, const Fed__Envelope *env)
{
    struct peer *p = peer_find(hub, from->user_id);
    const Fed__Batch *b = env->batch;
    const char *items[WIRE_MAX_BATCH];
    size_t lens[WIRE_MAX_BATCH];

    if (p->nwaiting == PEER_WAITING) {
        log_debug("'%s' sends past its window; a batch is dropped", p->code);
        return;
    }
    for (size_t i = 0; i < b->n_items; i++) {
        items[i] = (const char *)b->items[i].data;
        lens[i] = b->items[i].len;
    }
    struct master_batch *batch =
        master_prepare(from->user_id, env->seq, b->oldest, items, lens, b->n_items);
    if (batch == NULL) {
        log_warnx("cannot take a batch of '%s' now (out of memory)", p->code);
        return;
    }
    p->waiting[(p->oldest + p->nwaiting++) % PEER_WAITING] = batch;
    feed(hub);
}

/* A batch applied, or not: acknowledged to the node's session of now. */
static void on_applied(struct hub *hub, const struct applied *r)
{
    const char *code = r->from.user_id;
    struct peer *p = peer_find(hub, code);

    if (p == NULL)
        return;
    if (p->applying > 0)
        p->applying--;
    feed(hub);
    switch (r->result) {
    case INBOX_APPLIED:
        send_ack(hub, &p->addr, code, STREAM_TICKETS, r->seq, 0);
        break;
    case INBOX_GAP:
        send_ack(hub, &p->addr, code, STREAM_TICKETS, r->seq, 1);
        break;
    case INBOX_FAILED:
        log_warnx("cannot apply the ticket stream of '%s' now; it will be sent again", code);
        break;
    }
}

/* The province's own hotline feeds the master dataset through its own
 * outbox, applied here as any node's stream is. */
static void apply_own(struct hub *hub)
{
    const char *code = hub->node->cfg.node_code;
    const char *items[OUTBOX_BATCH];
    size_t lens[OUTBOX_BATCH];
    uint64_t acked, applied;
    struct outbox_batch b;

    if (transferdb_progress_flush(hub->node, hub->db) < 0 ||
        outbox_acked(hub->db, STREAM_TICKETS, OUTBOX_UPLINK, &acked, NULL) < 0)
        return;
    /* Applied here, not sent: a whole batch at a time, whatever its size. */
    while (outbox_next(hub->db, STREAM_TICKETS, OUTBOX_UPLINK, acked, &b) > 0) {
        for (size_t i = 0; i < b.n; i++)
            items[i] = outbox_item(&b, i, &lens[i]);
        enum inbox_result r =
            master_apply(hub->node, hub->db, code, b.first, acked + 1, items, lens, b.n, &applied);
        outbox_batch_clear(&b);
        if (r != INBOX_APPLIED || outbox_ack(hub->db, STREAM_TICKETS, OUTBOX_UPLINK, applied) < 0)
            return;
        acked = applied;
    }
}

/* What goes to a node: its STREAM_DOWN. */
struct down_target {
    struct hub *hub;
    struct peer *peer;
};

/* Puts a batch of a node's outbox queue on the wire (stream_send_fn). */
static int send_down(void *arg, int stream, const struct outbox_batch *b, uint64_t oldest)
{
    struct down_target *t = arg;
    Fed__Envelope env;

    link_envelope_init(&env, t->hub->node->cfg.node_code, t->peer->code, t->hub->node->incarnation);
    int n = link_send_batch(t->hub->router, &t->peer->addr, &env, stream, b, oldest);
    if (n < 0 && zmq_errno() != EAGAIN)
        log_debug("cannot send a batch to '%s': %s", t->peer->code, zmq_strerror(zmq_errno()));
    return n;
}

/* Sends a node what its window allows; the first pump of a session starts
 * from its last acknowledgement. */
static void pump(struct hub *hub, struct peer *p)
{
    struct down_target t = {hub, p};

    if (!p->streaming) {
        if (stream_start(&p->down, hub->db, STREAM_DOWN, p->code, clock_mono_ms(),
                         (int64_t)MISSED_BEATS * hub->node->cfg.heartbeat_interval_ms) < 0)
            return;
        p->streaming = 1;
    }
    if (stream_pump(&p->down, hub->db, send_down, &t, clock_mono_ms()) < 0)
        log_warnx("cannot read the outbox of '%s' now", p->code);
}

/* Sends every node what its window allows.  What is new for the nodes in
 * session is numbered first in one transaction: a decision for two cities
 * waits for the disk once, not once per city. */
static void pump_all(struct hub *hub)
{
    const char *codes[MAX_PEERS];
    size_t n = 0;

    for (size_t i = 0; i < hub->npeers; i++)
        if (hub->peers[i].streaming)
            codes[n++] = hub->peers[i].code;
    if (n > 1 && outbox_number(hub->db, STREAM_DOWN, codes, n) < 0)
        log_warnx("cannot number what goes to the nodes now");
    for (size_t i = 0; i < hub->npeers; i++)
        pump(hub, &hub->peers[i]);
}

/* A node applied its STREAM_DOWN up to a number. */
static void on_ack(struct hub *hub, const struct link_peer *from, const Fed__Envelope *env)
{
    struct peer *p = peer_find(hub, from->user_id);
    const Fed__Ack *a = env->ack_msg;

    if (a->stream != STREAM_DOWN || !p->streaming)
        return;
    if (stream_ack(&p->down, hub->db, a->seq, a->resend, clock_mono_ms()) == 0)
        pump(hub, p);
}

static void on_ignored(struct hub *hub, const struct link_peer *from, const Fed__Envelope *env)
{
    (void)hub;
    log_debug("ignored %s from '%s'", wire_payload_name(env->payload_case), from->user_id);
}

/* What a city may send, and whether it needs an open session first. */
static const struct {
    Fed__Envelope__PayloadCase kind;
    int needs_session;
    hub_handler *handle;
} handlers[] = {
    {FED__ENVELOPE__PAYLOAD_HELLO, 0, on_hello},
    {FED__ENVELOPE__PAYLOAD_HEARTBEAT, 1, on_heartbeat},
    {FED__ENVELOPE__PAYLOAD_ACK_MSG, 1, on_ack},
    {FED__ENVELOPE__PAYLOAD_BATCH, 1, on_batch},
    {FED__ENVELOPE__PAYLOAD_REFUSE, 1, on_ignored},
};

/* Is 'from' the connection of a live session: the node's, with the key the
 * session was opened with? */
static int in_session(struct hub *hub, const struct link_peer *from)
{
    const struct peer *p = peer_find(hub, from->user_id);

    return p != NULL && strcmp(p->addr.key, from->key) == 0;
}

static void on_message(struct hub *hub)
{
    struct link_peer from;
    Fed__Envelope *env = link_recv(hub->router, &from);

    if (env == NULL)
        return;
    const char *code = hub->node->cfg.node_code;
    const char *name = wire_payload_name(env->payload_case);
    char kind[160];
    if (from.user_id[0] == '\0') {
        snprintf(kind, sizeof(kind), "no key|%s", from.address);
        log_limited(&hub->logs, LOG_LEVEL_WARN, kind,
                    "refused a message without an authenticated key from '%s'", from.address);
    } else if (strcmp(env->from, from.user_id) != 0 || strcmp(env->to, code) != 0) {
        snprintf(kind, sizeof(kind), "claiming|%s|%s|%s", from.user_id, env->from, name);
        log_limited(&hub->logs, LOG_LEVEL_WARN, kind,
                    "refused %s from key of '%s' claiming '%s' from '%s'", name, from.user_id,
                    env->from, from.address);
        refuse(hub, &from, from.user_id, "code_mismatch",
               "the envelope names another node than the key is registered for");
    } else {
        size_t i;
        for (i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
            if (handlers[i].kind == env->payload_case)
                break;
        snprintf(kind, sizeof(kind), "not ours|%s|%s", from.user_id, name);
        if (i == sizeof(handlers) / sizeof(handlers[0]))
            log_limited(&hub->logs, LOG_LEVEL_WARN, kind,
                        "refused %s from '%s': not for the province", name, from.user_id);
        else if (handlers[i].needs_session && !in_session(hub, &from))
            refuse(hub, &from, from.user_id, "hello_required", "no session; send hello");
        else
            handlers[i].handle(hub, &from, env);
    }
    wire_free(env);
}

/* Sends heartbeats and drops sessions whose peer went quiet. */
static void on_tick(struct hub *hub)
{
    int64_t now = clock_mono_ms();
    int64_t limit = (int64_t)MISSED_BEATS * hub->node->cfg.heartbeat_interval_ms;

    for (size_t i = hub->npeers; i-- > 0;) {
        struct peer *p = &hub->peers[i];
        if (now - p->last_seen_ms > limit) {
            peer_drop(hub, p, "no heartbeat");
            continue;
        }
        /* Removed, or re-keyed: the old key's session ends here. */
        if (registry_live(hub->db, p->code, p->addr.key) == 0) {
            refuse(hub, &p->addr, p->code, "not_registered",
                   "the node was removed or given a new key");
            peer_drop(hub, p, "removed or re-keyed in the registry");
            continue;
        }
        Fed__Envelope env;
        Fed__Heartbeat hb = FED__HEARTBEAT__INIT;
        link_envelope_init(&env, hub->node->cfg.node_code, p->code, hub->node->incarnation);
        env.payload_case = FED__ENVELOPE__PAYLOAD_HEARTBEAT;
        env.heartbeat = &hb;
        send_to(hub, &p->addr, p->code, &env);
        if (p->streaming)
            stream_check(&p->down, now);
        pump(hub, p);
    }
}

int hub_run(struct node *node, void *control)
{
    struct hub hub = {.node = node};
    void *zap = NULL;
    int rc = -1;

    hub.db = db_open(node->cfg.database);
    if (hub.db == NULL || (hub.applier = applier_start(node)) == NULL)
        goto out;
    registry_fresh(&hub);
    /* The ZAP handler must exist before the ROUTER binds. */
    zap = link_zap_new(node->zmq);
    if (zap == NULL)
        goto out;
    hub.router = link_router_new(node->zmq, keyring_curve(&node->keys), node->cfg.federation_bind,
                                 node->cfg.heartbeat_interval_ms);
    if (hub.router == NULL)
        goto out;
    hub.monitor = link_monitor_new(node->zmq, hub.router);
    if (hub.monitor == NULL)
        goto out;
    log_info("federation listening on '%s'", node->cfg.federation_bind);
    metrics_set_nodes_connected(0);

    struct db_listener outbox = {.db = hub.db, .channel = "outbox", .fd = -1};
    int64_t next_tick = clock_mono_ms();
    int notified = 0; /* the last pump's statements took in notifications */
    for (;;) {
        /* The database's socket last: it is away while the database is. */
        int fd = db_listener_fd(&outbox);
        zmq_pollitem_t items[] = {
            {control, 0, ZMQ_POLLIN, 0},
            {zap, 0, ZMQ_POLLIN, 0},
            {hub.router, 0, ZMQ_POLLIN, 0},
            {applier_socket(hub.applier), 0, ZMQ_POLLIN, 0},
            {link_monitor_socket(hub.monitor), 0, ZMQ_POLLIN, 0},
            {NULL, fd, ZMQ_POLLIN, 0},
        };
        int64_t wait = notified ? 0 : next_tick - clock_mono_ms();
        if (zmq_poll(items, fd >= 0 ? 6 : 5, wait > 0 ? (long)wait : 0) < 0 &&
            zmq_errno() != EINTR) {
            log_warnx("link poll failed: %s", zmq_strerror(zmq_errno()));
            goto out;
        }
        /* The province's CURVE key is not switched (node.c): any word stops. */
        if (items[0].revents & ZMQ_POLLIN) {
            node_control_read(control);
            break;
        }
        if (items[1].revents & ZMQ_POLLIN)
            link_zap_handle(zap, admit, &hub);
        if (items[2].revents & ZMQ_POLLIN)
            on_message(&hub);
        if (items[4].revents & ZMQ_POLLIN)
            link_monitor_handle(hub.monitor);
        struct applied r;
        while (applier_result(hub.applier, &r))
            on_applied(&hub, &r);
        if (clock_mono_ms() >= next_tick) {
            if (!registry_fresh(&hub))
                log_warnx("registry database unavailable");
            on_tick(&hub);
            apply_own(&hub);
            next_tick = clock_mono_ms() + node->cfg.heartbeat_interval_ms;
        }
        /* Last, whether or not the socket woke us: libpq reads the
         * notifications that arrive while this thread runs a statement (the
         * applier's offers and decisions, committed meanwhile), and the
         * NOTIFY of its own transaction (the province's own changes
         * applied at a tick) comes back with the COMMIT; the socket then
         * stays quiet about them.  Sent now, not at the next heartbeat.
         * The nodes are sent theirs before the province's own changes are
         * applied, which is not on their way; what those post for a node
         * comes back with their COMMIT.  The pump's own statements may
         * also take in the notification of a change committed meanwhile
         * (by the applier's thread): the next round then does not wait
         * for the socket. */
        notified = fd >= 0 && (notified || db_notifications(hub.db) > 0);
        if (notified) {
            pump_all(&hub);
            apply_own(&hub);
            notified = db_notifications(hub.db) > 0;
        }
    }
    rc = 0;
out:
    /* What waits is not acknowledged: each node sends it again. */
    for (size_t i = 0; i < hub.npeers; i++)
        peer_forget_waiting(&hub.peers[i]);
    applier_stop(hub.applier);
    if (hub.db != NULL)
        registry_reset(hub.db);
    link_monitor_free(&hub.monitor);
    if (hub.router != NULL)
        zmq_close(hub.router);
    if (zap != NULL)
        zmq_close(zap);
    db_free(hub.db);
    return rc;
}
