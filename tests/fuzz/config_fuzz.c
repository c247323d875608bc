/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config_fuzz.c - libFuzzer harness of config_parse(), for both node kinds.
 *
 * The text is parsed as config_load() hands it over, NUL-terminated.  Any
 * text must be refused with a message or accepted, without a crash or a
 * leak; an accepted configuration holds every required option.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse(enum node_role role, const char *text)
{
    struct config cfg;
    char err[512];

    err[0] = '\0';
    if (config_parse(&cfg, role, "fuzz.conf", text, err, sizeof(err)) == 0) {
        if (cfg.node_name == NULL || cfg.data_dir == NULL || cfg.database == NULL ||
            !config_code_valid(cfg.node_code, role))
            abort();
        if (role == NODE_CITY ? cfg.province_endpoint == NULL : cfg.federation_bind == NULL)
            abort();
    } else if (err[0] == '\0') {
        abort();
    }
    config_free(&cfg);
    config_free(&cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    parse(NODE_CITY, text);
    parse(NODE_PROVINCE, text);
    free(text);
    return 0;
}
