/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hub.h - the province's link thread: one ROUTER for every city.
 */
#ifndef HOTLINE_HUB_H
#define HOTLINE_HUB_H

#include "node.h"

/* The link_run of the province node (see struct node_kind). */
int hub_run(struct node *node, void *control);

#endif
