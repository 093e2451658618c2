/* motor.h: one motor of the chair (a recline axis or the roller's travel) behind a small ops table, one file
 * per kind: motor-board.c, a motor whose board closes the loop (a target, a run switch, a position). The
 * chair model, and through it the engine, the safety supervisor and D-Bus, see only this. Positions are in
 * the motor's own unit: 0.0-1.0 for an axis, millimetres of the track for the roller (span is one full
 * travel). */
#pragma once

#include "config.h"

struct motor;

/* What an input did to a motor (a bit set; 0: the input is not this motor's). */
enum {
        MOTOR_INPUT_POSITION = 1u << 0, /* its position was read */
        MOTOR_INPUT_STOPPED = 1u << 1,  /* it stopped by itself: arrived, or at a limit switch */
        MOTOR_INPUT_SAFETY = 1u << 2,   /* a current or a limit switch was read */
};

struct motor_ops {
        const char *kind;
        /* Drives toward target, and stops there within the motor's tolerance. */
        void (*move)(struct motor *m, double target);
        /* Stops where it is. */
        void (*stop)(struct motor *m);
        /* One of its inputs changed (motor_input() has recorded the shared ones); MOTOR_INPUT_* bits. */
        unsigned (*input)(struct motor *m, int io, double value);
        /* Its position is an estimate, not a reading. */
        bool (*estimated)(const struct motor *m);
};

/* Sets an output of the chair (the chair model's out()). */
typedef void (*motor_output_t)(void *chair, int io, double value);

/* The state every kind shares; each kind's file reads and writes it, the chair model only reads it. */
struct motor {
        const struct motor_ops *ops; /* NULL: the chair lacks this motor */
        const struct motor_config *cfg;
        motor_output_t output;
        void *chair;
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
};

/* A motor has arrived within this fraction of its travel. The reference board stops within 0.002; a poll may
 * see it a little before it settles. */
#define MOTOR_ARRIVED_FRACTION 0.005
/* A driven motor makes progress when its position moves this fraction of its travel. */
#define MOTOR_PROGRESS_FRACTION 0.002

/* Sets m up as the kind its config says, for chair (borrowed). */
void motor_init(struct motor *m, const struct motor_config *cfg, double span, motor_output_t output,
                void *chair);

static inline bool motor_present(const struct motor *m)
{
        return m->ops != NULL;
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
static inline bool motor_estimated(const struct motor *m)
{
        return m->ops && m->ops->estimated(m);
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

extern const struct motor_ops motor_board_ops;
