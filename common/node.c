/* SPDX-License-Identifier: Apache-2.0 */
/*
 * node.c - the life of a node process, from argv to exit.
 *
 * The main thread reads the configuration, runs a subcommand or starts the
 * daemon: database and migrations, keys, the HTTP workers and the link
 * thread; then it waits for SIGTERM or SIGINT and stops them in reverse
 * order.  SIGHUP switches to the keys made ready for a rotation (README
 * "Key rotation") and tells the link thread to greet its peer again with
 * them.  Signals are blocked in every thread and taken by sigwait() here,
 * so no handler ever runs in the middle of other code.
 */
#include "node.h"

#include "auth.h"
#include "admin_api.h"
#include "calendar_api.h"
#include "calstore.h"
#include "clock.h"
#include "kb_api.h"
#include "link.h"
#include "load_api.h"
#include "open311_api.h"
#include "overflow_api.h"
#include "log.h"
#include "emergency_api.h"
#include "fresh.h"
#include "metrics.h"
#include "progress_api.h"
#include "rating_api.h"
#include "reseal.h"
#include "restriction_api.h"
#include "stats_api.h"
#include "ticket_api.h"
#include "ticketdb.h"
#include "timer.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include "transfer.h"
#include "transferdb.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define ADMIN_TOKEN_FILE "admin.token"

/* Set by a thread that could not run: the daemon then exits with 1. */
static atomic_int thread_failed;

/*
 * Reads the node's identity into 'node', creating it when 'create' is set.
 * Returns 0, or -1 (logged) if the database fails, holds no identity and
 * may not create one, or belongs to another node.
 */
static int identity_load(struct node *node, struct db *db, int create)
{
    const char *code = node->cfg.node_code;
    PGresult *res = db_query(db, "SELECT code, incarnation FROM node_identity", 0, NULL);

    if (res == NULL)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        if (!create) {
            log_warnx("the database is not initialised; run '%s init' first", node->kind->program);
            return -1;
        }
        uint64_t inc;
        char incs[24], at[CLOCK_RFC3339_LEN];
        const char *p[] = {code, incs, at};
        if (crypto_random(&inc, sizeof(inc)) < 0)
            return -1;
        inc &= INT64_MAX;
        snprintf(incs, sizeof(incs), "%llu", (unsigned long long)inc);
        clock_format(clock_now_us(), at);
        if (db_exec(db,
                    "INSERT INTO node_identity (code, incarnation, created_at)"
                    " VALUES ($1, $2, $3)",
                    3, p) < 0)
            return -1;
        node->incarnation = inc;
        return 0;
    }
    int same = strcmp(PQgetvalue(res, 0, 0), code) == 0;
    if (!same)
        log_warnx("the database belongs to node '%s', not '%s'", PQgetvalue(res, 0, 0), code);
    node->incarnation = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    return same ? 0 : -1;
}

static struct db *open_database(struct node *node)
{
    struct db *db = db_connect(node->cfg.database, DB_WAIT_SECONDS);

    if (db == NULL)
        return NULL;
    if (db_migrate(db, node_migrations, node_migrations_len) < 0) {
        db_free(db);
        return NULL;
    }
    return db;
}

static int command_init(struct node *node, struct db *db, char **argv)
{
    char path[PATH_MAX];

    (void)argv;
    if (snprintf(path, sizeof(path), "%s/%s", node->cfg.data_dir, ADMIN_TOKEN_FILE) >=
        (int)sizeof(path))
        return 1;
    if (db_begin(db) < 0 || identity_load(node, db, 1) < 0 ||
        auth_admin_token_ensure(db, path) < 0 || calstore_seed(db) < 0 || db_commit(db) < 0) {
        db_rollback(db);
        return 1;
    }
    if (keys_create(node->cfg.data_dir) < 0 || pii_keys_create(node->cfg.data_dir) < 0 ||
        sign_key_create(node->cfg.data_dir) < 0)
        return 1;
    printf("node '%s' initialised; keys and admin token in '%s'\n", node->cfg.node_code,
           node->cfg.data_dir);
    return 0;
}

static int command_public_key(struct node *node)
{
    struct keys k;

    if (keys_load(node->cfg.data_dir, &k) < 0)
        return 1;
    printf("%s\n", k.public_z85);
    keys_wipe(&k);
    return 0;
}

/* Checks every ticket's event chain; names the first broken link. */
static int command_verify(struct node *node, struct db *db, char **argv)
{
    long long events, tickets;
    char ticket[TICKET_ID_LEN + 1];
    int seq;
    int rc = ticketdb_verify(db, &events, &tickets, ticket, &seq);

    (void)node;
    (void)argv;
    if (rc < 0)
        return 2;
    if (rc > 0) {
        printf("broken chain: ticket %s event %d\n", ticket, seq);
        return 1;
    }
    long long messages;
    char transfer[TRANSFER_ID_MAX + 1];
    if (transferdb_verify(db, &messages, transfer, sizeof(transfer)) < 0)
        return 2;
    if (transfer[0] != '\0') {
        printf("bad signature: transfer %s\n", transfer);
        return 1;
    }
    printf("verified %lld events in %lld tickets and %lld signed transfer messages\n", events,
           tickets, messages);
    return 0;
}

/* Sends every event to the master dataset again; the province skips what it has. */
static int command_resync(struct node *node, struct db *db, char **argv)
{
    long long n = ticketdb_announce_all(db, clock_now_us());

    (void)node;
    (void)argv;
    if (n < 0)
        return 1;
    printf("queued %lld events for the master dataset\n", n);
    return 0;
}

int node_options(char **argv, const char *const *names, long *values, size_t n, long min, long max)
{
    for (; argv[0] != NULL; argv += 2) {
        size_t i;
        for (i = 0; i < n && strcmp(argv[0], names[i]) != 0; i++)
            ;
        char *end;
        long v = i < n && argv[1] != NULL ? strtol(argv[1], &end, 10) : 0;
        if (i == n || argv[1] == NULL || *argv[1] == '\0' || *end != '\0' || v < min || v > max) {
            fprintf(stderr, "'%s' is not an option here, or needs a number from %ld to %ld\n",
                    argv[0], min, max);
            return -1;
        }
        values[i] = v;
    }
    return 0;
}

/* Makes a new sealing key ready; the daemon switches to it on SIGHUP. */
static int command_pii_rotate(struct node *node, struct db *db, char **argv)
{
    char id[PII_KEY_ID_LEN + 1];
    int made = pii_key_stage(node->cfg.data_dir, id);

    (void)db;
    (void)argv;
    if (made < 0)
        return 1;
    printf("%s %s\n", made ? "new sealing key ready:" : "a sealing key is ready already:", id);
    return 0;
}

/* Seals every row again with the key in use, in batches, beside the daemon. */
static int command_pii_reseal(struct node *node, struct db *db, char **argv)
{
    static const char *const names[] = {"--batch-size", "--max-batches"};
    long values[] = {500, 0};
    struct pii_keys k;

    if (node_options(argv, names, values, 2, 1, 1000000) < 0)
        return 2;
    if (pii_keys_load(node->cfg.data_dir, &k) < 0)
        return 1;
    int rc = reseal_run(db, &k, values[0], values[1], stdout);
    pii_keys_wipe(&k);
    return rc < 0 ? 2 : rc;
}

/* The commands of every node, before those of its kind. */
static const struct node_command builtins[] = {
    {"init", "", 0, command_init, 0},
    {"verify", "", 0, command_verify, 0},
    {"resync", "", 0, command_resync, 0},
    {"pii-rotate", "", 0, command_pii_rotate, 0},
    {"pii-reseal", "[--batch-size N] [--max-batches N]", 0, command_pii_reseal, 4},
};
static const size_t nbuiltins = sizeof(builtins) / sizeof(builtins[0]);

static void usage(const struct node_kind *kind)
{
    fprintf(stderr, "usage: %s [-dnv] [-f file] [command]\n", kind->program);
    fprintf(stderr, "commands:\n  public-key\n  routes\n");
    for (size_t i = 0; i < nbuiltins; i++)
        fprintf(stderr, "  %s%s%s\n", builtins[i].name, builtins[i].usage[0] ? " " : "",
                builtins[i].usage);
    for (size_t i = 0; i < kind->ncommands; i++)
        fprintf(stderr, "  %s%s%s\n", kind->commands[i].name, kind->commands[i].usage[0] ? " " : "",
                kind->commands[i].usage);
}

static const struct node_command *command_find(const struct node_kind *kind, const char *name)
{
    for (size_t i = 0; i < nbuiltins; i++)
        if (strcmp(name, builtins[i].name) == 0)
            return &builtins[i];
    for (size_t i = 0; i < kind->ncommands; i++)
        if (strcmp(name, kind->commands[i].name) == 0)
            return &kind->commands[i];
    return NULL;
}

static int run_command(struct node *node, int argc, char **argv)
{
    const struct node_kind *kind = node->kind;

    if (strcmp(argv[0], "public-key") == 0 && argc == 1)
        return command_public_key(node);

    const struct node_command *cmd = command_find(kind, argv[0]);
    int most = cmd != NULL && cmd->nargs_max > cmd->nargs ? cmd->nargs_max : 0;
    if (cmd == NULL || argc - 1 < cmd->nargs || argc - 1 > (most > 0 ? most : cmd->nargs)) {
        usage(kind);
        return 2;
    }
    struct db *db = open_database(node);
    if (db == NULL)
        return 1;
    int rc = cmd->run(node, db, argv + 1);
    db_free(db);
    return rc;
}

/* --- the daemon ------------------------------------------------------- */

static int auth_lookup_thread(void *app, const char *token, struct principal *out)
{
    struct node *node = app;
    struct db *db = db_thread(node->cfg.database);

    if (db == NULL || fresh_begin(db) < 0)
        return -1;
    return auth_kept(db, token, out);
}

/* Were the copies this HTTP worker trusted for its request out of date? */
static int request_stale_thread(void *app)
{
    (void)app;
    return fresh_end();
}

/* Did this HTTP worker's database go away during its request? */
static int database_lost_thread(void *app)
{
    (void)app;
    return (int)db_thread_lost();
}

struct db *node_db(struct http_request *req, struct node **node)
{
    struct node *n = http_app(req);
    struct db *db = db_thread(n->cfg.database);

    if (db == NULL)
        http_reply_error(req, 503, "database_unavailable", "the database cannot be reached");
    if (node != NULL)
        *node = n;
    return db;
}

static void handle_healthz(struct http_request *req)
{
    struct node *node = http_app(req);
    struct db *db = db_thread(node->cfg.database);
    int up = db != NULL && db_exec(db, "SELECT 1", 0, NULL) == 0;
    json_t *obj = json_pack("{s:s,s:s,s:s,s:s,s:s}", "status", up ? "ok" : "degraded", "node",
                            node->cfg.node_code, "name", node->cfg.node_name, "role",
                            node->kind->role == NODE_PROVINCE ? "province" : "city", "database",
                            up ? "up" : "down");

    node->kind->health(obj);
    http_reply_json(req, up ? 200 : 503, obj);
}

static void handle_metrics(struct http_request *req)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    if (out == NULL) {
        http_reply_error(req, 500, "internal", "out of memory");
        return;
    }
    http_server_metrics(http_server_of(req), out);
    struct node *node = http_app(req);
    if (node->kind->metrics != NULL)
        node->kind->metrics(node, out);
    fclose(out);
    http_reply_text(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}

static const struct http_route common_routes[] = {
    {"GET", "/healthz", handle_healthz, 0, NULL},
    {"GET", "/metrics", handle_metrics, 0, NULL},
};

static const size_t common_routes_len = sizeof(common_routes) / sizeof(common_routes[0]);

/* The route tables every node serves, before those of its kind. */
static const struct {
    const struct http_route *routes;
    const size_t *len;
} api_tables[] = {
    {common_routes, &common_routes_len},
    {calendar_routes, &calendar_routes_len},
    {admin_routes, &admin_routes_len},
    {ticket_routes, &ticket_routes_len},
    {rating_routes, &rating_routes_len},
    {kb_routes, &kb_routes_len},
    {emergency_routes, &emergency_routes_len},
    {progress_routes, &progress_routes_len},
    {restriction_routes, &restriction_routes_len},
    {stats_routes, &stats_routes_len},
    {load_routes, &load_routes_len},
    {overflow_routes, &overflow_routes_len},
    {open311_routes, &open311_routes_len},
};

/* The routes of every node followed by those of 'kind', in one new array. */
static struct http_route *routes_assemble(const struct node_kind *kind, size_t *n)
{
    size_t ntables = sizeof(api_tables) / sizeof(api_tables[0]), total = kind->nroutes, at = 0;

    for (size_t i = 0; i < ntables; i++)
        total += *api_tables[i].len;
    struct http_route *routes = calloc(total, sizeof(*routes));
    if (routes == NULL)
        return NULL;
    for (size_t i = 0; i < ntables; i++) {
        memcpy(routes + at, api_tables[i].routes, *api_tables[i].len * sizeof(*routes));
        at += *api_tables[i].len;
    }
    memcpy(routes + at, kind->routes, kind->nroutes * sizeof(*routes));
    *n = total;
    return routes;
}

/*
 * A thread of the node that owns its own sockets and connections and hears
 * from the main thread only through its control socket (CZMQ's actors).
 */
struct actor {
    struct node *node;
    const char *name;
    int (*run)(struct node *node, void *control);
    const char *endpoint;
    void *control; /* the main thread's end */
    pthread_t thread;
    int started;
    atomic_int done; /* set by the thread as it ends */
};

static void *actor_main(void *arg)
{
    struct actor *a = arg;
    void *pipe = zmq_socket(a->node->zmq, ZMQ_PAIR);

    if (pipe == NULL || zmq_connect(pipe, a->endpoint) != 0 || a->run(a->node, pipe) < 0) {
        log_warnx("the %s thread stopped", a->name);
        atomic_store(&thread_failed, 1);
        kill(getpid(), SIGTERM);
    }
    if (pipe != NULL)
        zmq_close(pipe);
    atomic_store(&a->done, 1);
    return NULL;
}

static int actor_start(struct actor *a)
{
    a->control = zmq_socket(a->node->zmq, ZMQ_PAIR);
    if (a->control == NULL || zmq_bind(a->control, a->endpoint) != 0) {
        log_warnx("cannot set up the control socket of the %s thread", a->name);
        return -1;
    }
    if (pthread_create(&a->thread, NULL, actor_main, a) != 0) {
        log_warn("cannot start the %s thread", a->name);
        return -1;
    }
    a->started = 1;
    return 0;
}

static void actor_stop(struct actor *a)
{
    /* A thread that ended by itself no longer reads its pipe: never block. */
    if (a->started) {
        while (!atomic_load(&a->done) && zmq_send(a->control, "stop", 4, ZMQ_DONTWAIT) < 0)
            usleep(10 * 1000);
        pthread_join(a->thread, NULL);
    }
    if (a->control != NULL)
        zmq_close(a->control);
}

/* Writes into 'buf' the web console's folder: console_dir, or else the
 * folder "console" beside the executable (build/console after `make`).
 * Returns 'buf', or NULL when there is none to serve (said once in the log). */
static const char *console_folder(const struct config *cfg, char *buf, size_t len)
{
    char exe[PATH_MAX];
    struct stat st;
    ssize_t n;

    if (cfg->console_dir != NULL) {
        snprintf(buf, len, "%s", cfg->console_dir);
        return buf;
    }
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash == NULL)
        return NULL;
    *slash = '\0';
    if ((size_t)snprintf(buf, len, "%s/console", exe) >= len || stat(buf, &st) != 0 ||
        !S_ISDIR(st.st_mode)) {
        log_info("no web console beside the executable (console_dir is not set)");
        return NULL;
    }
    return buf;
}

int node_hotline_start(struct node *node)
{
    const struct config *c = &node->cfg;
    struct hotline *h = &node->hotline;

    h->node_code = c->node_code;
    h->periods.days[KIND_CONSULTATION] = c->period_consultation;
    h->periods.days[KIND_HELP] = c->period_help;
    h->periods.days[KIND_SUGGESTION] = c->period_suggestion;
    h->periods.days[KIND_COMPLAINT] = c->period_complaint;
    h->periods.days[KIND_REPORT] = c->period_report;
    h->periods.national = c->period_national;
    h->periods.rating_window_days = c->rating_window_days;
    h->repeat_window_days = c->repeat_window_days;
    return pii_keys_load(c->data_dir, &h->pii);
}

enum node_control node_control_read(void *control)
{
    char buf[8];
    int n = zmq_recv(control, buf, sizeof(buf), ZMQ_DONTWAIT);

    return n == 5 && memcmp(buf, "rekey", 5) == 0 ? NODE_REKEY : NODE_STOP;
}

/*
 * SIGHUP: switches to the keys made ready in the data folder, a city's
 * CURVE pair and signing key (keyring.h) and any node's sealing key
 * (pii.h), and has the link thread greet its peer with the new ones.  The
 * province's CURVE key is every city's configuration: it is not switched
 * here.
 */
static void switch_keys(struct node *node, struct actor *link)
{
    const char *dir = node->cfg.data_dir;
    int ring = node->kind->role == NODE_CITY ? keyring_switch(&node->keys, dir) : 0;
    int pii = pii_keys_switch(&node->hotline.pii, dir);

    if (ring == 0 && pii == 0)
        log_info("no new keys ready in '%s'; nothing switched", dir);
    if (ring == 1 && zmq_send(link->control, "rekey", 5, ZMQ_DONTWAIT) < 0)
        log_warnx("cannot tell the link thread of the new keys: %s", zmq_strerror(zmq_errno()));
}

static int run_daemon(struct node *node, int foreground)
{
    const struct node_kind *kind = node->kind;
    struct http_route *routes = NULL;
    struct http_server *http = NULL;
    struct actor actors[] = {
        {.node = node, .name = "link", .run = kind->link_run, .endpoint = "inproc://link"},
        {.node = node, .name = "clock", .run = timer_run, .endpoint = "inproc://clock"},
    };
    size_t nactors = sizeof(actors) / sizeof(actors[0]);
    int rc = 1, sig;
    sigset_t stop;

    if (!foreground && daemon(0, 0) < 0)
        fatal("cannot run in the background");
    metrics_start();
    struct db *db = open_database(node);
    if (db == NULL || identity_load(node, db, 0) < 0 || calstore_seed(db) < 0)
        goto out;
    db_free(db);
    db = NULL;
    /* A node initialised before it signed anything gets its key now. */
    if (sign_key_create(node->cfg.data_dir) < 0 ||
        keyring_load(&node->keys, node->cfg.data_dir) < 0 || link_check_curve() < 0 ||
        node_hotline_start(node) < 0)
        goto out;

    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    node->zmq = zmq_ctx_new();
    if (node->zmq == NULL)
        goto out;
    for (size_t i = 0; i < nactors; i++)
        if (actor_start(&actors[i]) < 0)
            goto out;

    size_t nroutes;
    routes = routes_assemble(kind, &nroutes);
    if (routes == NULL)
        goto out;
    char console[PATH_MAX];
    struct http_options opt = {node->cfg.http_address,
                               node->cfg.http_port,
                               node->cfg.http_threads,
                               node->cfg.http_timeout_s,
                               console_folder(&node->cfg, console, sizeof(console)),
                               node->cfg.trusted_proxies,
                               database_lost_thread,
                               request_stale_thread};
    http = http_server_new(&opt, routes, nroutes, auth_lookup_thread, node);
    if (http == NULL)
        goto out;

    log_info("node '%s' (%s) started, http on '%s' port %d", node->cfg.node_code, kind->program,
             node->cfg.http_address, node->cfg.http_port);
    while (sigwait(&stop, &sig) == 0 && sig == SIGHUP && !atomic_load(&thread_failed))
        switch_keys(node, &actors[0]);
    rc = atomic_load(&thread_failed) ? 1 : 0;
    if (rc == 0)
        log_info("stopping on signal %d", sig);

out:
    http_server_free(http);
    for (size_t i = nactors; i-- > 0;)
        actor_stop(&actors[i]);
    if (node->zmq != NULL)
        zmq_ctx_term(node->zmq);
    free(routes);
    db_free(db);
    keyring_wipe(&node->keys);
    pii_keys_wipe(&node->hotline.pii);
    return rc;
}

/* Prints "METHOD PATH role,role" for every route the daemon serves. */
static int print_routes(const struct node_kind *kind)
{
    size_t n;
    struct http_route *routes = routes_assemble(kind, &n);

    if (routes == NULL)
        return 1;
    for (size_t i = 0; i < n; i++) {
        printf("%s %s ", routes[i].method, routes[i].path);
        if (routes[i].roles == 0)
            printf("public");
        for (unsigned bit = 1, first = 1; bit <= ROLE_CITIZEN; bit <<= 1) {
            if (routes[i].roles & bit) {
                printf("%s%s", first ? "" : ",", auth_role_name((enum role)bit));
                first = 0;
            }
        }
        printf("\n");
    }
    free(routes);
    return 0;
}

int node_main(const struct node_kind *kind, int argc, char **argv)
{
    struct node node = {.kind = kind};
    const char *path = kind->default_config;
    int foreground = 0, check_only = 0, verbose = 0, ch, rc;
    char err[512];

    while ((ch = getopt(argc, argv, "+df:nv")) != -1) {
        switch (ch) {
        case 'd':
            foreground = 1;
            break;
        case 'f':
            path = optarg;
            break;
        case 'n':
            check_only = 1;
            break;
        case 'v':
            verbose = 1;
            break;
        default:
            usage(kind);
            return 2;
        }
    }
    argc -= optind;
    argv += optind;

    /* The route table needs no configuration: for documentation and tests. */
    if (argc == 1 && strcmp(argv[0], "routes") == 0)
        return print_routes(kind);

    /* Messages before the configuration is read go to stderr. */
    log_init(kind->program, 1, LOG_LEVEL_INFO);
    if (config_load(&node.cfg, kind->role, path, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: %s\n", kind->program, err);
        return 1;
    }
    if (check_only) {
        printf("configuration OK\n");
        config_free(&node.cfg);
        return 0;
    }
    enum log_level level = verbose ? LOG_LEVEL_DEBUG : node.cfg.log_level;
    if (argc > 0) {
        log_init(kind->program, 1, level);
        rc = run_command(&node, argc, argv);
    } else {
        log_init(kind->program, foreground, level);
        rc = run_daemon(&node, foreground);
    }
    config_free(&node.cfg);
    return rc;
}
