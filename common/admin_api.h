/* SPDX-License-Identifier: Apache-2.0 */
/*
 * admin_api.h - routes for units, principals and the audit log.
 */
#ifndef HOTLINE_ADMIN_API_H
#define HOTLINE_ADMIN_API_H

#include "http.h"

extern const struct http_route admin_routes[];
extern const size_t admin_routes_len;

#endif
