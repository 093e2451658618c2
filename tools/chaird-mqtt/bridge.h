/* bridge.h: chaird's D-Bus API on MQTT topics: state, programs and events out, commands in, replies out. */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bridge-config.h"

struct bridge;

/* config is borrowed and must outlive the bridge; password may be NULL. */
int bridge_new(sd_event *event, sd_bus *bus, const struct bridge_config *config, const char *password,
               struct bridge **ret);
/* Watches chaird on the bus and connects to the broker (retrying while it is away). */
int bridge_start(struct bridge *b);
/* Says "offline" on the availability topic and leaves the broker. */
void bridge_stop(struct bridge *b);
struct bridge *bridge_free(struct bridge *b);
static inline void bridge_freep(struct bridge **b)
{
        bridge_free(*b);
}
