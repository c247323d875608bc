/* SPDX-License-Identifier: Apache-2.0 */
/*
 * progress.c - the two tables of the public progress view: states and
 * steps.  An event whose action is not in the step table stays internal,
 * so an action added to the workflow later is hidden until someone decides
 * that citizens should see it.
 */
#include "progress.h"

#include <stdio.h>
#include <string.h>

static const char *const statuses[STATUS_COUNT] = {
    [STATUS_REGISTERED] = "registered",
    [STATUS_ANSWERED] = "answered",
    [STATUS_REJECTED] = "rejected",
    [STATUS_HANDLING] = "handling",
    [STATUS_RETURN_REQUESTED] = "handling",
    [STATUS_EXTENSION_REQUESTED] = "handling",
    [STATUS_COMPLETION_REQUESTED] = "handling",
    [STATUS_COMPLETED] = "completed",
    [STATUS_REDO_REQUESTED] = "redo_requested",
    [STATUS_CLOSED] = "closed",
    [STATUS_ACCEPTED] = "registered", /* still waiting for a handling unit */
};

static const struct progress_step steps[] = {
    {"register", "registered", "Appeal registered", 0},
    {"answer", "answered", "Answered by the hotline", 0},
    {"reject", "rejected", "Not accepted by the hotline", 0},
    {"dispatch", "dispatched", "Dispatched to", 1},
    {"return/review:approve", "transferred", "Transferred to", 1},
    {"extension/review:approve", "extended", "Handling period extended", 0},
    {"completion/review:approve", "completed", "Completed", 0},
    {"redo/review:approve", "redo", "Sent back to be handled again", 0},
    {"close", "closed", "Closed", 0},
};

const char *progress_status(enum ticket_status s)
{
    return (unsigned)s < STATUS_COUNT && statuses[s] != NULL ? statuses[s] : "handling";
}

const struct progress_step *progress_step(const char *action)
{
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
        if (strcmp(steps[i].action, action) == 0)
            return &steps[i];
    return NULL;
}

void progress_label(const struct progress_step *step, const char *unit_name, char *out, size_t cap)
{
    if (cap == 0)
        return;
    if (!step->names_unit) {
        snprintf(out, cap, "%s", step->label);
        return;
    }
    int n =
        snprintf(out, cap, "%s %s", step->label, unit_name != NULL ? unit_name : "a handling unit");
    /* Cut: drop a last character that lost some of its bytes. */
    if (n >= 0 && (size_t)n >= cap) {
        size_t len = strlen(out), start = len;
        while (start > 0 && ((unsigned char)out[start - 1] & 0xc0) == 0x80)
            start--;
        if (start > 0) {
            unsigned char lead = (unsigned char)out[start - 1];
            size_t need = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
            if (len - (start - 1) < need)
                out[start - 1] = '\0';
        }
    }
}
