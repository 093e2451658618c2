/* safety.h: the safety supervisor: motor and heater checks that latch a fault, the causes a reset waits
 * for, and the marker of an active chair in --state-dir. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct daemon;
struct safety;

int safety_new(struct daemon *d, struct safety **ret);
struct safety *safety_free(struct safety *s);

/* Every check once: limit switches, over-current, run time and progress of each driven motor, each heater's
 * sensor, ceiling and gain, and the heat timeout. A hazard that appears latches its fault (daemon_trip). */
void safety_check(struct safety *s);
/* Why the fault cannot be reset yet (its cause is still there), or NULL. */
const char *safety_cause(const struct safety *s, const char *fault);

/* The marker file in --state-dir: written (atomically) when the chair becomes active, removed when it is
 * idle and safe again or chaird exits cleanly. */
int safety_mark_active(struct safety *s, bool active);
/* The marker was left behind: chaird ended while the chair was active. what gets its text. */
bool safety_was_interrupted(const struct safety *s, char *what, size_t size);
