/* SPDX-License-Identifier: Apache-2.0 */
/*
 * load_api.h - routes of agent presence and the node's load (Art 3).
 */
#ifndef HOTLINE_LOAD_API_H
#define HOTLINE_LOAD_API_H

#include "http.h"

extern const struct http_route load_routes[];
extern const size_t load_routes_len;

#endif
