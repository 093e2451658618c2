/* motor.c: the table of motor kinds, and what every kind of motor shares: its limit switches and current,
 * progress and arrival. */
#include <errno.h>
#include <math.h>

#include "motor.h"

/* The kinds, one file each; without a kind: key the first whose keys a motor has is its kind. */
static const struct motor_kind *const kinds[] = {
        &motor_board_kind,
        &motor_relay_kind,
};

/* Kinds added at run time: the tests' own. */
static const struct motor_kind *registered[4];
_Static_assert(ELEMENTSOF(kinds) + ELEMENTSOF(registered) <= MOTOR_KINDS_MAX, "too many motor kinds");

const struct motor_kind *motor_kind_at(size_t i)
{
        if (i < ELEMENTSOF(kinds))
                return kinds[i];
        i -= ELEMENTSOF(kinds);
        return i < ELEMENTSOF(registered) ? registered[i] : NULL;
}

int motor_kind_register(const struct motor_kind *kind)
{
        for (size_t i = 0; i < ELEMENTSOF(registered); i++)
                if (!registered[i]) {
                        registered[i] = kind;
                        return 0;
                }
        return -ENOSPC;
}

int motor_init(struct motor *m, const struct motor_config *cfg, double span, motor_output_t output,
               motor_notify_t notify, void *chair, sd_event *event)
{
        *m = (struct motor){
                .ops = cfg->kind->ops,
                .cfg = cfg,
                .output = output,
                .notify = notify,
                .chair = chair,
                .event = event,
                .span = span,
        };
        return m->ops->init ? m->ops->init(m) : 0;
}

void motor_done(struct motor *m)
{
        if (m->ops && m->ops->done)
                m->ops->done(m);
}

void motor_out(struct motor *m, enum motor_io role, double value)
{
        m->output(m->chair, m->cfg->io[role], value);
}

bool motor_at_limit(const struct motor *m, double target)
{
        return (m->limit[1] && m->have_position && target > m->position) ||
               (m->limit[0] && m->have_position && target < m->position);
}

void motor_begin_move(struct motor *m, double target)
{
        if (!m->driven || target != m->target) {
                m->move_usec = m->progress_usec = now_usec();
                m->progress_position = m->position;
        }
        m->target = target;
}

bool motor_position_read(struct motor *m, double position)
{
        if (!m->have_position ||
            fabs(position - m->progress_position) >= MOTOR_PROGRESS_FRACTION * m->span) {
                m->progress_usec = now_usec();
                m->progress_position = position;
        }
        m->position = position;
        m->have_position = true;
        return m->driven && fabs(position - m->target) <= MOTOR_ARRIVED_FRACTION * m->span;
}

unsigned motor_input(struct motor *m, int io, double value)
{
        if (!m->ops || io == IO_NONE)
                return 0;
        if (io == m->cfg->io[MOTOR_CURRENT]) {
                m->current_a = value;
                m->have_current = true;
                return MOTOR_INPUT_SAFETY;
        }
        if (io == m->cfg->io[MOTOR_LIMIT_START] || io == m->cfg->io[MOTOR_LIMIT_END]) {
                int end = io == m->cfg->io[MOTOR_LIMIT_END];
                m->limit[end] = value != 0.0;
                if (m->ops->limit)
                        return MOTOR_INPUT_SAFETY | m->ops->limit(m, end, value != 0.0);
                /* At its end: it stops there, whatever it was sent to. */
                if (m->driven && motor_at_limit(m, m->target)) {
                        motor_stop(m);
                        return MOTOR_INPUT_SAFETY | MOTOR_INPUT_STOPPED;
                }
                return MOTOR_INPUT_SAFETY;
        }
        return m->ops->input(m, io, value);
}
