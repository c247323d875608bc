/* SPDX-License-Identifier: Apache-2.0 */
/*
 * open311_api.h - the Open311 GeoReport v2 facade of every node, under
 * /open311/v2, in XML (.xml) and JSON (.json):
 *   GET  /discovery.{fmt}                  where the endpoint is and what it speaks
 *   GET  /services.{fmt}                   our kinds of appeal in each domain
 *   GET  /services/{service_code}.{fmt}    a service's attributes
 *   POST /requests.{fmt}                   a new appeal (api_key: a service token)
 *   GET  /requests.{fmt}                   requests, filtered, a page at a time
 *   GET  /requests/{id}.{fmt}, /request/{id}.{fmt}, /tokens/{token}.{fmt}
 * Reading needs no token and shows no personal data; errors are the
 * standard's list of {code, description}.
 */
#ifndef HOTLINE_OPEN311_API_H
#define HOTLINE_OPEN311_API_H

#include "http.h"

#include <stddef.h>

/* The route table; the handlers expect http_app() to be the struct node. */
extern const struct http_route open311_routes[];
extern const size_t open311_routes_len;

#endif
