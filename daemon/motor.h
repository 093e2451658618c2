/* motor.h: one motor of the chair (a recline axis or the roller's travel) behind a small ops table, one file
 * per kind: motor-board.c, a motor whose board closes the loop (a target, a run switch, a position), and
 * motor-relay.c, a motor on a pair of relays whose loop chaird closes (from hall pulses or time). A kind's
 * file holds its config keys (struct motor_kind, config.h), its ops and its own state (motor.data); motor.c
 * lists the kinds in one table. The chair model, and through it the engine, the safety supervisor and
 * D-Bus, see only this. Positions are in the motor's own unit: 0.0-1.0 for an axis, millimetres of the
 * track for the roller (span is one full travel). */
#pragma once

#include <systemd/sd-event.h>

#include "config.h"

struct motor;

/* What an input did to a motor (a bit set; 0: the input is not this motor's). */
enum {
        MOTOR_INPUT_POSITION = 1u << 0, /* its position was read */
        MOTOR_INPUT_STOPPED = 1u << 1,  /* it stopped by itself: arrived, or at a limit switch */
        MOTOR_INPUT_SAFETY = 1u << 2,   /* a current or a limit switch was read */
        MOTOR_INPUT_LOST = 1u << 3,     /* its position became unknown (a saved position no longer holds) */
};

struct motor_ops {
        /* Sets up the kind's own state in m->data (NULL: it has none). 0 or -errno. */
        int (*init)(struct motor *m);
        /* Drives toward target, and stops there within the motor's tolerance. */
        void (*move)(struct motor *m, double target);
        /* Drives one way (1: toward its end, -1: toward its start) until stopped, without first finding out
         * where it is (NULL: a move to that end). For an obstacle's back-off. */
        void (*drive)(struct motor *m, int direction);
        /* Stops where it is. */
        void (*stop)(struct motor *m);
        /* One of its inputs changed (motor_input() has recorded the shared ones); MOTOR_INPUT_* bits. */
        unsigned (*input)(struct motor *m, int io, double value);
        /* Its position is an estimate, not a reading. */
        bool (*estimated)(const struct motor *m);
        /* Where it is now (NULL: the last reading, m->position). */
        double (*position)(const struct motor *m);
        /* A limit switch changed (motor_input() has recorded it); NULL: a closed one in the way stops it. */
        unsigned (*limit)(struct motor *m, int end, bool closed);
        /* The drivers have put every output safe: the motor forgets its move (NULL: it is no longer
         * driven). */
        void (*safe)(struct motor *m);
        /* Where it stands, to be saved for a clean restart: false while it moves or does not know. NULL:
         * the kind reads its position itself, and has none to save. */
        bool (*saved)(const struct motor *m, double *ret);
        /* Where it was when chaird last stopped cleanly (what saved gave): known again without homing. */
        void (*restore)(struct motor *m, double position);
        void (*done)(struct motor *m); /* frees what the kind holds (NULL: nothing) */
        /* Its position comes from a sensor (a board's reading, hall pulses), so it must change while driven
         * (NULL: it does not). */
        bool (*sensed)(const struct motor *m);
        /* It is driven, or will be at its next reading if that finds it away from its target (NULL: while
         * it is driven). */
        bool (*pending)(const struct motor *m);
        /* Moves it made by itself since it last drove, and when the last came (NULL: it cannot tell). */
        unsigned (*unbidden)(const struct motor *m, usec_t *ret_usec);
        /* The chair's outputs have gone to the drivers (NULL: nothing to do then). */
        void (*flushed)(struct motor *m);
        /* A bus has read every input afresh (after motor_refresh_t), or failed to with error (NULL: nothing
         * to do then). */
        void (*refreshed)(struct motor *m, unsigned bus, int error);
};

/* Sets an output of the chair (the chair model's out()). */
typedef void (*motor_output_t)(void *chair, int io, double value);
/* When an output's present value reached its device (the chair model's driver_written()): 0 and the time
 * (0: when it was set), or -EINPROGRESS while it has not yet. */
typedef int (*motor_written_t)(void *chair, int io, usec_t *ret_usec);
/* Asks the bus of input io to read every input afresh: the bus's number (the chair then calls
 * motor_refreshed()), -EOPNOTSUPP when it reports changes as they come, or another -errno. */
typedef int (*motor_refresh_t)(void *chair, int io);
/* The value of input io as last read: 0, or -errno when it was never read. */
typedef int (*motor_get_t)(void *chair, int io, double *ret);
/* A motor changed on its own time, not on an input (a timer ended a move): MOTOR_INPUT_* bits. */
typedef void (*motor_notify_t)(void *chair, struct motor *m, unsigned what);

/* The state every kind shares; each kind's file reads and writes it, the chair model only reads it. */
struct motor {
        const struct motor_ops *ops; /* NULL: the chair lacks this motor */
        const struct motor_config *cfg;
        motor_output_t output;
        motor_written_t written; /* NULL: an output is out when it is set */
        motor_refresh_t refresh; /* NULL: no bus reads afresh */
        motor_get_t get;         /* NULL: no input was read */
        motor_notify_t notify;
        void *chair;
        sd_event *event;
        double span; /* one full travel in the position's unit */
        double target;
        double position;
        bool have_position;
        bool driven; /* told to run and not arrived yet */
        double current_a;
        bool have_current;
        bool limit[2];        /* the start and end limit switches are closed */
        usec_t move_usec;     /* when it was sent toward its present target */
        usec_t progress_usec; /* when its position last moved (by MOTOR_PROGRESS_FRACTION of its travel) */
        double progress_position;
        void *data; /* the kind's own state (ops->init) */
};

/* A motor has arrived within this fraction of its travel. The reference board stops within 0.002; a poll may
 * see it a little before it settles. */
#define MOTOR_ARRIVED_FRACTION 0.005
/* A driven motor makes progress when its position moves this fraction of its travel. */
#define MOTOR_PROGRESS_FRACTION 0.002

/* Sets m up as the kind its config says, for chair (borrowed). 0 or -errno; motor_done() in either case. */
int motor_init(struct motor *m, const struct motor_config *cfg, double span, motor_output_t output,
               motor_notify_t notify, void *chair, sd_event *event);
void motor_done(struct motor *m);

static inline bool motor_present(const struct motor *m)
{
        return m->ops != NULL;
}
/* It is driven, or will be at its next reading if that finds it away from its target: a stop must reach it,
 * and the chair is not still until it is resolved. */
static inline bool motor_pending(const struct motor *m)
{
        return m->ops && m->ops->pending ? m->ops->pending(m) : m->driven;
}
static inline void motor_move(struct motor *m, double target)
{
        if (m->ops)
                m->ops->move(m, target);
}
static inline void motor_stop(struct motor *m)
{
        if (m->ops)
                m->ops->stop(m);
}
static inline void motor_drive(struct motor *m, int direction)
{
        if (m->ops && m->ops->drive)
                m->ops->drive(m, direction);
        else
                motor_move(m, direction > 0 ? m->span : 0.0);
}
static inline bool motor_estimated(const struct motor *m)
{
        return m->ops && m->ops->estimated(m);
}
static inline void motor_safe(struct motor *m)
{
        if (m->ops && m->ops->safe)
                m->ops->safe(m);
        else
                m->driven = false;
}
/* Its position comes from a sensor (a board's reading, hall pulses), so it must change while driven. */
static inline bool motor_sensed(const struct motor *m)
{
        return m->ops && m->ops->sensed && m->ops->sensed(m);
}
/* Moves it made by itself since it last drove (a relay pair: pulses with both relays off, after the coast),
 * and when the last came. */
static inline unsigned motor_unbidden(const struct motor *m, usec_t *ret_usec)
{
        usec_t at = 0;
        unsigned n = m->ops && m->ops->unbidden ? m->ops->unbidden(m, &at) : 0;

        if (ret_usec)
                *ret_usec = at;
        return n;
}
static inline void motor_flushed(struct motor *m)
{
        if (m->ops && m->ops->flushed)
                m->ops->flushed(m);
}
static inline void motor_refreshed(struct motor *m, unsigned bus, int error)
{
        if (m->ops && m->ops->refreshed)
                m->ops->refreshed(m, bus, error);
}
static inline double motor_position(const struct motor *m)
{
        return m->ops && m->ops->position ? m->ops->position(m) : m->position;
}
/* An input of the chair: the shared ones (current, limit switches) recorded here, the rest the kind's. */
unsigned motor_input(struct motor *m, int io, double value);

/* For the kinds. */
void motor_out(struct motor *m, enum motor_io role, double value);
/* A limit switch is closed in the direction of target: the motor is at that end and must not push. */
bool motor_at_limit(const struct motor *m, double target);
/* Starts a move toward target: the run time and progress are counted from now when the target is new. */
void motor_begin_move(struct motor *m, double target);
/* A position was read: progress and arrival. True when it arrived at its target just now. */
bool motor_position_read(struct motor *m, double position);

/* The kinds chaird ships (motor.c's table lists them). */
extern const struct motor_kind motor_board_kind;
extern const struct motor_kind motor_relay_kind;

/* The relay pair's settings (its keys; tests read them). */
struct motor_relay_settings {
        unsigned pulses_per_travel; /* pulses from one end to the other; 0 without a hall sensor */
        usec_t travel_time_usec;    /* end to end when driven (the position's estimate without pulses) */
        usec_t reverse_delay_usec;  /* both relays off this long before the other one goes on */
        usec_t coast_usec;          /* pulses this soon after the relays opened are it coasting */
};
