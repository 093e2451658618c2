/* busjson.h: D-Bus values as JSON (json-c): the chair's properties and signals, keys as on D-Bus. */
#pragma once

#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "util.h"

/* Reads the next complete value of m as JSON: strings, booleans, numbers (unsigned 64-bit ones kept exact,
 * doubles in the shortest text that reads back the same), arrays as lists, dictionaries with string keys as
 * objects, structs as lists, variants as their value. Returns 0 with a new object in *ret (json NULL never
 * happens), or a negative errno. */
int bus_message_read_json(sd_bus_message *m, json_object **ret);

static inline void json_object_putp(json_object **o)
{
        json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_object_putp)

/* The JSON text of o without spaces. Borrowed, valid while o is unchanged. */
static inline const char *json_text(json_object *o)
{
        return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}
