/* remove-discovery.h: chaird-mqtt --remove-discovery: the chair's retained topics off the broker. */
#pragma once

#include <systemd/sd-event.h>

#include "bridge-config.h"

/* Connects, clears every Home Assistant discovery config retained under the chair's node id, the manual
 * draft and the chair's own retained topics (availability, state, programs), and returns the number cleared,
 * or -ETIMEDOUT when the broker did not answer within timeout_sec (password may be NULL). */
int remove_discovery(sd_event *event, const struct bridge_config *c, const char *password,
                     unsigned timeout_sec);
