/* server.h: chaird-web's HTTP and WebSocket side: the page from a fixed list of files, and at /api a
 * WebSocket that speaks the bridges' JSON (tools/bridge/): commands in, replies, state, programs, events and
 * availability out. libwebsockets runs on a libuv loop that is itself a source of the daemon's sd-event
 * loop, so everything happens on one thread and an idle server wakes up for nothing. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "chair-link.h"
#include "pairing.h"
#include "web-config.h"

struct web_server;

/* Loads the page's files from page_dir (all of them now: a request never names a path on the disk) and
 * listens as config says: on the chair's own screen's address, and with config->lan for paired phones
 * (pairing, borrowed: NULL without lan). */
int web_server_new(sd_event *event, struct chair_link *link, const struct web_config *config,
                   struct pairing *pairing, const char *page_dir, struct web_server **ret);
struct web_server *web_server_free(struct web_server *s);

/* The chair link's news, for every page connected. */
void web_server_state_changed(struct web_server *s);
void web_server_programs_changed(struct web_server *s);
void web_server_event(struct web_server *s, json_object *event);
void web_server_availability(struct web_server *s);

/* Pages connected now. */
unsigned web_server_pages(const struct web_server *s);
