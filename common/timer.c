/* SPDX-License-Identifier: Apache-2.0 */
/*
 * timer.c - the clock thread of a node.
 *
 * Wakes every clock_interval_ms and runs the time-driven work of the
 * workflow, and offers what the intake queue holds past its threshold.  It owns one database
 * connection, made lazily and remade after a failure, so a database outage only delays the marking:
 * nothing is lost, the next round catches up.
 */
#include "timer.h"

#include "clock.h"
#include "log.h"
#include "overflow.h"
#include "statsdb.h"
#include "ticketdb.h"

#include <zmq.h>

int timer_run(struct node *node, void *control)
{
    struct db *db = NULL;

    for (;;) {
        zmq_pollitem_t item = {control, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, node->cfg.clock_interval_ms) < 0 && zmq_errno() != EINTR)
            break;
        if (item.revents & ZMQ_POLLIN)
            break;
        if (db == NULL)
            db = db_connect(node->cfg.database, 0);
        if (db == NULL || !db_alive(db))
            continue;
        int changed = workflow_tick(db, &node->hotline);
        if (changed > 0)
            log_info("marked %d orders due soon or overdue", changed);
        statsdb_refresh(db);
        if (ticketdb_report(db, node->cfg.node_code, clock_now_us()) < 0)
            log_warnx("cannot report the day's events to the province now");
        if (overflow_tick(db, node) < 0)
            log_warnx("cannot offer the queue's excess for overflow now");
    }
    db_free(db);
    return 0;
}
