/* command-call.h: a checked command as the D-Bus call to chaird it stands for. */
#pragma once

#include <systemd/sd-bus.h>

#include "chaird-bus.h"
#include "command.h"

/* The method call of q (checked: q->error NULL) on bus, to send. Fails only as sd-bus does (a negative
 * errno): what the payload could get wrong, command_parse() has refused already. */
int command_call_new(sd_bus *bus, const struct command_request *q, sd_bus_message **ret);
