/* stubs.c: the clock and the sd-event calls the proved files make; what each assumes is in stubs.h. */
#include <errno.h>

#include "stubs.h"

usec_t proof_now;
struct proof_timer proof_timer;

/* The timer's source is a token: nothing reads through it but these stubs. */
static char timer_token;

usec_t now_usec(void)
{
        return proof_now;
}

int sd_event_add_time(sd_event *e, sd_event_source **s, clockid_t clock, uint64_t usec, uint64_t accuracy,
                      sd_event_time_handler_t callback, void *userdata)
{
        if (nondet_bool())
                return -ENOMEM; /* allocation may fail */
        proof_timer = (struct proof_timer){true, true, usec, callback, userdata};
        if (s)
                *s = (sd_event_source *) &timer_token;
        return 0;
}

int sd_event_source_set_time(sd_event_source *s, uint64_t usec)
{
        if (s == (sd_event_source *) &timer_token)
                proof_timer.at = usec;
        return 0;
}

int sd_event_source_set_enabled(sd_event_source *s, int enabled)
{
        if (s == (sd_event_source *) &timer_token)
                proof_timer.armed = enabled != SD_EVENT_OFF;
        return 0;
}

int sd_event_source_set_priority(sd_event_source *s, int64_t priority)
{
        return 0;
}

sd_event_source *sd_event_source_disable_unref(sd_event_source *s)
{
        if (s == (sd_event_source *) &timer_token)
                proof_timer.exists = proof_timer.armed = false;
        return NULL;
}
