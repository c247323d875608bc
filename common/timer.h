/* SPDX-License-Identifier: Apache-2.0 */
/*
 * timer.h - the clock thread: what happens because time passes.
 */
#ifndef HOTLINE_TIMER_H
#define HOTLINE_TIMER_H

#include "node.h"

/*
 * Every clock_interval_ms, marks due-soon and overdue orders and offers the
 * intake queue's excess for overflow, on a database connection of its own,
 * until a message arrives on 'control'.  Returns 0.
 */
int timer_run(struct node *node, void *control);

#endif
