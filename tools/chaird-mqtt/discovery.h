/* discovery.h: what this chair has retained under Home Assistant's discovery prefix, so that what no longer
 * exists is cleared (an empty retained config) and what did not change is not sent again. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "mqtt.h"

struct discovery;

/* node is the chair's discovery node id (chaird_<chair-id>); filter becomes
 * homeassistant/+/<node>/+/config. */
int discovery_new(struct mqtt_client *m, const char *node, struct discovery **ret);
struct discovery *discovery_free(struct discovery *d);
static inline void discovery_freep(struct discovery **d)
{
        discovery_free(*d);
}

/* The subscription that brings the configs retained by earlier runs (and anyone else's on this node). */
const char *discovery_filter(const struct discovery *d);

/* One round of publishing: begin, publish each config, end. force publishes configs that did not change
 * (Home Assistant's birth message: it may have forgotten them). end() clears every config retained before
 * that the round did not publish. */
void discovery_begin(struct discovery *d, bool force);
void discovery_publish(struct discovery *d, const char *topic, const char *payload);
void discovery_end(struct discovery *d);

/* The broker forgot what was published (a new connection): the next round publishes everything. */
void discovery_reset(struct discovery *d);

/* A message on the filter's topics: a config the last round did not publish is cleared (once a round has
 * been published; before that, at the round's end). Returns false for a topic outside the filter. */
bool discovery_message(struct discovery *d, const char *topic, const void *payload, size_t size);
