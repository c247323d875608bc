/* SPDX-License-Identifier: Apache-2.0 */
/*
 * transfer.c - building and checking the signed messages of transfers.
 */
#include "transfer.h"

#include "config.h"
#include "ticket.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int transfer_sign(const struct sign_key *k, json_t *body, struct transfer_signed *out)
{
    out->text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(body);
    if (out->text == NULL || sign_text(k, out->text, strlen(out->text), out->signature) < 0) {
        free(out->text);
        out->text = NULL;
        return -1;
    }
    return 0;
}

static int is_code(json_t *v)
{
    const char *s = json_string_value(v);

    return s != NULL && (config_code_valid(s, NODE_CITY) || config_code_valid(s, NODE_PROVINCE));
}

static int is_text(json_t *v)
{
    return json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) <= 2000;
}

/* The head of a ticket's chain: its last event's number and hash (none
 * when it has no event). */
static int head_ok(json_t *h)
{
    json_t *seq = json_object_get(h, "seq"), *hash = json_object_get(h, "hash");

    return json_is_integer(seq) && json_integer_value(seq) >= 0 &&
           json_integer_value(seq) <= 1000000 &&
           (json_integer_value(seq) == 0 ? json_is_null(hash) || json_is_string(hash)
                                         : json_is_string(hash));
}

/* The fields every body has, and those of its kind. */
static int well_formed(json_t *b, const char *kind)
{
    const char *id = json_string_value(json_object_get(b, "transfer"));
    const char *ticket = json_string_value(json_object_get(b, "ticket"));

    if (id == NULL || ticket == NULL || !transfer_id_valid(id) ||
        strncmp(id, ticket, strlen(ticket)) != 0 || !is_text(json_object_get(b, "at")))
        return 0;
    if (strcmp(kind, "offer") == 0)
        return is_code(json_object_get(b, "from")) && is_code(json_object_get(b, "to")) &&
               json_integer_value(json_object_get(b, "epoch")) > 0 &&
               is_text(json_object_get(b, "reason")) && head_ok(json_object_get(b, "head"));
    if (strcmp(kind, "accept") == 0)
        return is_code(json_object_get(b, "node"));
    if (strcmp(kind, "decline") == 0)
        return is_code(json_object_get(b, "node")) && is_text(json_object_get(b, "reason"));
    if (strcmp(kind, "decision") == 0) {
        const char *outcome = json_string_value(json_object_get(b, "outcome"));
        return is_code(json_object_get(b, "owner")) &&
               json_integer_value(json_object_get(b, "epoch")) > 0 && outcome != NULL &&
               (strcmp(outcome, "handed_off") == 0 || strcmp(outcome, "refused") == 0 ||
                strcmp(outcome, "decided") == 0) &&
               json_is_boolean(json_object_get(b, "final")) &&
               (json_object_get(b, "version") == NULL ||
                (json_integer_value(json_object_get(b, "version")) > 0 &&
                 json_integer_value(json_object_get(b, "version")) < INT32_MAX));
    }
    return 0;
}

json_t *transfer_open(json_t *msg, const char *key, const char *kind, const char **why)
{
    const char *text = json_string_value(json_object_get(msg, "body"));
    const char *sig = json_string_value(json_object_get(msg, "signature"));

    if (text == NULL || sig == NULL) {
        *why = "no body or no signature";
        return NULL;
    }
    if (!sign_verify(key, text, strlen(text), sig)) {
        *why = "the signature is not the signing node's";
        return NULL;
    }
    json_t *body = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    const char *k = json_string_value(json_object_get(body, "kind"));
    if (k == NULL || strcmp(k, kind) != 0 || !well_formed(body, kind)) {
        json_decref(body);
        *why = "not a well-formed transfer message";
        return NULL;
    }
    return body;
}

int transfer_id_valid(const char *id)
{
    const char *slash = strchr(id, '.');
    char ticket[TICKET_ID_LEN + 1];

    if (slash == NULL || (size_t)(slash - id) != TICKET_ID_LEN || strlen(slash + 1) == 0 ||
        strlen(slash + 1) > 4 || strspn(slash + 1, "0123456789") != strlen(slash + 1) ||
        slash[1] == '0')
        return 0;
    memcpy(ticket, id, TICKET_ID_LEN);
    ticket[TICKET_ID_LEN] = '\0';
    return ticket_id_valid(ticket);
}
