/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.h - the node's counters and gauges, rendered in the Prometheus
 * text format at /metrics.
 *
 * They are the one piece of memory the threads share: lock-free atomic
 * integers that one thread adds to and another reads.  Nothing here is
 * business state, and nothing carries personal data.
 */
#ifndef HOTLINE_METRICS_H
#define HOTLINE_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define METRICS_MAX_ROUTES 128
/* The route index counted for requests that matched no route. */
#define METRICS_NO_ROUTE METRICS_MAX_ROUTES

/* Records the start of the process, for the uptime gauge. */
void metrics_start(void);

/* Counts one HTTP answer with 'status' for route number 'route'. */
void metrics_http(size_t route, int status);

/* Counts one federation message of payload kind 'kind' (its field number). */
void metrics_link_sent(int kind);
void metrics_link_received(int kind);

/* Link state: the city's uplink, the province's count of connected nodes. */
void metrics_set_link_up(int up, int64_t last_heartbeat_us);
int metrics_link_up(int64_t *last_heartbeat_us);
/* Milliseconds since the link was last up, or since the process started. */
int64_t metrics_link_silent_ms(void);
void metrics_set_nodes_connected(int n);
int metrics_nodes_connected(void);

/* The ticket stream to the province: messages not yet acknowledged, sent
 * and not yet acknowledged, the last acknowledged number, and the age in
 * seconds of the oldest unacknowledged message. */
void metrics_set_stream(uint64_t queued, uint64_t in_flight, uint64_t acked, double lag);
void metrics_stream(uint64_t *queued, uint64_t *in_flight, uint64_t *acked, double *lag);

/*
 * Writes every metric to 'out' in the Prometheus text format 0.0.4.
 * 'labels[i]' is the label set of route i, e.g. method="GET",route="/healthz".
 */
void metrics_render(FILE *out, const char *const *labels, size_t nroutes);

#endif
