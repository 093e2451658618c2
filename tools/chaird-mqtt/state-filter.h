/* state-filter.h: what the state topic carries of chaird's analog values: temperatures rounded to 0.1 °C and
 * positions to 0.01 (1 %), each sent again only when it moved by its deadband (0.5 °C, 0.05), or when the
 * caller asks for the exact (rounded) values: after the values have been still for a while, and at the idle
 * refresh. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#define STATE_TEMPERATURE_STEP     0.1
#define STATE_TEMPERATURE_DEADBAND 0.5
#define STATE_POSITION_STEP        0.01
#define STATE_POSITION_DEADBAND    0.05

struct state_filter {
        json_object
                *sent; /* {"Temperatures":{zone:value}, "Positions":{axis:value}}: the values last sent */
};

/* The state to send for state (borrowed): every property as it is, but Temperatures and Positions rounded,
 * and a value within its deadband of the one last sent replaced by that one (unless exact). *ret_held says
 * whether a value was held back so. Returns a new object, or NULL when out of memory. */
json_object *state_filter_apply(struct state_filter *f, json_object *state, bool exact, bool *ret_held);
void state_filter_done(struct state_filter *f);
