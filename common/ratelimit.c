/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ratelimit.c - a fixed number of client slots behind one mutex.
 *
 * Called from every HTTP worker.  A linear scan of at most a few thousand
 * short keys costs microseconds, far less than the database round trip of
 * the request it guards, and keeps the table simple: no hashing, no
 * tombstones, bounded memory whatever the number of clients.  Nothing here
 * allocates after ratelimit_new(), so it cannot fail under load.
 */
#include "ratelimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define US_PER_SECOND 1000000

struct slot {
    char client[RATELIMIT_CLIENT_MAX + 1]; /* "" if free */
    int64_t window_start;
    int64_t blocked_until; /* 0 if not blocked */
    int64_t last_seen;
    int attempts, failures;
};

struct ratelimit {
    pthread_mutex_t lock;
    struct ratelimit_rules rules;
    size_t capacity;
    struct slot slots[];
};

struct ratelimit *ratelimit_new(const struct ratelimit_rules *rules, size_t capacity)
{
    struct ratelimit *rl;

    if (rules->window_us <= 0 || rules->max_attempts <= 0 || rules->max_failures <= 0 ||
        capacity == 0 || capacity > SIZE_MAX / sizeof(struct slot) - 1)
        return NULL;
    rl = calloc(1, sizeof(*rl) + capacity * sizeof(struct slot));
    if (rl == NULL)
        return NULL;
    if (pthread_mutex_init(&rl->lock, NULL) != 0) {
        free(rl);
        return NULL;
    }
    rl->rules = *rules;
    rl->capacity = capacity;
    return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (rl == NULL)
        return;
    pthread_mutex_destroy(&rl->lock);
    free(rl);
}

static int64_t seconds_until(int64_t until, int64_t now)
{
    int64_t wait = (until - now + US_PER_SECOND - 1) / US_PER_SECOND;

    return wait < 1 ? 1 : wait;
}

static int blocked(const struct slot *s, int64_t now)
{
    return s->blocked_until > now;
}

static int window_over(const struct ratelimit *rl, const struct slot *s, int64_t now)
{
    /* A clock that went back starts a new window too. */
    return now < s->window_start || now - s->window_start >= rl->rules.window_us;
}

static struct slot *find(struct ratelimit *rl, const char *client)
{
    for (size_t i = 0; i < rl->capacity; i++)
        if (rl->slots[i].client[0] != '\0' &&
            strncmp(rl->slots[i].client, client, RATELIMIT_CLIENT_MAX) == 0)
            return &rl->slots[i];
    return NULL;
}

/* A slot for a new client: free, else lapsed, else the least recently seen
 * unblocked one; NULL if every client is blocked. */
static struct slot *claim(struct ratelimit *rl, const char *client, int64_t now)
{
    struct slot *pick = NULL;

    for (size_t i = 0; i < rl->capacity; i++) {
        struct slot *s = &rl->slots[i];
        if (s->client[0] == '\0' || (!blocked(s, now) && window_over(rl, s, now))) {
            pick = s;
            break;
        }
        if (!blocked(s, now) && (pick == NULL || s->last_seen < pick->last_seen))
            pick = s;
    }
    if (pick == NULL)
        return NULL;
    memset(pick, 0, sizeof(*pick));
    strncpy(pick->client, client, RATELIMIT_CLIENT_MAX);
    pick->window_start = now;
    return pick;
}

/* The earliest moment a blocked client is let go: the wait of a newcomer
 * when every slot is blocked. */
static int64_t first_release(const struct ratelimit *rl)
{
    int64_t first = INT64_MAX;

    for (size_t i = 0; i < rl->capacity; i++)
        if (rl->slots[i].blocked_until < first)
            first = rl->slots[i].blocked_until;
    return first;
}

int64_t ratelimit_admit(struct ratelimit *rl, const char *client, int64_t now)
{
    int64_t wait = 0;

    pthread_mutex_lock(&rl->lock);
    struct slot *s = find(rl, client);
    if (s == NULL && (s = claim(rl, client, now)) == NULL) {
        wait = seconds_until(first_release(rl), now);
        goto out;
    }
    /* A block set before the clock went back lasts at most one window. */
    if (s->blocked_until > now + rl->rules.window_us)
        s->blocked_until = now + rl->rules.window_us;
    s->last_seen = now;
    if (blocked(s, now)) {
        wait = seconds_until(s->blocked_until, now);
        goto out;
    }
    if (window_over(rl, s, now)) {
        s->window_start = now;
        s->attempts = s->failures = 0;
    }
    if (s->attempts >= rl->rules.max_attempts) {
        s->blocked_until = s->window_start + rl->rules.window_us;
        wait = seconds_until(s->blocked_until, now);
        goto out;
    }
    s->attempts++;
out:
    pthread_mutex_unlock(&rl->lock);
    return wait;
}

void ratelimit_fail(struct ratelimit *rl, const char *client, int64_t now)
{
    pthread_mutex_lock(&rl->lock);
    struct slot *s = find(rl, client);
    if (s != NULL && ++s->failures >= rl->rules.max_failures)
        s->blocked_until = now + rl->rules.window_us;
    pthread_mutex_unlock(&rl->lock);
}
