/* SPDX-License-Identifier: Apache-2.0 */
/*
 * progress.h - what a citizen may learn of an appeal's progress (Art 12),
 * pure: the public status of each state, and the public step, if any, of
 * each event of a ticket's history.
 *
 * A citizen sees where the appeal is and what happened when; never who did
 * it, why, the notes, the reviews or the requests a manager refused.  The
 * states a manager is deciding on read as "handling".
 */
#ifndef HOTLINE_PROGRESS_H
#define HOTLINE_PROGRESS_H

#include "ticket.h"

#include <stddef.h>

#define PROGRESS_LABEL_MAX 512

struct progress_step {
    const char *action; /* the event's action: "dispatch", "completion/review:approve" */
    const char *code;   /* what the citizen sees: "dispatched", "completed" */
    const char *label;  /* in words; a step that names a unit ends with it */
    int names_unit;     /* the event's detail names the unit ("unit") */
};

/* The status a citizen sees for 's'; "handling" for any state it does not know. */
const char *progress_status(enum ticket_status s);

/* The public step of events with 'action', or NULL if citizens do not see them. */
const struct progress_step *progress_step(const char *action);

/*
 * Writes the label of 'step' into 'out' of 'cap' bytes, followed by the name
 * of the unit 'unit_name' when the step names one ("a handling unit" when
 * it is NULL); a name too long for 'out' is cut at a character boundary.
 */
void progress_label(const struct progress_step *step, const char *unit_name, char *out, size_t cap);

#endif
