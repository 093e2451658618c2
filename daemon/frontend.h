/* frontend.h: what a front-end reads to build every control and show what runs without polling: the
 * chair's Capabilities and the live Session, as D-Bus a{sv}, taken from the config, the vocabulary tables
 * and the engine (docs/dbus.md). */
#pragma once

#include <systemd/sd-bus.h>

#include "daemon.h"

/* Appends the Capabilities a{sv} of the chair the config describes. */
int frontend_append_capabilities(sd_bus_message *reply, const struct chair_config *c);
/* Appends the Session a{sv}: {} when idle. */
int frontend_append_session(sd_bus_message *reply, const struct daemon *d);
