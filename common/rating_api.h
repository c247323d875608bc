/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rating_api.h - routes of satisfaction (好差评) and follow-ups (回访), Art 15.
 */
#ifndef HOTLINE_RATING_API_H
#define HOTLINE_RATING_API_H

#include "http.h"

extern const struct http_route rating_routes[];
extern const size_t rating_routes_len;

#endif
