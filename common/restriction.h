/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restriction.h - callers restricted from the phone hotline (Art 9): a
 * caller who disrupts the hotline or harasses, insults or threatens its
 * staff may be kept off the phone resource for 30 natural days.
 *
 * A restriction is keyed by the keyed hash of the phone number (the same
 * phone.key at every node of the province, so hashes match everywhere);
 * the number itself is never stored, only its mask (138****8000).  Each
 * restriction has a province-wide id, <node>-R-<sequence>, and names its
 * origin node, so the federation can copy rows between nodes as they are.
 * It ends by itself: it is active while now < until and it was not lifted.
 */
#ifndef HOTLINE_RESTRICTION_H
#define HOTLINE_RESTRICTION_H

#include "auth.h"
#include "db.h"
#include "workflow.h"

#include <jansson.h>
#include <stdint.h>

/* Art 9: "限制其使用热线电话资源30个自然日".  The one place it is said. */
#define RESTRICTION_DAYS       30
#define RESTRICTION_REASON_MAX 500
#define RESTRICTION_ID_MAX     32 /* 440100-R-000012, room for long sequences */
#define RESTRICTION_PHONE_MAX  16 /* digits of a normalised number */

enum restriction_result {
    RESTRICTION_DONE,
    RESTRICTION_NOT_FOUND, /* no restriction with that id */
    RESTRICTION_INACTIVE,  /* lifted already, or expired */
    RESTRICTION_EXISTS,    /* the number is under an active restriction */
    RESTRICTION_FAILED,    /* database error, logged */
};

/*
 * Writes into 'out' the number 'phone' as restrictions know it: the digits
 * of a mobile (1[3-9] and 9 more digits) or of a landline (0, area code and
 * number, 10 to 12 digits, written with or without a dash after a 3- or
 * 4-digit area code): "020-87654321" and "02087654321" are one number.
 * Returns 0, or -1 if 'phone' is not such a number ('out' untouched).
 */
int restriction_phone_normalize(const char *phone, char out[RESTRICTION_PHONE_MAX + 1]);

/* The end of a restriction that starts at 'from' (microseconds). */
int64_t restriction_until(int64_t from);

struct node;

/*
 * Restricts the normalised number 'phone' from 'now' (cut to the second)
 * for RESTRICTION_DAYS, imposed by 'who' at 'node' for 'reason', and shares
 * it (broadcast.h) in the same transaction.  RESTRICTION_DONE stores the
 * new restriction in '*out';
 * RESTRICTION_EXISTS stores the active one that already covers the number;
 * the caller owns '*out'.  RESTRICTION_FAILED otherwise.
 */
enum restriction_result restriction_impose(struct db *db, const struct node *node,
                                           const struct principal *who, const char *phone,
                                           const char *reason, int64_t now, json_t **out);

/*
 * Lifts restriction 'id' early for 'who' of 'node' at 'now', and shares it
 * in the same transaction: whatever node imposed it, it no longer applies
 * anywhere.  RESTRICTION_DONE stores it, lifted, in '*out' (the caller owns
 * it); RESTRICTION_NOT_FOUND, RESTRICTION_INACTIVE or RESTRICTION_FAILED
 * leave '*out' untouched.
 */
enum restriction_result restriction_lift(struct db *db, const struct node *node, const char *id,
                                         const struct principal *who, int64_t now, json_t **out);

/* The restrictions active at 'now', newest first, as a JSON array; NULL on error. */
json_t *restriction_list(struct db *db, int64_t now);

/*
 * Looks for an active restriction of the normalised number 'phone' at 'now'.
 * Returns 1 and writes its id and end into 'id' and '*until', 0 if there is
 * none, -1 on error.
 */
int restriction_find(struct db *db, const struct hotline *h, const char *phone, int64_t now,
                     char id[RESTRICTION_ID_MAX + 1], int64_t *until);

/*
 * Records that 'who' at node 'node' was refused an intake at 'now' because
 * of restriction 'id'.  No phone number is recorded.  Returns 0 or -1.
 */
int restriction_hit(struct db *db, const char *id, const struct principal *who, const char *node,
                    int64_t now);

/*
 * Restriction 'id' as it travels between nodes (broadcast.h): id,
 * origin_node, phone_hash, phone_masked, reason, by {id, name}, from,
 * until, lifted_at and lifted_by {id, name, node} (null unless lifted); no
 * number, no refusals.  JSON null if there is none; NULL on error.
 */
json_t *restriction_wire(struct db *db, const char *id);

/* Returns 1 if 'data' is a restriction in that form named 'key' (any name
 * when 'key' is NULL), else 0. */
int restriction_wire_valid(const char *key, json_t *data);

/*
 * Takes a restriction checked by restriction_wire_valid, from the province
 * ('from' NULL) or from node 'from'.  A restriction new here is added, but
 * one from a node only if that node imposed it; a lifting is taken when the
 * restriction is not lifted here yet, or, from the province, when it says
 * otherwise.  Nothing ever makes a lifted restriction active again.
 * Returns 1 if anything changed, 0 if not, -1 on error.
 */
int restriction_merge(struct db *db, json_t *data, const char *from);

#endif
