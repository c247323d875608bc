/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.c - counters as relaxed atomics, rendered on demand.
 *
 * HTTP workers and the link thread add; an HTTP worker renders.  Counts are
 * monotonic, so a reader never needs a consistent snapshot of all of them.
 */
#include "metrics.h"

#include "clock.h"
#include "wire.h"

#include <stdatomic.h>

#define MIN_STATUS 100
#define MAX_STATUS 599
#define MAX_KIND   64

static atomic_uint_fast64_t http_counts[METRICS_MAX_ROUTES + 1][MAX_STATUS - MIN_STATUS + 1];
static atomic_uint_fast64_t link_sent[MAX_KIND], link_received[MAX_KIND];
static atomic_int link_up, nodes_connected;
static atomic_int_fast64_t link_heartbeat_us, link_heard_ms;
static int64_t started_ms;
static atomic_uint_fast64_t stream_queued, stream_in_flight, stream_acked;
static atomic_int_fast64_t stream_lag_ms;

void metrics_start(void)
{
    started_ms = clock_mono_ms();
}

void metrics_http(size_t route, int status)
{
    if (route > METRICS_MAX_ROUTES || status < MIN_STATUS || status > MAX_STATUS)
        return;
    atomic_fetch_add_explicit(&http_counts[route][status - MIN_STATUS], 1, memory_order_relaxed);
}

void metrics_link_sent(int kind)
{
    if (kind >= 0 && kind < MAX_KIND)
        atomic_fetch_add_explicit(&link_sent[kind], 1, memory_order_relaxed);
}

void metrics_link_received(int kind)
{
    if (kind >= 0 && kind < MAX_KIND)
        atomic_fetch_add_explicit(&link_received[kind], 1, memory_order_relaxed);
}

void metrics_set_link_up(int up, int64_t last_heartbeat_us)
{
    atomic_store(&link_heartbeat_us, last_heartbeat_us);
    atomic_store(&link_up, up);
    if (up)
        atomic_store(&link_heard_ms, clock_mono_ms());
}

int64_t metrics_link_silent_ms(void)
{
    int64_t heard = atomic_load(&link_heard_ms);

    return clock_mono_ms() - (heard != 0 ? heard : started_ms);
}

int metrics_link_up(int64_t *last_heartbeat_us)
{
    if (last_heartbeat_us != NULL)
        *last_heartbeat_us = atomic_load(&link_heartbeat_us);
    return atomic_load(&link_up);
}

void metrics_set_stream(uint64_t queued, uint64_t in_flight, uint64_t acked, double lag)
{
    atomic_store(&stream_queued, queued);
    atomic_store(&stream_in_flight, in_flight);
    atomic_store(&stream_acked, acked);
    atomic_store(&stream_lag_ms, (int64_t)(lag * 1000));
}

void metrics_stream(uint64_t *queued, uint64_t *in_flight, uint64_t *acked, double *lag)
{
    *queued = atomic_load(&stream_queued);
    *in_flight = atomic_load(&stream_in_flight);
    *acked = atomic_load(&stream_acked);
    *lag = (double)atomic_load(&stream_lag_ms) / 1000;
}

void metrics_set_nodes_connected(int n)
{
    atomic_store(&nodes_connected, n);
}

int metrics_nodes_connected(void)
{
    return atomic_load(&nodes_connected);
}

static void render_family(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void render_link(FILE *out, const char *name, const char *help, atomic_uint_fast64_t *c)
{
    render_family(out, name, "counter", help);
    for (size_t i = 0; i < wire_payload_count(); i++) {
        int kind = (int)wire_payload_at(i);
        fprintf(out, "%s{type=\"%s\"} %llu\n", name, wire_payload_name(kind),
                (unsigned long long)atomic_load_explicit(&c[kind], memory_order_relaxed));
    }
}

void metrics_render(FILE *out, const char *const *labels, size_t nroutes)
{
    render_family(out, "hotline_uptime_seconds", "gauge", "Seconds since the node started.");
    fprintf(out, "hotline_uptime_seconds %.3f\n", (double)(clock_mono_ms() - started_ms) / 1000);

    render_family(out, "hotline_http_requests_total", "counter",
                  "HTTP requests answered, by route and status.");
    for (size_t r = 0; r <= METRICS_MAX_ROUTES; r++) {
        const char *route = r == METRICS_NO_ROUTE ? "route=\"unmatched\""
                            : r < nroutes         ? labels[r]
                                                  : NULL;
        if (route == NULL)
            continue;
        for (int s = MIN_STATUS; s <= MAX_STATUS; s++) {
            uint64_t n =
                atomic_load_explicit(&http_counts[r][s - MIN_STATUS], memory_order_relaxed);
            if (n > 0)
                fprintf(out, "hotline_http_requests_total{%s,status=\"%d\"} %llu\n", route, s,
                        (unsigned long long)n);
        }
    }

    render_family(out, "hotline_link_up", "gauge", "1 while the link to the province is up.");
    fprintf(out, "hotline_link_up %d\n", atomic_load(&link_up));
    render_family(out, "hotline_federation_nodes_connected", "gauge",
                  "Nodes with a live session at this node.");
    fprintf(out, "hotline_federation_nodes_connected %d\n", atomic_load(&nodes_connected));
    uint64_t queued, in_flight, acked;
    double lag;
    metrics_stream(&queued, &in_flight, &acked, &lag);
    render_family(out, "hotline_link_queued", "gauge",
                  "Ticket changes not yet acknowledged by the province.");
    fprintf(out, "hotline_link_queued{stream=\"tickets\"} %llu\n", (unsigned long long)queued);
    render_family(out, "hotline_link_in_flight", "gauge",
                  "Ticket changes sent, not yet acknowledged.");
    fprintf(out, "hotline_link_in_flight{stream=\"tickets\"} %llu\n",
            (unsigned long long)in_flight);
    render_family(out, "hotline_link_acked_seq", "gauge",
                  "Last ticket change the province applied.");
    fprintf(out, "hotline_link_acked_seq{stream=\"tickets\"} %llu\n", (unsigned long long)acked);
    render_family(out, "hotline_link_lag_seconds", "gauge",
                  "Age of the oldest ticket change not yet acknowledged.");
    fprintf(out, "hotline_link_lag_seconds{stream=\"tickets\"} %.3f\n", lag);
    render_link(out, "hotline_link_messages_sent_total", "Federation messages sent, by type.",
                link_sent);
    render_link(out, "hotline_link_messages_received_total",
                "Federation messages received, by type.", link_received);
}
