/* SPDX-License-Identifier: Apache-2.0 */
/*
 * node.h - what both daemons share: the command line, start-up, `init`, the
 * threads, /healthz and /metrics.  A daemon describes its kind in one
 * struct node_kind and hands it to node_main(); common/ itself knows no kind.
 */
#ifndef HOTLINE_NODE_H
#define HOTLINE_NODE_H

#include "broadcast.h"
#include "config.h"
#include "db.h"
#include "http.h"
#include "keyring.h"
#include "open311db.h"
#include "workflow.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

struct node;

/* An admin subcommand: `program -f config NAME ARGS...`. */
struct node_command {
    const char *name;
    const char *usage; /* its arguments, for the usage text */
    int nargs;
    /* Runs with the node's database migrated; argv ends with NULL.
     * Returns the exit status. */
    int (*run)(struct node *node, struct db *db, char **argv);
    int nargs_max; /* with options: at most this many arguments */
};

/* What the main thread tells a thread on its control socket. */
enum node_control {
    NODE_STOP,
    NODE_REKEY, /* the node switched to new keys (keyring.h) */
};

struct node_kind {
    enum node_role role;
    const char *program;
    const char *default_config;
    const struct http_route *routes; /* besides /healthz and /metrics */
    size_t nroutes;
    const struct node_command *commands;
    size_t ncommands;
    /*
     * The link thread: owns the federation sockets in the node's ZeroMQ
     * context until a message arrives on 'control'.  Returns 0 then, or -1
     * if it cannot run at all (the daemon then stops).
     */
    int (*link_run)(struct node *node, void *control);
    /* Adds the kind's fields to the /healthz object. */
    void (*health)(json_t *obj);
    /* Adds the kind's families to /metrics; may be NULL. */
    void (*metrics)(struct node *node, FILE *out);
    /*
     * Province-wide data changed here, in the caller's transaction
     * (broadcast.h): the province publishes it to every node, a city sends
     * the province what it must hear of.  Returns 0, or -1 to roll the
     * change back.
     */
    int (*share)(const struct node *node, struct db *db, enum broadcast_kind kind, const char *key);
    /* Open311 (open311_api.c): the province answers for every node from
     * its master dataset; NULL at a city. */
    const struct open311_federation *open311;
};

struct node {
    const struct node_kind *kind;
    struct config cfg;
    struct keyring keys; /* CURVE pairs and signing keys, read-only but on SIGHUP */
    uint64_t incarnation;
    struct hotline hotline; /* read-only once the daemon runs, but on SIGHUP (pii.h) */
    void *zmq;              /* the ZeroMQ context */
};

/*
 * The node serving 'req' and the calling thread's database connection.
 * Returns the connection, or NULL having answered 503.
 */
struct db *node_db(struct http_request *req, struct node **node);

/* Reads one message from a thread's control socket: "rekey", or anything
 * else, which means stop. */
enum node_control node_control_read(void *control);

/*
 * Reads "--name N" options of a command from 'argv' (ending with NULL):
 * each name of 'names' (n of them) sets values[i] to a number within
 * min..max.  Returns 0, or -1 having printed what is wrong.
 */
int node_options(char **argv, const char *const *names, long *values, size_t n, long min, long max);

/*
 * Prepares what the hotline's commands share, from the configuration and
 * the data folder: periods and personal-data keys.  For the daemon and for
 * commands that act as the hotline (import).  Returns 0 or -1 (logged); the
 * caller wipes the keys (pii_keys_wipe).
 */
int node_hotline_start(struct node *node);

/* Runs the program: parses argv, then a subcommand or the daemon.  Returns
 * the exit status. */
int node_main(const struct node_kind *kind, int argc, char **argv);

/* The migrations of a daemon, generated at build time from its SQL files. */
extern const struct migration node_migrations[];
extern const size_t node_migrations_len;

#endif
