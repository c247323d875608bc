/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restriction_api.h - the HTTP face of caller restrictions (Art 9):
 *   POST   /api/v1/restrictions {"phone", "reason"}   operator, manager
 *   GET    /api/v1/restrictions                       operator, manager, auditor
 *   DELETE /api/v1/restrictions/{id}                  manager (lifts it early)
 * and the check intake makes before it registers an appeal by phone.
 */
#ifndef HOTLINE_RESTRICTION_API_H
#define HOTLINE_RESTRICTION_API_H

#include "clock.h"
#include "db.h"
#include "http.h"
#include "restriction.h"
#include "workflow.h"

#include <stddef.h>

/* The route table; the handlers expect http_app() to be the struct node. */
extern const struct http_route restriction_routes[];
extern const size_t restriction_routes_len;

/*
 * Checks an appeal by 'who' from 'phone' over 'channel' against the caller
 * restrictions, as restriction_refused() does, without answering: returns
 * 1 if it is refused (the refusal recorded; the restriction's id in 'id'
 * and its end, to the second, in 'until'), 0 if it may go on, -1 if the
 * restrictions cannot be read.  For intake that answers in another format.
 */
int restriction_check(struct db *db, const struct hotline *h, const struct principal *who,
                      const char *phone, const char *channel, char id[RESTRICTION_ID_MAX + 1],
                      char until[CLOCK_RFC3339_LEN]);

/*
 * Called by intake with the validated caller's 'phone' and the appeal's
 * 'channel'.  An appeal by phone from a number under an active restriction
 * is refused: answers 403 "caller_restricted" (naming the restriction and
 * its end, never the number), records the refusal and returns 1.  Also
 * returns 1 having answered 500 if the restrictions cannot be read.
 * Returns 0, without answering, when intake may go on: another channel (the
 * regulation restricts the phone resource only) or no restriction.
 */
int restriction_refused(struct http_request *req, struct db *db, const struct hotline *h,
                        const char *phone, const char *channel);

#endif
