/* SPDX-License-Identifier: Apache-2.0 */
/*
 * importwriter.h - the writing side of `city-node import`: a thread of its
 * own, on a connection of its own, that writes one batch of rows while the
 * command reads, checks and lays out the next (importdb.c).
 */
#ifndef HOTLINE_IMPORTWRITER_H
#define HOTLINE_IMPORTWRITER_H

#include "crypto.h"

#include <stdint.h>
#include <sys/types.h>

/* The rows of one table in COPY's text format. */
struct importwriter_rows {
    char *data;
    size_t len, cap;
};

/*
 * A batch as it is written: its rows, and the file's checkpoint once it is
 * in (the whole file's counts).  The caller owns it and its buffers; the
 * writer only reads it, from importwriter_submit() until
 * importwriter_wait() returns.
 */
struct importwriter_batch {
    struct importwriter_rows tickets, events, ratings, outbox;
    struct importwriter_rows approvals;  /* ticket id, seq, deadline of approvals a redo moved on */
    char key[CRYPTO_SHA256_HEX_LEN + 1]; /* the file's key (importdb.c); "" for a stream */
    off_t offset;                        /* where the line after the batch starts */
    long long line, imported, refused;   /* lines read, imported and refused by then */
    int64_t now;                         /* the checkpoint's time */
};

struct importwriter;

/*
 * Connects to 'conninfo' and starts the thread.  Returns the writer, or
 * NULL (logged).
 */
struct importwriter *importwriter_start(const char *conninfo);

/*
 * Hands 'b' to the writer, which writes it in one transaction: the rows
 * with COPY, the deadlines of its approvals, a notification for the
 * outbox, and the checkpoint.  At most one batch is in flight: the caller
 * waits for the one before first.  Returns 0, or -1 (logged).
 */
int importwriter_submit(struct importwriter *w, struct importwriter_batch *b);

/*
 * Waits for the batch in flight.  Returns 0 when it was committed (or none
 * was in flight), -1 when it was not (logged): nothing of it is written.
 */
int importwriter_wait(struct importwriter *w);

/* Waits for the batch in flight, stops the thread and closes its
 * connection; sets '*w' to NULL.  Safe on NULL. */
void importwriter_free(struct importwriter **w);

#endif
