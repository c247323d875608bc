/* SPDX-License-Identifier: Apache-2.0 */
/*
 * overflow_api.h - routes of a helper centre's operators: the appeals other
 * centres' overflow brought them, and their triage (Art 3).
 */
#ifndef HOTLINE_OVERFLOW_API_H
#define HOTLINE_OVERFLOW_API_H

#include "http.h"

extern const struct http_route overflow_routes[];
extern const size_t overflow_routes_len;

#endif
