/* heater.h: the heaters' regulation: each element on below its level's target (with hysteresis), and only
 * on a reading of its sensor that the bus read lately. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <systemd/sd-event.h>

#include "config.h"

struct chair;

/* A heater switches on again once its element has cooled this far below its level's temperature, so that
 * the relay does not chatter around the set point. Not a config key: the heater's safety rows are sized
 * around it (an element off at its target may coast a little, and safety.heat-off-rise, 4 deg C, and
 * heat-margin, at least 1, must stay above what regulation lets it swing); a relay that needs a wider band
 * to last needs those rows looked at again, not a setting. */
#define HEAT_HYSTERESIS_C 1.0

struct heater {
        unsigned level; /* 0: off, 1 to HEAT_LEVELS */
        bool on;        /* the element is energized (its output set on) */
        double temp_c;  /* the last reading delivered */
        bool have_temp;
};

/* The chair's heaters, and the one timer that switches off an element whose reading got too old (and looks
 * again for a fresh one while a heater waits for it). */
struct heat {
        const struct chair_config *config; /* borrowed */
        struct chair *chair;               /* handed to the two calls below */
        struct heater *heaters;            /* config->n_heaters */
        sd_event_source *timer;
};

/* What heat needs of the chair (chair.c has them; the proof's harness its own): an output set (it goes out
 * at the end of the loop's turn), and when an input's present value was read from its device (0, or
 * -ENODATA before the first reading; driver.h's read_at()). */
void chair_heat_output(struct chair *c, int io, double value);
int chair_heat_read_at(struct chair *c, int io, usec_t *ret_usec);

/* How old a heater's reading may be for its element to be on: its sensor's poll period (the longest a
 * working bus leaves between two readings of it) plus safety.comm-loss (the longest a bus may go unheard
 * before it is a fault at all). */
usec_t heat_reading_limit(const struct chair_config *config, size_t heater);

/* Every element starts off, at level 0. The timer is made here, so that no heater can be on without it.
 * Returns 0 or -errno. */
int heat_init(struct heat *h, const struct chair_config *config, struct chair *chair, sd_event *event);
void heat_done(struct heat *h);
/* A heater to level 0-HEAT_LEVELS. */
void heat_set_level(struct heat *h, size_t heater, unsigned level);
/* A heater's sensor delivered a reading (a driver delivers a value when it changes). */
void heat_reading(struct heat *h, size_t heater, double temp_c);
/* The safe state: every element off (the drivers write it), every level 0. */
void heat_safe(struct heat *h);
