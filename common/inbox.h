/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inbox.h - the receiving side of exactly-once messaging: a batch of a
 * peer's stream is applied, and the stream's cursor advanced, in one
 * transaction; duplicates are acknowledged again without being applied,
 * and a gap is answered with the number expected.
 */
#ifndef HOTLINE_INBOX_H
#define HOTLINE_INBOX_H

#include "db.h"

#include <stddef.h>
#include <stdint.h>

enum inbox_result {
    INBOX_APPLIED, /* applied, or all duplicates: acknowledge 'applied' */
    INBOX_GAP,     /* a number is missing: ask again after 'applied' */
    INBOX_FAILED,  /* the database failed: say nothing, the sender resends */
};

/*
 * Applies messages first .. first + n - 1 that are new, inside the
 * transaction inbox_apply() opened: item i has number first + i.  Returns
 * 0, or -1 to roll the whole batch back.
 */
typedef int inbox_apply_fn(void *arg, struct db *db, const char *peer, uint64_t first,
                           const char *const *items, const size_t *lens, size_t n);

/*
 * Applies a batch of 'peer''s 'stream' with 'fn' and writes the last
 * applied number into 'applied'.  When the peer can no longer send what is
 * expected ('oldest' is past it: this node was restored from a backup), the
 * cursor moves on to 'oldest' and the log says so; the peer's `resync`
 * fills the hole.
 */
enum inbox_result inbox_apply(struct db *db, const char *peer, int stream, uint64_t first,
                              uint64_t oldest, const char *const *items, const size_t *lens,
                              size_t n, inbox_apply_fn *fn, void *arg, uint64_t *applied);

/* The last number of 'peer''s 'stream' applied here.  Returns 0 or -1. */
int inbox_applied(struct db *db, const char *peer, int stream, uint64_t *applied);

#endif
