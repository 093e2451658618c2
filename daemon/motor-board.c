/* motor-board.c: a motor whose board closes the loop: chaird writes a target and switches run on; the board
 * drives there and reports the position. */
#include <math.h>

#include "motor.h"

static bool there(const struct motor *m, double position)
{
        return fabs(position - m->target) <= MOTOR_ARRIVED_FRACTION * m->span;
}

static void board_move(struct motor *m, double target)
{
        motor_begin_move(m, target);
        m->recheck = false;
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
                m->recheck = true;
                m->rechecks++;
                return;
        }
        motor_out(m, MOTOR_RUN, 1);
        /* Without a position input the board alone knows when it is there: leave it enabled, call it
         * arrived. */
        m->driven = m->cfg->io[MOTOR_POSITION] != IO_NONE;
}

static void board_stop(struct motor *m)
{
        m->recheck = false;
        motor_out(m, MOTOR_RUN, 0);
        if (m->have_position) {
                m->target = m->position; /* so that switching run on again does not jump anywhere */
                motor_out(m, MOTOR_TARGET, m->position);
        }
        m->driven = false;
}

static unsigned board_input(struct motor *m, int io, double value)
{
        if (io != m->cfg->io[MOTOR_POSITION])
                return 0;
        if (m->recheck && !m->driven) {
                m->recheck = false;
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

static void board_safe(struct motor *m)
{
        m->recheck = false; /* nothing moves by itself once the outputs are safe */
        m->driven = false;
}

static bool board_estimated(const struct motor *m)
{
        return false; /* the board reads its position */
}

const struct motor_ops motor_board_ops = {
        .kind = "board",
        .move = board_move,
        .stop = board_stop,
        .input = board_input,
        .estimated = board_estimated,
        .safe = board_safe,
};
