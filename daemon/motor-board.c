/* motor-board.c: a motor whose board closes the loop: chaird writes a target and switches run on; the board
 * drives there and reports the position. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "motor.h"

/* Its own state. */
struct board {
        /* Left where it was, at its target by a reading that may be older than its last move: a reading
         * taken once its run is off says whether it is. */
        bool recheck;
        unsigned rechecks; /* how many times recheck was set: a reading asked for one settles no later one */
        unsigned asked;    /* which of them the fresh read under way was asked for; 0: none */
        unsigned asked_bus;
};

static struct board *board_of(const struct motor *m)
{
        return m->data;
}

static bool there(const struct motor *m, double position)
{
        return fabs(position - m->target) <= MOTOR_ARRIVED_FRACTION * m->span;
}

static void recheck_end(struct motor *m)
{
        board_of(m)->recheck = false;
        board_of(m)->asked = 0;
}

static void board_move(struct motor *m, double target)
{
        struct board *b = board_of(m);

        motor_begin_move(m, target);
        recheck_end(m);
        if (motor_at_limit(m, target)) {
                motor_out(m, MOTOR_RUN, 0);
                m->driven = false;
                return;
        }
        motor_out(m, MOTOR_TARGET, target);
        if (m->have_position && there(m, m->position)) {
                /* The last reading may predate a stop that came while it was still moving (a poll period at
                 * most): the next one tells. */
                motor_out(m, MOTOR_RUN, 0);
                m->driven = false;
                b->recheck = true;
                b->rechecks++;
                return;
        }
        motor_out(m, MOTOR_RUN, 1);
        /* Without a position input the board alone knows when it is there: leave it enabled, call it
         * arrived. */
        m->driven = m->cfg->io[MOTOR_POSITION] != IO_NONE;
}

static void board_stop(struct motor *m)
{
        recheck_end(m);
        motor_out(m, MOTOR_RUN, 0);
        if (m->have_position) {
                m->target = m->position; /* so that switching run on again does not jump anywhere */
                motor_out(m, MOTOR_TARGET, m->position);
        }
        m->driven = false;
}

static unsigned board_input(struct motor *m, int io, double value)
{
        struct board *b = board_of(m);

        if (io != m->cfg->io[MOTOR_POSITION])
                return 0;
        if (b->recheck && !m->driven) {
                recheck_end(m);
                motor_position_read(m, value);
                if (there(m, value))
                        return MOTOR_INPUT_POSITION | MOTOR_INPUT_STOPPED; /* it has arrived */
                /* It was not there after all: on to its target. */
                m->move_usec = m->progress_usec = now_usec();
                m->progress_position = value;
                motor_out(m, MOTOR_RUN, 1);
                m->driven = true;
                return MOTOR_INPUT_POSITION;
        }
        if (!motor_position_read(m, value))
                return MOTOR_INPUT_POSITION;
        motor_out(m, MOTOR_RUN, 0);
        m->driven = false;
        return MOTOR_INPUT_POSITION | MOTOR_INPUT_STOPPED;
}

static void notify(struct motor *m, unsigned what)
{
        if (m->notify)
                m->notify(m->chair, m, what);
}

/* Settles the recheck with its position as last read, a reading that came after its run went off (nothing
 * new came: it is where that reading said). */
static void recheck_settle(struct motor *m)
{
        int io = m->cfg->io[MOTOR_POSITION];
        double v;

        board_of(m)->asked = 0;
        if (!board_of(m)->recheck || m->driven)
                return;
        if (!m->get || m->get(m->chair, io, &v) < 0) {
                recheck_end(m); /* never read: nothing to tell it otherwise */
                notify(m, MOTOR_INPUT_STOPPED);
                return;
        }
        notify(m, motor_input(m, io, v));
}

/* Its position only arrives when it changes, so once its run is out, its bus is asked to read every input
 * afresh: board_refreshed() then settles the recheck. */
static void board_flushed(struct motor *m)
{
        struct board *b = board_of(m);
        usec_t at;
        int r;

        if (!b->recheck || m->driven || b->asked == b->rechecks)
                return;
        if (m->cfg->io[MOTOR_POSITION] == IO_NONE) {
                recheck_end(m); /* nothing to read: the board alone knows */
                return;
        }
        if (m->written && m->written(m->chair, m->cfg->io[MOTOR_RUN], &at) < 0)
                return; /* not out yet: the next flush asks */
        r = m->refresh ? m->refresh(m->chair, m->cfg->io[MOTOR_POSITION]) : -EOPNOTSUPP;
        if (r == -EOPNOTSUPP)
                recheck_settle(m);
        else if (r >= 0) {
                b->asked = b->rechecks;
                b->asked_bus = (unsigned) r;
        }
}

/* Its bus read afresh, after the recheck it asked for: settled. When the bus could not read, the next flush
 * asks again. */
static void board_refreshed(struct motor *m, unsigned bus, int error)
{
        struct board *b = board_of(m);

        if (!b->asked || b->asked_bus != bus)
                return;
        if (error)
                b->asked = 0;
        else if (b->asked == b->rechecks)
                recheck_settle(m);
}

static void board_safe(struct motor *m)
{
        recheck_end(m); /* nothing moves by itself once the outputs are safe */
        m->driven = false;
}

static bool board_estimated(const struct motor *m)
{
        return false; /* the board reads its position */
}

static bool board_sensed(const struct motor *m)
{
        return m->cfg->io[MOTOR_POSITION] != IO_NONE;
}

static bool board_pending(const struct motor *m)
{
        return m->driven || board_of(m)->recheck;
}

static int board_init(struct motor *m)
{
        m->data = calloc(1, sizeof(struct board));
        return m->data ? 0 : -ENOMEM;
}

static void board_done(struct motor *m)
{
        free(m->data);
        m->data = NULL;
}

static const struct motor_ops board_ops = {
        .init = board_init,
        .move = board_move,
        .stop = board_stop,
        .input = board_input,
        .estimated = board_estimated,
        .safe = board_safe,
        .done = board_done,
        .sensed = board_sensed,
        .pending = board_pending,
        .flushed = board_flushed,
        .refreshed = board_refreshed,
};

/* Its config: a target, a run switch and a position. */
static const struct field board_wiring[] = {
        {"target", field_out_target, offsetof(struct motor_config, io[MOTOR_TARGET])},
        {"run", field_out_switch, offsetof(struct motor_config, io[MOTOR_RUN])},
        {"position", field_in_value, offsetof(struct motor_config, io[MOTOR_POSITION])},
        {},
};

static bool board_check(struct parse_ctx *ctx, const struct ynode *node, const char *what,
                        const struct motor_config *m)
{
        return require_keys(ctx, node, what, (const char *const[]){"target", "run", "position", NULL}, "");
}

const struct motor_kind motor_board_kind = {
        .name = "board",
        .noun = "board motor",
        .wiring = board_wiring,
        .check = board_check,
        .ops = &board_ops,
};
