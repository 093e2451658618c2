/* safety.h: the safety supervisor: every hazard one row of a table, checked on the chair's readings against
 * the config's limits, on the clock it is given. A hazard that appears is reported through one callback; the
 * same rows decide whether a latched fault's cause is still there. It knows nothing of the daemon. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "chair.h"
#include "config.h"

/* The latched faults, as D-Bus and the docs name them (docs/safety.md). */
enum fault {
        FAULT_NONE,
        FAULT_EMERGENCY_STOP,
        FAULT_LIMIT_SWITCHES,
        FAULT_OBSTACLE,
        FAULT_RUN_TIME,
        FAULT_NO_PROGRESS,
        FAULT_HEATER_SENSOR,
        FAULT_HEATER_CEILING,
        FAULT_HEATER_RUNAWAY,
        FAULT_HEAT_TIMEOUT,
        FAULT_COMM_LOST,
        FAULT_BOARD_STOPPED,
        FAULT_MOTOR_UNBIDDEN,
        FAULT_INTERRUPTED, /* chaird ended while the chair was active: raised at start, not by a check */
        FAULT_OUTPUT_MISMATCH,
        _FAULT_MAX,
};
DECLARE_STRING_TABLE(fault, enum fault);

/* What a hazard that appeared asks of the one shutdown path. */
struct safety_trip {
        enum fault fault;
        const char *message; /* for people; valid during the callback */
        /* After the safe state, drive this motor away from what it met (direction 1: toward its end, -1:
         * toward its start) for back_off_usec, then stop it. direction 0: no back-off. */
        unsigned back_off_motor;
        int back_off_direction;
        usec_t back_off_usec;
};

typedef void (*safety_trip_t)(const struct safety_trip *trip, void *userdata);

struct safety;

/* config and chair are borrowed and must outlive the supervisor. time_scale > 1 runs the heat timeout's
 * chair time that much faster, like programs (the simulator and tests). */
int safety_new(const struct chair_config *config, const struct chair *chair, double time_scale,
               safety_trip_t trip, void *userdata, struct safety **ret);
struct safety *safety_free(struct safety *s);

/* Every row once, at now. A hazard trips when it appears; while it lasts it does not trip again, so that
 * what a fault still allows (Release opening the legrest, an obstacle's back-off) is not stopped over and
 * over. */
void safety_check(struct safety *s, usec_t now);

/* The hazard table's rows: the config keys row's check is measured against, i from 0 (NULL past the last,
 * or past the last row), and its fault. */
const char *safety_hazard_limit(size_t row, size_t i, enum fault *ret_fault);
size_t safety_hazard_rows(void);

/* Whether a lasting cause of a fault is there on the readings the chair has now (the latched fault's, or one
 * that appeared while it was latched and so never tripped under its own name: a sensor that went open during
 * a runaway); if so, why into buf, for the refusal of a reset. Faults whose cause the trip took away (a
 * timeout, a stall, a stopped board) leave none. */
bool safety_cause(struct safety *s, usec_t now, char *buf, size_t size);
