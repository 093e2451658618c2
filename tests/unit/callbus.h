/* callbus.h: the D-Bus call a checked command becomes, built on a bus that is never connected and read back
 * as JSON, for the command test and its fuzzer. */
#pragma once

#include <sys/socket.h>

#include "busjson.h"
#include "command-call.h"

/* A bus good enough to build messages on: sd-bus builds no message on a bus that was never started, and one
 * started on one end of a socket pair waits for an answer to its greeting for ever, which is all it
 * needs. */
static inline sd_bus *offline_bus(void)
{
        sd_bus *bus = NULL;
        int fds[2];

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) < 0 ||
            sd_bus_new(&bus) < 0 || sd_bus_set_fd(bus, fds[0], fds[0]) < 0 || sd_bus_start(bus) < 0)
                abort();
        return bus; /* fds[1] stays open with it: the test's life */
}

/* The call of q as {"member":M,"signature":S,"body":[ARGS...]}, or NULL when it cannot be built. */
static inline json_object *call_json(sd_bus *bus, const struct command_request *q)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        json_object *o, *body;

        if (command_call_new(bus, q, &m) < 0 || sd_bus_message_seal(m, 1, 0) < 0 ||
            sd_bus_message_rewind(m, true) < 0)
                return NULL;
        o = json_object_new_object();
        body = json_object_new_array();
        json_object_object_add(o, "member", json_object_new_string(sd_bus_message_get_member(m)));
        json_object_object_add(o, "signature",
                               json_object_new_string(sd_bus_message_get_signature(m, true)));
        json_object_object_add(o, "body", body);
        while (sd_bus_message_at_end(m, true) == 0) {
                json_object *v = NULL;
                if (bus_message_read_json(m, &v) < 0) {
                        json_object_put(o);
                        return NULL;
                }
                json_object_array_add(body, v);
        }
        return o;
}
