/* SPDX-License-Identifier: Apache-2.0 */
/*
 * emergency_api.h - routes of the emergency list (Art 14).
 */
#ifndef HOTLINE_EMERGENCY_API_H
#define HOTLINE_EMERGENCY_API_H

#include "http.h"

extern const struct http_route emergency_routes[];
extern const size_t emergency_routes_len;

#endif
