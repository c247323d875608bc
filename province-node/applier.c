/* SPDX-License-Identifier: Apache-2.0 */
/*
 * applier.c - the master dataset's thread.
 *
 * The link thread checks and lays out each batch of a node's ticket stream
 * (master_prepare) and queues it here; this thread applies the batches in
 * the order they came (master_apply_batch) and sends each result back.
 * The queue is a pair of inproc sockets, each end used by one thread: a
 * job holds a pointer to its batch, which this thread frees.  Its high
 * water mark bounds what waits here; the link thread keeps what does not
 * fit, a few batches of each node, and hands them over in turn (hub.c).
 *
 * Once a second, busy or idle, it also counts again the roll-ups of the
 * days the batches marked and that no batch marked since (master_refresh),
 * those of the province's own stream too, which the link thread applies:
 * so during a catch-up a day is counted about once rather than at every
 * batch, and the figures lag the master dataset by a second or two.
 */
#include "applier.h"

#include "clock.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <zmq.h>

/* Batches waiting, about: a node's whole window (stream.h) and then some. */
#define QUEUE 16

/* How often the roll-ups are counted again. */
#define REFRESH_MS 1000

struct job {
    struct link_peer from;
    struct master_batch *batch; /* NULL: stop */
};

struct applier {
    struct node *province;
    struct db *db;   /* this thread's */
    void *link_end;  /* the link thread's */
    void *apply_end; /* this thread's */
    pthread_t thread;
};

static void *applier_main(void *arg)
{
    struct applier *a = arg;
    struct job job;
    int64_t refreshed = clock_mono_ms();

    for (;;) {
        int64_t wait = refreshed + REFRESH_MS - clock_mono_ms();
        if (wait <= 0) {
            if (db_alive(a->db))
                master_refresh(a->db);
            refreshed = clock_mono_ms();
            continue;
        }
        zmq_pollitem_t item = {a->apply_end, 0, ZMQ_POLLIN, 0};
        int ready = zmq_poll(&item, 1, (long)wait);
        if (ready < 0 && zmq_errno() != EINTR)
            break;
        if (ready <= 0)
            continue;
        int n = zmq_recv(a->apply_end, &job, sizeof(job), 0);
        if (n < 0 && zmq_errno() == EINTR)
            continue;
        if (n != (int)sizeof(job) || job.batch == NULL)
            break;
        /* A database that went away is tried again with each batch. */
        struct applied r = {.from = job.from, .result = INBOX_FAILED};
        if (db_alive(a->db))
            r.result = master_apply_batch(a->province, a->db, job.batch, &r.seq);
        master_batch_free(job.batch);
        while (zmq_send(a->apply_end, &r, sizeof(r), 0) < 0 && zmq_errno() == EINTR)
            ;
    }
    return NULL;
}

static void *pair_end(struct node *province, int hwm)
{
    void *s = zmq_socket(province->zmq, ZMQ_PAIR);
    int zero = 0;

    if (s != NULL && (zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm)) != 0 ||
                      zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm)) != 0 ||
                      zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero)) != 0)) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

struct applier *applier_start(struct node *province)
{
    struct applier *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return NULL;
    a->province = province;
    a->db = db_open(province->cfg.database);
    a->link_end = pair_end(province, QUEUE);
    a->apply_end = pair_end(province, QUEUE);
    if (a->db == NULL || a->link_end == NULL || a->apply_end == NULL ||
        zmq_bind(a->link_end, "inproc://master-applier") != 0 ||
        zmq_connect(a->apply_end, "inproc://master-applier") != 0 ||
        pthread_create(&a->thread, NULL, applier_main, a) != 0) {
        log_warnx("cannot start the master dataset's thread: %s", zmq_strerror(zmq_errno()));
        if (a->link_end != NULL)
            zmq_close(a->link_end);
        if (a->apply_end != NULL)
            zmq_close(a->apply_end);
        db_free(a->db);
        free(a);
        return NULL;
    }
    return a;
}

void *applier_socket(struct applier *a)
{
    return a->link_end;
}

int applier_has_room(struct applier *a)
{
    int events = 0;
    size_t len = sizeof(events);

    return zmq_getsockopt(a->link_end, ZMQ_EVENTS, &events, &len) == 0 && (events & ZMQ_POLLOUT);
}

int applier_submit(struct applier *a, const struct link_peer *from, struct master_batch *b)
{
    struct job job = {.from = *from, .batch = b};

    if (zmq_send(a->link_end, &job, sizeof(job), ZMQ_DONTWAIT) == (int)sizeof(job))
        return 0;
    master_batch_free(b);
    return -1;
}

int applier_result(struct applier *a, struct applied *out)
{
    return zmq_recv(a->link_end, out, sizeof(*out), ZMQ_DONTWAIT) == (int)sizeof(*out);
}

void applier_stop(struct applier *a)
{
    struct job stop = {.batch = NULL};
    struct applied r;

    if (a == NULL)
        return;
    /* The thread may wait to hand over a result: take them while it finishes. */
    while (zmq_send(a->link_end, &stop, sizeof(stop), ZMQ_DONTWAIT) < 0) {
        while (applier_result(a, &r))
            ;
        zmq_poll(&(zmq_pollitem_t){a->link_end, 0, ZMQ_POLLIN, 0}, 1, 10);
    }
    /* Results sent after the stop was queued are read until the thread ends. */
    for (;;) {
        while (applier_result(a, &r))
            ;
        if (pthread_tryjoin_np(a->thread, NULL) == 0)
            break;
        zmq_poll(&(zmq_pollitem_t){a->link_end, 0, ZMQ_POLLIN, 0}, 1, 10);
    }
    zmq_close(a->link_end);
    zmq_close(a->apply_end);
    db_free(a->db);
    free(a);
}
