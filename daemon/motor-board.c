/* motor-board.c: a motor whose board closes the loop: chaird writes a target and switches run on; the board
 * drives there and reports the position. */
#include <math.h>

#include "motor.h"

static void board_move(struct motor *m, double target)
{
        motor_begin_move(m, target);
        if (motor_at_limit(m, target)) {
                motor_out(m, MOTOR_RUN, 0);
                m->driven = false;
                return;
        }
        motor_out(m, MOTOR_TARGET, target);
        if (m->have_position && fabs(m->position - target) <= MOTOR_ARRIVED_FRACTION * m->span) {
                motor_out(m, MOTOR_RUN, 0);
                m->driven = false;
                return;
        }
        motor_out(m, MOTOR_RUN, 1);
        /* Without a position input the board alone knows when it is there: leave it enabled, call it
         * arrived. */
        m->driven = m->cfg->io[MOTOR_POSITION] != IO_NONE;
}

static void board_stop(struct motor *m)
{
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
        if (!motor_position_read(m, value))
                return MOTOR_INPUT_POSITION;
        motor_out(m, MOTOR_RUN, 0);
        m->driven = false;
        return MOTOR_INPUT_POSITION | MOTOR_INPUT_STOPPED;
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
};
