/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uplink.h - the city's link thread: one DEALER to the province.
 */
#ifndef HOTLINE_UPLINK_H
#define HOTLINE_UPLINK_H

#include "node.h"

/* The link_run of the city node (see struct node_kind). */
int uplink_run(struct node *node, void *control);

#endif
