/* SPDX-License-Identifier: Apache-2.0 */
/*
 * node.c - the life of a node process, from argv to exit.
 *
 * The main thread reads the configuration, runs a subcommand or starts the
 * daemon: database and migrations, keys, the HTTP workers and the link
 * thread; then it waits for SIGTERM or SIGINT and stops them in reverse
 * order.  Signals are blocked in every thread and taken by sigwait() here,
 * so no handler ever runs in the middle of other code.
 */
#include "node.h"

#include "auth.h"
#include "clock.h"
#include "link.h"
#include "log.h"
#include "metrics.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define CONTROL_ENDPOINT "inproc://node-control"
#define DB_WAIT_SECONDS  30
#define ADMIN_TOKEN_FILE "admin.token"

static atomic_int link_failed;

static void usage(const struct node_kind *kind)
{
    fprintf(stderr, "usage: %s [-dnv] [-f file] [command]\n", kind->program);
    fprintf(stderr, "commands:\n  init\n  public-key\n");
    for (size_t i = 0; i < kind->ncommands; i++)
        fprintf(stderr, "  %s %s\n", kind->commands[i].name, kind->commands[i].usage);
}

/* Reads the node's identity, creating it when 'create' is set.  Returns 0. */
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

static int command_init(struct node *node, struct db *db)
{
    char path[PATH_MAX];

    if (snprintf(path, sizeof(path), "%s/%s", node->cfg.data_dir, ADMIN_TOKEN_FILE) >=
        (int)sizeof(path))
        return 1;
    if (db_begin(db) < 0 || identity_load(node, db, 1) < 0 ||
        auth_admin_token_ensure(db, path) < 0 || db_commit(db) < 0) {
        db_rollback(db);
        return 1;
    }
    if (keys_create(node->cfg.data_dir) < 0)
        return 1;
    printf("node '%s' initialised; keys and admin token in '%s'\n", node->cfg.node_code,
           node->cfg.data_dir);
    return 0;
}

static int command_public_key(struct node *node)
{
    if (keys_load(node->cfg.data_dir, &node->keys) < 0)
        return 1;
    printf("%s\n", node->keys.public_z85);
    keys_wipe(&node->keys);
    return 0;
}

static int run_command(struct node *node, int argc, char **argv)
{
    const struct node_kind *kind = node->kind;

    if (strcmp(argv[0], "public-key") == 0 && argc == 1)
        return command_public_key(node);

    const struct node_command *cmd = NULL;
    for (size_t i = 0; i < kind->ncommands; i++)
        if (strcmp(argv[0], kind->commands[i].name) == 0)
            cmd = &kind->commands[i];
    int is_init = strcmp(argv[0], "init") == 0;
    if ((!is_init && cmd == NULL) || argc - 1 != (is_init ? 0 : cmd->nargs)) {
        usage(kind);
        return 2;
    }
    struct db *db = open_database(node);
    if (db == NULL)
        return 1;
    int rc = is_init ? command_init(node, db) : cmd->run(node, db, argv + 1);
    db_free(db);
    return rc;
}

/* --- the daemon ------------------------------------------------------- */

static int auth_lookup_thread(void *app, const char *token, struct principal *out)
{
    struct node *node = app;
    struct db *db = db_thread(node->cfg.database);

    return db == NULL ? -1 : auth_lookup(db, token, out);
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
    fclose(out);
    http_reply_text(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}

static const struct http_route common_routes[] = {
    {"GET", "/healthz", handle_healthz, 0},
    {"GET", "/metrics", handle_metrics, 0},
};

static const size_t common_routes_len = sizeof(common_routes) / sizeof(common_routes[0]);

/* The route tables every node serves, before those of its kind. */
static const struct {
    const struct http_route *routes;
    const size_t *len;
} api_tables[] = {
    {common_routes, &common_routes_len},
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

static void *link_thread(void *arg)
{
    struct node *node = arg;
    void *control = zmq_socket(node->zmq, ZMQ_PAIR);

    if (control == NULL || zmq_connect(control, CONTROL_ENDPOINT) != 0 ||
        node->kind->link_run(node, control) < 0) {
        atomic_store(&link_failed, 1);
        kill(getpid(), SIGTERM);
    }
    if (control != NULL)
        zmq_close(control);
    return NULL;
}

static int run_daemon(struct node *node, int foreground)
{
    const struct node_kind *kind = node->kind;
    struct http_route *routes = NULL;
    struct http_server *http = NULL;
    void *control = NULL;
    pthread_t link;
    int link_started = 0, rc = 1, sig;
    sigset_t stop;

    if (!foreground && daemon(0, 0) < 0)
        fatal("cannot run in the background");
    metrics_start();
    struct db *db = open_database(node);
    if (db == NULL || identity_load(node, db, 0) < 0)
        goto out;
    db_free(db);
    db = NULL;
    if (keys_load(node->cfg.data_dir, &node->keys) < 0 || link_check_curve() < 0)
        goto out;

    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    node->zmq = zmq_ctx_new();
    control = node->zmq != NULL ? zmq_socket(node->zmq, ZMQ_PAIR) : NULL;
    if (control == NULL || zmq_bind(control, CONTROL_ENDPOINT) != 0) {
        log_warnx("cannot set up the control socket");
        goto out;
    }
    if (pthread_create(&link, NULL, link_thread, node) != 0) {
        log_warn("cannot start the link thread");
        goto out;
    }
    link_started = 1;

    size_t nroutes;
    routes = routes_assemble(kind, &nroutes);
    if (routes == NULL)
        goto out;
    struct http_options opt = {node->cfg.http_address, node->cfg.http_port, node->cfg.http_threads};
    http = http_server_new(&opt, routes, nroutes, auth_lookup_thread, node);
    if (http == NULL)
        goto out;

    log_info("node '%s' (%s) started, http on '%s' port %d", node->cfg.node_code, kind->program,
             node->cfg.http_address, node->cfg.http_port);
    sigwait(&stop, &sig);
    rc = atomic_load(&link_failed) ? 1 : 0;
    if (rc == 0)
        log_info("stopping on signal %d", sig);

out:
    http_server_free(http);
    if (link_started) {
        zmq_send(control, "stop", 4, 0);
        pthread_join(link, NULL);
    }
    if (control != NULL)
        zmq_close(control);
    if (node->zmq != NULL)
        zmq_ctx_term(node->zmq);
    free(routes);
    db_free(db);
    keys_wipe(&node->keys);
    return rc;
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
