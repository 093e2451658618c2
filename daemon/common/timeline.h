/* timeline.h: a program compiled into setpoints per track at exact times, ready for the engine. */
#pragma once

#include "program.h"

enum track {
        TRACK_PHASE,   /* a phase begins */
        TRACK_RECLINE, /* go to a preset */
        TRACK_ROLLER,
        TRACK_AIRBAG, /* one zone's valve */
        TRACK_HEAT,   /* one zone's level */
        TRACK_FOOT,
        _TRACK_MAX,
};
DECLARE_STRING_TABLE(track, enum track);

struct roller_setpoint {
        bool active; /* false: stop the massage motors and park; the rest is unused */
        struct body_point target;
        unsigned technique; /* TECHNIQUE_BIT set */
        unsigned speed, depth;
        enum width width;
};

struct setpoint {
        usec_t at_usec; /* from the start of the program */
        enum track track;
        uint32_t seq; /* emission order, to keep it among setpoints of one time */
        union {
                size_t phase;       /* TRACK_PHASE: index into program->phases */
                const char *preset; /* TRACK_RECLINE */
                struct roller_setpoint roller;
                struct {
                        const char *zone;
                        enum valve_state valve;
                        unsigned intensity; /* 1-5, the pressure to inflate to */
                } airbag;
                struct {
                        const char *zone;
                        unsigned level; /* 0-3 */
                } heat;
                unsigned foot_speed; /* 0: off */
        };
};

/* Setpoints sorted by time, then in the order they take effect. Strings are borrowed from the program: a
 * timeline must not outlive it. Tracks the chair lacks (given a config) are left out. */
struct timeline {
        const struct program *program;
        usec_t duration_usec;
        usec_t *phase_start_usec; /* n_phases + 1 entries: each phase's start, then the end */
        size_t n_phases;
        struct setpoint *points;
        size_t n_points, cap_points;
};

/* Compiles a program for a run of duration_usec (0: the program's own). Phases scale in proportion: a
 * phase boundary at fraction x of the program's duration lands at x * duration_usec, rounded down to the
 * microsecond, and the last phase ends exactly at duration_usec. Patterns keep their own tempo and loop
 * within the scaled phases. At the end everything stops: roller parked, airbags vented, heat and foot
 * rollers off, and the recline back upright unless the program says at-end: stay.
 * Returns 0, -EINVAL if duration_usec is below the format's minimum, or -ENOMEM. */
int timeline_compile(const struct program *p, usec_t duration_usec, const struct chair_config *config,
                     struct timeline **ret);

struct timeline *timeline_free(struct timeline *t);
static inline void timeline_freep(struct timeline **t)
{
        timeline_free(*t);
}

/* One line describing a setpoint, e.g. "30.000s airbag calves inflate 3", for logs and tests. */
const char *setpoint_describe(const struct setpoint *s, const struct program *p, char *buf, size_t size);

/* Whether the chair has the track (true without a config): a timeline leaves out the ones it lacks. */
bool timeline_chair_has(const struct chair_config *cfg, enum track track);
