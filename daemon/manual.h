/* manual.h: manual mode's choices (StartManual's options, and the keys of them Adjust changes) turned into a
 * program of one phase, checked by the same validator as any program file against the chair. */
#pragma once

#include <systemd/sd-bus.h>

#include "catalog.h"
#include "engine.h"

/* The choices as given, each kept as the YAML text of its value. */
struct manual;

int manual_new(struct manual **ret);
struct manual *manual_free(struct manual *m);
static inline void manual_freep(struct manual **m)
{
        manual_free(*m);
}
/* A copy, to change without touching the one that runs. */
int manual_copy(const struct manual *m, struct manual **ret);

/* Reads an a{sv} of StartManual's keys from msg into m: a key given replaces the one before (the keys of
 * roller and airbags one by one; heat as a whole; area replaces from and to, and the other way round).
 * adjust: the a{sv} is Adjust's, whose own keys (manual_read_adjust) are skipped. -EINVAL for an unknown key
 * or a value of the wrong type or out of range, with why (a message naming the key) written to why; -errno
 * from reading the message (why empty). */
int manual_read(struct manual *m, sd_bus_message *msg, bool adjust, char *why, size_t size);
/* Reads Adjust's a{sv} from msg: the keys of manual mode that change whatever runs, named as Adjust names
 * them (speed, width, depth, area, from, to, airbag-intensity, foot-rollers; the same table as
 * manual_read's), into ret; whether reset was given true into ret_reset; whether keys only a manual session
 * takes (roller, airbags, heat, recline, duration) came too into ret_manual (read them again with
 * manual_read). Checked against the chair c: -EOPNOTSUPP with why for what it lacks, -EINVAL with why for
 * a bad value, -errno from reading the message (why empty). */
int manual_read_adjust(sd_bus_message *msg, const struct chair_config *c, struct engine_adjust *ret,
                       bool *ret_reset, bool *ret_manual, char *why, size_t size);

/* Whether m says anything the chair can do for a person: a roller, airbags, heat or foot rollers. */
bool manual_has_work(const struct manual *m);
/* The duration given, 0 when none. */
usec_t manual_duration(const struct manual *m);

/* The program m describes, for a session of duration_usec (at least the format's minimum), checked against
 * config and the pattern library. -EINVAL with why set ("roller.speed: ..."), -EOPNOTSUPP with why set when
 * the chair lacks a part asked for, -ENOMEM. */
int manual_program(const struct manual *m, usec_t duration_usec, const struct chair_config *config,
                   const struct pattern_library *library, struct program **ret, char *why, size_t size);
