/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ticket.c - the rules of REGULATION.md "Intake" and "Handling" as one
 * transition table and a few guards.
 *
 * Pure: the time, the calendar and the periods come in a context, so every
 * rule is tested without a database or a clock.  The decisions the
 * regulation leaves open are here, each in one place:
 *   - the return window is that of a 2-working-day period from the unit's
 *     receipt (Art 10: "within 2 working days of receiving it");
 *   - an approved extension adds one original period, counted in working
 *     days after the current deadline day (Art 11);
 *   - an order is due soon when its deadline falls today or on the next
 *     working day, overdue once its deadline has passed;
 *   - a rating window is counted in natural days from the approval of the
 *     completion; a redo may be asked while it is open, once (Art 15);
 *   - triage may accept an appeal (in scope, its kind and category judged)
 *     before it is dispatched or answered; an accepted appeal is no longer
 *     rejected (Art 7).
 */
#include "ticket.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define RETURN_WINDOW_DAYS 2
#define MAX_EXTENSIONS     2
#define MAX_REDOS          1
#define HOUR_US            (3600 * (int64_t)1000000)
#define DAY_US             (86400 * (int64_t)1000000)

#define BIT(s) (1u << (s))
#define OPEN_STATES                                                                                \
    (BIT(STATUS_REGISTERED) | BIT(STATUS_ACCEPTED) | BIT(STATUS_HANDLING) |                        \
     BIT(STATUS_RETURN_REQUESTED) | BIT(STATUS_EXTENSION_REQUESTED) |                              \
     BIT(STATUS_COMPLETION_REQUESTED) | BIT(STATUS_REDO_REQUESTED))
#define RUNNING_STATES                                                                             \
    (BIT(STATUS_HANDLING) | BIT(STATUS_RETURN_REQUESTED) | BIT(STATUS_EXTENSION_REQUESTED) |       \
     BIT(STATUS_COMPLETION_REQUESTED))
/* Every state this node acts in: not while a transfer is decided elsewhere. */
#define ALL_STATES                                                                                 \
    ((BIT(STATUS_COUNT) - 1) & ~(BIT(STATUS_TRANSFER_PENDING) | BIT(STATUS_TRANSFERRED)))
#define SAME STATUS_COUNT /* the action leaves the status as it is */

typedef int guard_fn(const struct ticket *t, const struct ticket_caller *caller,
                     const struct ticket_input *in, const struct ticket_context *ctx,
                     struct ticket_refusal *why);

struct transition {
    unsigned from; /* bit set of statuses */
    enum ticket_action action;
    unsigned roles;
    guard_fn *guard;
    enum ticket_status to;
};

static int refuse(struct ticket_refusal *why, int status, const char *code, const char *message)
{
    why->status = status;
    why->code = code;
    why->message = message;
    why->field = NULL;
    return -1;
}

/* Art 8: only consultations are answered on the spot. */
static int guard_consultation(const struct ticket *t, const struct ticket_caller *caller,
                              const struct ticket_input *in, const struct ticket_context *ctx,
                              struct ticket_refusal *why)
{
    (void)caller, (void)in, (void)ctx;
    if (t->kind != KIND_CONSULTATION)
        return refuse(why, 409, "not_consultation",
                      "only a consultation is answered on the spot; this order must be "
                      "dispatched");
    return 0;
}

/* Art 10 ¶2: only the hotline office's managers designate a lead unit. */
static int guard_dispatch(const struct ticket *t, const struct ticket_caller *caller,
                          const struct ticket_input *in, const struct ticket_context *ctx,
                          struct ticket_refusal *why)
{
    (void)t, (void)ctx;
    if (in != NULL && in->no_return && caller->role != ROLE_MANAGER)
        return refuse(why, 403, "forbidden",
                      "only a manager may designate a lead unit that cannot return the order");
    return 0;
}

/* Art 10: a return is applied for within 2 working days of receipt, and
 * never for a designated lead unit. */
static int guard_return(const struct ticket *t, const struct ticket_caller *caller,
                        const struct ticket_input *in, const struct ticket_context *ctx,
                        struct ticket_refusal *why)
{
    int provisional;

    (void)caller, (void)in;
    if (t->no_return)
        return refuse(why, 409, "no_return_order",
                      "this unit was designated to lead the order and may not return it");
    if (ctx->now >
        calendar_deadline(ctx->calendar, t->received_at, RETURN_WINDOW_DAYS, &provisional))
        return refuse(why, 409, "return_window_closed",
                      "a return must be applied for within 2 working days of receiving the order");
    return 0;
}

/* Art 10, applied to transfers: a node that took over an appeal may decline
 * it within 2 working days, unless the province decided it is its own. */
static int guard_decline(const struct ticket *t, const struct ticket_caller *caller,
                         const struct ticket_input *in, const struct ticket_context *ctx,
                         struct ticket_refusal *why)
{
    int provisional;

    (void)caller, (void)in;
    if (t->handed_at == 0)
        return refuse(why, 409, "not_transferred",
                      "only an appeal transferred here may be declined");
    if (t->transfer_final)
        return refuse(why, 409, "decided",
                      "the province decided this node handles the appeal; it cannot be declined");
    if (ctx->now > calendar_deadline(ctx->calendar, t->handed_at, RETURN_WINDOW_DAYS, &provisional))
        return refuse(why, 409, "decline_window_closed",
                      "a transfer must be declined within 2 working days of receiving it");
    return 0;
}

/* Art 11: extensions before the deadline, at most two. */
static int guard_extension(const struct ticket *t, const struct ticket_caller *caller,
                           const struct ticket_input *in, const struct ticket_context *ctx,
                           struct ticket_refusal *why)
{
    (void)caller, (void)in;
    if (ctx->now > t->deadline)
        return refuse(why, 409, "deadline_passed",
                      "an extension must be applied for before the deadline");
    if (t->extensions >= MAX_EXTENSIONS)
        return refuse(why, 409, "extension_limit", "the order has had its two extensions");
    return 0;
}

/* An approved return hands the order to another unit. */
static int guard_return_approve(const struct ticket *t, const struct ticket_caller *caller,
                                const struct ticket_input *in, const struct ticket_context *ctx,
                                struct ticket_refusal *why)
{
    (void)caller, (void)ctx;
    if (in != NULL && in->unit != NULL && strcmp(in->unit, t->unit) == 0) {
        refuse(why, 400, "invalid_field", "an approved return hands the order to another unit");
        why->field = "unit";
        return -1;
    }
    return 0;
}

/* Art 7: an accepted appeal keeps its kind and category, or takes the
 * operator's. */
static int guard_accept(const struct ticket *t, const struct ticket_caller *caller,
                        const struct ticket_input *in, const struct ticket_context *ctx,
                        struct ticket_refusal *why)
{
    enum ticket_kind kind;
    size_t i = 0;

    (void)t, (void)caller, (void)ctx;
    if (in == NULL)
        return 0;
    if (in->kind != NULL && ticket_kind_parse(in->kind, &kind) < 0) {
        refuse(why, 400, "invalid_field", "'kind' is not a kind of appeal");
        why->field = "kind";
        return -1;
    }
    while (in->category != NULL && ticket_categories[i] != NULL &&
           strcmp(ticket_categories[i], in->category) != 0)
        i++;
    if (in->category != NULL && ticket_categories[i] == NULL) {
        refuse(why, 400, "invalid_field", "'category' is not a category of appeal");
        why->field = "category";
        return -1;
    }
    return 0;
}

/* Art 15: one rating per round, while the window is open. */
static int guard_rate(const struct ticket *t, const struct ticket_caller *caller,
                      const struct ticket_input *in, const struct ticket_context *ctx,
                      struct ticket_refusal *why)
{
    (void)caller, (void)in;
    if (t->rated)
        return refuse(why, 409, "already_rated", "this order has been rated");
    if (ctx->now > t->rating_due)
        return refuse(why, 409, "rating_closed", "the rating window of this order has ended");
    return 0;
}

/* Art 15: a redo at most once, asked while the rating window is open. */
static int guard_redo(const struct ticket *t, const struct ticket_caller *caller,
                      const struct ticket_input *in, const struct ticket_context *ctx,
                      struct ticket_refusal *why)
{
    (void)caller, (void)in;
    if (t->redos >= MAX_REDOS)
        return refuse(why, 409, "redo_limit", "an order is redone at most once");
    if (ctx->now > t->rating_due)
        return refuse(why, 409, "rating_closed", "the rating window of this order has ended");
    return 0;
}

#define OP ROLE_OPERATOR
#define MG ROLE_MANAGER
#define UN ROLE_UNIT

static const struct transition transitions[] = {
    {BIT(STATUS_REGISTERED), ACTION_ACCEPT, OP, guard_accept, STATUS_ACCEPTED},
    {BIT(STATUS_REGISTERED) | BIT(STATUS_ACCEPTED), ACTION_ANSWER, OP, guard_consultation,
     STATUS_ANSWERED},
    {BIT(STATUS_REGISTERED), ACTION_REJECT, OP, NULL, STATUS_REJECTED},
    {BIT(STATUS_REGISTERED) | BIT(STATUS_ACCEPTED), ACTION_DISPATCH, OP | MG, guard_dispatch,
     STATUS_HANDLING},
    {BIT(STATUS_HANDLING), ACTION_RETURN, UN, guard_return, STATUS_RETURN_REQUESTED},
    {BIT(STATUS_RETURN_REQUESTED), ACTION_RETURN_APPROVE, MG, guard_return_approve,
     STATUS_HANDLING},
    {BIT(STATUS_RETURN_REQUESTED), ACTION_RETURN_REFUSE, MG, NULL, STATUS_HANDLING},
    {BIT(STATUS_HANDLING), ACTION_EXTENSION, UN, guard_extension, STATUS_EXTENSION_REQUESTED},
    {BIT(STATUS_EXTENSION_REQUESTED), ACTION_EXTENSION_APPROVE, MG, NULL, STATUS_HANDLING},
    {BIT(STATUS_EXTENSION_REQUESTED), ACTION_EXTENSION_REFUSE, MG, NULL, STATUS_HANDLING},
    {BIT(STATUS_HANDLING), ACTION_COMPLETION, UN, NULL, STATUS_COMPLETION_REQUESTED},
    {BIT(STATUS_COMPLETION_REQUESTED), ACTION_COMPLETION_APPROVE, MG, NULL, STATUS_COMPLETED},
    {BIT(STATUS_COMPLETION_REQUESTED), ACTION_COMPLETION_SEND_BACK, MG, NULL, STATUS_HANDLING},
    {ALL_STATES, ACTION_NOTE, OP | MG | UN, NULL, SAME},
    {OPEN_STATES, ACTION_SUPERVISE, MG, NULL, SAME},
    {BIT(STATUS_COMPLETED), ACTION_RATE, OP | ROLE_CITIZEN, guard_rate, SAME},
    {BIT(STATUS_COMPLETED), ACTION_REDO, OP, guard_redo, STATUS_REDO_REQUESTED},
    {BIT(STATUS_REDO_REQUESTED), ACTION_REDO_APPROVE, MG, NULL, STATUS_HANDLING},
    {BIT(STATUS_REDO_REQUESTED), ACTION_REDO_REFUSE, MG, NULL, STATUS_COMPLETED},
    {ALL_STATES, ACTION_LINK, OP | MG, NULL, SAME},
    {BIT(STATUS_REGISTERED) | BIT(STATUS_ACCEPTED), ACTION_TRANSFER, OP | MG, NULL,
     STATUS_TRANSFER_PENDING},
    /* An intake service forwards the appeal it registers for another
     * node's jurisdiction (Open311 at the province), before any triage. */
    {BIT(STATUS_REGISTERED), ACTION_TRANSFER, ROLE_SERVICE, NULL, STATUS_TRANSFER_PENDING},
    {BIT(STATUS_REGISTERED) | BIT(STATUS_ACCEPTED), ACTION_DECLINE, OP | MG, guard_decline,
     STATUS_TRANSFER_PENDING},
};

#define NTRANSITIONS (sizeof(transitions) / sizeof(transitions[0]))

static const char *const status_names[STATUS_COUNT] = {
    [STATUS_REGISTERED] = "registered",
    [STATUS_ANSWERED] = "answered",
    [STATUS_REJECTED] = "rejected",
    [STATUS_HANDLING] = "handling",
    [STATUS_RETURN_REQUESTED] = "return_requested",
    [STATUS_EXTENSION_REQUESTED] = "extension_requested",
    [STATUS_COMPLETION_REQUESTED] = "completion_requested",
    [STATUS_COMPLETED] = "completed",
    [STATUS_REDO_REQUESTED] = "redo_requested",
    [STATUS_CLOSED] = "closed",
    [STATUS_TRANSFER_PENDING] = "transfer_pending",
    [STATUS_TRANSFERRED] = "transferred",
    [STATUS_ACCEPTED] = "accepted",
};

const char *const ticket_kinds[KIND_COUNT + 1] = {
    [KIND_CONSULTATION] = "consultation", [KIND_HELP] = "help",
    [KIND_COMPLAINT] = "complaint",       [KIND_REPORT] = "report",
    [KIND_SUGGESTION] = "suggestion",     [KIND_COUNT] = NULL,
};

static const struct {
    const char *event;
    const char *route;
} action_names[ACTION_COUNT] = {
    [ACTION_ANSWER] = {"answer", "answer"},
    [ACTION_REJECT] = {"reject", "reject"},
    [ACTION_DISPATCH] = {"dispatch", "dispatch"},
    [ACTION_RETURN] = {"return", "return"},
    [ACTION_RETURN_APPROVE] = {"return/review:approve", "return/review"},
    [ACTION_RETURN_REFUSE] = {"return/review:refuse", "return/review"},
    [ACTION_EXTENSION] = {"extension", "extension"},
    [ACTION_EXTENSION_APPROVE] = {"extension/review:approve", "extension/review"},
    [ACTION_EXTENSION_REFUSE] = {"extension/review:refuse", "extension/review"},
    [ACTION_COMPLETION] = {"completion", "completion"},
    [ACTION_COMPLETION_APPROVE] = {"completion/review:approve", "completion/review"},
    [ACTION_COMPLETION_SEND_BACK] = {"completion/review:send_back", "completion/review"},
    [ACTION_NOTE] = {"note", "notes"},
    [ACTION_SUPERVISE] = {"supervise", "supervise"},
    [ACTION_RATE] = {"rating", "rating"},
    [ACTION_REDO] = {"redo", "redo"},
    [ACTION_REDO_APPROVE] = {"redo/review:approve", "redo/review"},
    [ACTION_REDO_REFUSE] = {"redo/review:refuse", "redo/review"},
    [ACTION_LINK] = {"link", "link"},
    [ACTION_TRANSFER] = {"transfer", "transfer"},
    [ACTION_DECLINE] = {"transfer/decline", "transfer/decline"},
    [ACTION_ACCEPT] = {"accept", "accept"},
};

static int name_parse(const char *const *names, int n, const char *s, int *out)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i], s) == 0) {
            *out = i;
            return 0;
        }
    }
    return -1;
}

const char *const ticket_categories[] = {
    "economic_regulation", "market_supervision",     "social_management",
    "public_service",      "ecological_environment", NULL,
};

const char *const ticket_reject_reasons[] = {
    "outside_jurisdiction", /* 1 */
    "other_legal_channel",  /* 2: litigation, arbitration, reconsideration, ... */
    "petition_channel",     /* 3 */
    "secret_or_privacy",    /* 4 */
    "abusive_or_empty",     /* 5 */
    "repeat",               /* 6 */
    "other",                /* 7 */
    NULL,
};

int ticket_id_valid(const char *id)
{
    static const char shape[] = "999999-99999999-999999";

    for (size_t i = 0; i < sizeof(shape) - 1; i++) {
        if (shape[i] == '-' ? id[i] != '-' : (id[i] < '0' || id[i] > '9'))
            return 0;
    }
    return id[sizeof(shape) - 1] == '\0';
}

const char *ticket_status_name(enum ticket_status s)
{
    return s < STATUS_COUNT ? status_names[s] : "unknown";
}

int ticket_status_parse(const char *s, enum ticket_status *out)
{
    int i;

    if (name_parse(status_names, STATUS_COUNT, s, &i) < 0)
        return -1;
    *out = (enum ticket_status)i;
    return 0;
}

const char *ticket_kind_name(enum ticket_kind k)
{
    return k < KIND_COUNT ? ticket_kinds[k] : "unknown";
}

int ticket_kind_parse(const char *s, enum ticket_kind *out)
{
    int i;

    if (name_parse(ticket_kinds, KIND_COUNT, s, &i) < 0)
        return -1;
    *out = (enum ticket_kind)i;
    return 0;
}

const char *ticket_action_name(enum ticket_action a)
{
    return a < ACTION_COUNT ? action_names[a].event : "unknown";
}

const char *ticket_action_route(enum ticket_action a)
{
    return a < ACTION_COUNT ? action_names[a].route : "unknown";
}

int ticket_running(enum ticket_status status)
{
    return (RUNNING_STATES & BIT(status)) != 0;
}

int ticket_closed(enum ticket_status status)
{
    return ((OPEN_STATES | BIT(STATUS_TRANSFER_PENDING)) & BIT(status)) == 0;
}

int ticket_visible(const struct ticket *t, const struct ticket_caller *caller)
{
    /* A citizen's one-time token was checked against this very ticket. */
    if (caller->role == ROLE_CITIZEN)
        return 1;
    if (caller->role == ROLE_UNIT)
        return caller->unit != NULL && strcmp(t->unit, caller->unit) == 0;
    /* An intake service reads nothing through the API; the rules let it
     * act only on an appeal not yet triaged (a transfer at intake). */
    if (caller->role == ROLE_SERVICE)
        return t->status == STATUS_REGISTERED;
    return (caller->role & (ROLE_OPERATOR | ROLE_MANAGER | ROLE_AUDITOR)) != 0;
}

int ticket_check(const struct ticket *t, enum ticket_action action,
                 const struct ticket_caller *caller, const struct ticket_input *in,
                 const struct ticket_context *ctx, struct ticket_refusal *why)
{
    int role_may = 0;

    if (!ticket_visible(t, caller))
        return refuse(why, 404, "not_found", "no such ticket");
    for (size_t i = 0; i < NTRANSITIONS; i++) {
        const struct transition *tr = &transitions[i];
        if (tr->action != action || !(tr->roles & caller->role))
            continue;
        role_may = 1;
        if (!(tr->from & BIT(t->status)))
            continue;
        return tr->guard != NULL ? tr->guard(t, caller, in, ctx, why) : 0;
    }
    if (!role_may)
        return refuse(why, 403, "forbidden", "this role may not do this");
    return refuse(why, 409, "illegal_transition",
                  "this cannot be done in the order's current state");
}

/* One handling period of 't' counted from 'from': by its kind, or the
 * national platform's period for the orders it hands down. */
static int64_t deadline_after(const struct ticket_context *ctx, int64_t from,
                              const struct ticket *t, int *provisional)
{
    int days = t->national ? ctx->periods->national : ctx->periods->days[t->kind];

    return calendar_deadline(ctx->calendar, from, days, provisional);
}

/* The unit takes the order now: its period starts (Art 10, Art 11). */
static void receive(struct ticket *t, const char *unit, const struct ticket_context *ctx)
{
    size_t len = strnlen(unit, UNIT_CODE_MAX);

    memmove(t->unit, unit, len); /* 'unit' may be t->unit itself (a redo) */
    t->unit[len] = '\0';
    t->received_at = ctx->now;
    if (t->emergency_hours > 0) {
        /* Art 14: an emergency is handled at once, in hours, whatever the day. */
        t->deadline = ctx->now + (int64_t)t->emergency_hours * HOUR_US;
        t->provisional = 0;
    } else {
        t->deadline = deadline_after(ctx, ctx->now, t, &t->provisional);
    }
    t->due_soon = t->overdue = 0;
}

void ticket_apply(struct ticket *t, enum ticket_action action, const struct ticket_input *in,
                  const struct ticket_context *ctx)
{
    int provisional;

    switch (action) {
    case ACTION_DISPATCH:
        receive(t, in->unit, ctx);
        t->no_return = in->no_return;
        break;
    case ACTION_RETURN_APPROVE:
        receive(t, in->unit, ctx);
        /* The office may make the new unit the lead, who cannot return it (Art 10 ¶2). */
        t->no_return = in->no_return;
        t->returns++;
        break;
    case ACTION_EXTENSION_APPROVE:
        if (t->emergency_hours > 0) {
            t->deadline += (int64_t)t->emergency_hours * HOUR_US;
        } else {
            t->deadline = deadline_after(ctx, t->deadline, t, &provisional);
            t->provisional |= provisional;
        }
        t->extensions++;
        ticket_tick(t, ctx);
        break;
    case ACTION_SUPERVISE:
        t->supervised = 1;
        break;
    case ACTION_COMPLETION_APPROVE:
        t->rating_due = ctx->now + (int64_t)ctx->periods->rating_window_days * DAY_US;
        t->rated = 0;
        t->due_soon = t->overdue = 0;
        break;
    case ACTION_RATE:
        t->rated = 1;
        break;
    case ACTION_ACCEPT:
        if (in->kind != NULL)
            ticket_kind_parse(in->kind, &t->kind);
        if (in->category != NULL)
            snprintf(t->category, sizeof(t->category), "%s", in->category);
        break;
    case ACTION_REDO_APPROVE:
        /* Back to the same unit with a fresh period of the original length. */
        receive(t, t->unit, ctx);
        t->redos++;
        t->rated = 0;
        t->rating_due = 0;
        break;
    default:
        break;
    }
    for (size_t i = 0; i < NTRANSITIONS; i++) {
        if (transitions[i].action == action && (transitions[i].from & BIT(t->status))) {
            if (transitions[i].to != SAME)
                t->status = transitions[i].to;
            break;
        }
    }
}

int ticket_expire(struct ticket *t, const struct ticket_context *ctx)
{
    if (t->status != STATUS_COMPLETED || t->rating_due == 0 || ctx->now <= t->rating_due)
        return 0;
    t->status = STATUS_CLOSED;
    return 1;
}

int ticket_tick(struct ticket *t, const struct ticket_context *ctx)
{
    int changed = 0;

    if (!ticket_running(t->status) || t->deadline == 0)
        return 0;
    int overdue = ctx->now > t->deadline;
    int32_t today = calendar_day_of(ctx->now), due = calendar_day_of(t->deadline);
    int32_t next = today + 1;
    for (int i = 0; i < 366 && !calendar_is_working_day(ctx->calendar, next); i++)
        next++;
    int due_soon = !overdue && due <= next;

    if (due_soon && !t->due_soon)
        changed |= 1;
    if (overdue && !t->overdue)
        changed |= 2;
    t->due_soon = due_soon;
    t->overdue = overdue;
    return changed;
}

size_t ticket_allowed(const struct ticket *t, const struct ticket_caller *caller,
                      const struct ticket_context *ctx, const char *out[ACTION_COUNT])
{
    struct ticket_refusal why;
    size_t n = 0;

    for (int a = 0; a < ACTION_COUNT; a++) {
        const char *route = action_names[a].route;
        if (n > 0 && strcmp(out[n - 1], route) == 0)
            continue;
        if (ticket_check(t, (enum ticket_action)a, caller, NULL, ctx, &why) == 0)
            out[n++] = route;
    }
    return n;
}
