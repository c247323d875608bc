/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ticket_api.h - routes of the work orders: intake, actions, reading.
 */
#ifndef HOTLINE_TICKET_API_H
#define HOTLINE_TICKET_API_H

#include "http.h"

extern const struct http_route ticket_routes[];
extern const size_t ticket_routes_len;

#endif
