/* manual.h: manual mode's choices (StartManual's options, and the keys of them Adjust changes) turned into a
 * program of one phase, checked by the same validator as any program file against the chair. */
#pragma once

#include <systemd/sd-bus.h>

#include "catalog.h"

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
 * Top-level keys listed in skip (NULL-terminated, or NULL) are skipped: the caller reads them. -EINVAL for
 * an unknown key or a value of the wrong type, with why (a message naming the key) written to why; -errno
 * from reading the message. */
int manual_read(struct manual *m, sd_bus_message *msg, const char *const *skip, char *why, size_t size);

/* Whether m says anything the chair can do for a person: a roller, airbags, heat or foot rollers. */
bool manual_has_work(const struct manual *m);
/* The duration given, 0 when none. */
usec_t manual_duration(const struct manual *m);

/* The program m describes, for a session of duration_usec (at least the format's minimum), checked against
 * config and the pattern library. -EINVAL with why set ("roller.speed: ..."), -EOPNOTSUPP with why set when
 * the chair lacks a part asked for, -ENOMEM. */
int manual_program(const struct manual *m, usec_t duration_usec, const struct chair_config *config,
                   const struct pattern_library *library, struct program **ret, char *why, size_t size);
