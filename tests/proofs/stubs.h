/* stubs.h: what the proofs put in place of the loop and the clock (sd-event, now_usec()), shared by the
 * harnesses. Assumptions, stated once:
 * - the clock is the harness's `proof_now`, which only the harness moves, and only forward;
 * - sd-event holds at most one timer per harnessed object here (the relay motor's), records its time and
 *   whether it is armed, and fires only when the harness says: never before its time (sd-event never fires
 *   early; it may fire late, which the harness allows by moving the clock on first);
 * - sd-event calls that only schedule (set_priority, set_enabled on other sources) succeed and do nothing
 *   the proved code depends on. sd_event_add_time may fail (nondet): the code must cope. */
#pragma once

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "util.h"

/* CBMC's nondeterministic values: any value of the type, on each call. */
int nondet_int(void);
unsigned nondet_unsigned(void);
bool nondet_bool(void);
uint16_t nondet_u16(void);
uint64_t nondet_u64(void);
double nondet_double(void);

extern usec_t proof_now;

/* The one timer: armed, when it is due, and its callback. */
struct proof_timer {
        bool exists, armed;
        usec_t at;
        sd_event_time_handler_t callback;
        void *userdata;
};
extern struct proof_timer proof_timer;
