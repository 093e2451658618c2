/* plot-route.h: GET /programs/ID.svg, a program's timeline drawn for this chair, the same picture as
 * `chairctl plot --config` (the common library's plot.c). ID is a program id chaird offers (the chair link's
 * programs): the file is the one chaird reports it loaded the program from (its Path on D-Bus), read as
 * chaird reads it (files.c: no link followed, no FIFO, bounded), against the chair's config and the
 * programs folders' shared patterns. A request never names a path on the disk. */
#pragma once

#include <libwebsockets.h>
#include <stdbool.h>

#include "chair-link.h"
#include "web-config.h"

struct plot_route;

/* The chair's config and the programs folders come from config (chair_config, programs: NULL for chaird's
 * defaults), which must outlive the route. */
int plot_route_new(struct chair_link *link, const struct web_config *config, struct plot_route **ret);
struct plot_route *plot_route_free(struct plot_route *r);

/* Whether url is the route's: under /programs/. */
bool plot_route_wants(const char *url);

/* Answers a request for url (one the route wants) from the HTTP callback. A picture: its headers are
 * written, and its body is in *ret_body (malloc'ed) and *ret_size, for the caller to send when the
 * connection is writable. Otherwise an error status is sent (404: not a program chaird offers; 500: its file
 * or the config cannot be drawn, why in the log, never in the reply) and *ret_body is NULL. Returns what the
 * HTTP callback returns: 0, or non-zero to close the connection. */
int plot_route_http(struct plot_route *r, struct lws *wsi, const char *url, char **ret_body,
                    size_t *ret_size);
