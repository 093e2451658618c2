/* heater.c: the proof of the heaters' regulation (daemon/heater.c, the real file): for every sequence of up
 * to PROOF_STEPS events (any heater's level set to any level, readings of any value delivered in any order
 * and read at any time up to their delivery, the bus reading a sensor again without a change, the safe
 * state, the clock moving on by any amount, the timer firing when due), for any config the config check
 * accepts (levels, heat-ceiling, heat-margin, poll periods and comm-loss anywhere in their ranges, the levels
 * rising and level 3 at most the ceiling minus the margin), with two heaters sharing the timer:
 * - an element is on only while its heater has a level, with a reading of its sensor that the bus read less
 *   than heat_reading_limit() ago (at the moment it goes on; at most that old plus the heat timer's accuracy,
 *   1 ms, at every step, also when other events run first in the loop turn the timer is due in; and the timer
 *   armed to look again no later than when it gets too old), below its level's target plus heat-margin and
 *   below heat-ceiling;
 * - what heat.c says (chair_heater_on()) is what the element's output was set to.
 * With the stubs of stubs.h; the bus is the model below. */
#include <errno.h>

#include "../../daemon/heater.c"

#include "stubs.h"

#ifndef PROOF_STEPS
#define PROOF_STEPS 4
#endif

/* How late sd-event may run the heat timer: its accuracy (heat_init()). */
#define PROOF_LATE_USEC USEC_PER_MSEC

#ifndef N_HEATERS
#define N_HEATERS 2
#endif

enum { IO_ELEMENT, IO_SENSOR = N_HEATERS, N_IO = 2 * N_HEATERS };

static struct chair_config config;
static struct heater_config heater_configs[N_HEATERS];
static struct io_config ios[N_IO];
static struct bus_config bus;
static struct heat heat;

/* The bus: each sensor's value as delivered, whether it was ever read, when it was last read. */
static bool have[N_HEATERS];
static double value[N_HEATERS];
static usec_t read_usec[N_HEATERS];
/* What chaird set the elements to, and the levels the harness asked for. */
static bool element[N_HEATERS];
static unsigned level[N_HEATERS];

/* Each level's target plus heat-margin, worked out once (CBMC's floating-point additions are dear). */
static double runaway_c[N_HEATERS][HEAT_LEVELS];

/* What must hold while element i is on; fresh: its reading younger than the limit (when it goes on), else at
 * most as old (at every step: the timer is due then, and fires at that moment). */
static void check_on(int i, bool fresh)
{
        assert(level[i] > 0 && level[i] <= HEAT_LEVELS && "an element on with its heat off");
        assert(have[i] && "an element on without a reading");
        assert(proof_now >= read_usec[i]);
        if (fresh)
                assert(proof_now - read_usec[i] < heat_reading_limit(&config, i) &&
                       "an element goes on with an old reading");
        else
                assert(proof_now - read_usec[i] <= heat_reading_limit(&config, i) + PROOF_LATE_USEC &&
                       "an element stays on with an old reading");
        assert(value[i] < runaway_c[i][level[i] - 1] &&
               "an element on at or above its target plus heat-margin");
        assert(value[i] < config.safety.heat_ceiling_c && "an element on at or above the ceiling");
}

void chair_heat_output(struct chair *c, int io, double v)
{
        assert(io >= IO_ELEMENT && io < IO_ELEMENT + N_HEATERS);
        int i = io - IO_ELEMENT;
        if (v != 0 && !element[i])
                check_on(i, true);
        element[i] = v != 0;
}

int chair_heat_read_at(struct chair *c, int io, usec_t *ret_usec)
{
        assert(io >= IO_SENSOR && io < IO_SENSOR + N_HEATERS);
        int i = io - IO_SENSOR;
        if (!have[i])
                return -ENODATA;
        *ret_usec = read_usec[i];
        return 0;
}

static usec_t duration(usec_t min, usec_t max)
{
        usec_t d = nondet_u64();
        __CPROVER_assume(d >= min && d <= max);
        return d;
}

static double number(double min, double max)
{
        double v = nondet_double();
        __CPROVER_assume(v >= min && v <= max);
        return v;
}

int main(void)
{
        /* Any config the config check accepts (daemon/common/config.c, wiring.c): the ranges of its keys,
         * each level warmer than the one before, level 3 at most heat-ceiling minus heat-margin. */
        config.heaters = heater_configs;
        config.n_heaters = N_HEATERS;
        config.ios = ios;
        config.n_ios = N_IO;
        config.buses = &bus;
        config.n_buses = 1;
        bus.poll_usec = duration(10 * USEC_PER_MSEC, 60 * USEC_PER_SEC);
        config.safety.comm_loss_usec = duration(100 * USEC_PER_MSEC, USEC_PER_MINUTE);
        config.safety.heat_ceiling_c = number(30, 90);
        config.safety.heat_margin_c = number(1, 20);
        for (int i = 0; i < N_HEATERS; i++) {
                struct heater_config *hc = &heater_configs[i];
                hc->output = IO_ELEMENT + i;
                hc->sensor = IO_SENSOR + i;
                ios[hc->sensor].bus = 0;
                ios[hc->sensor].poll_usec =
                        nondet_bool() ? 0 : duration(10 * USEC_PER_MSEC, USEC_PER_MINUTE);
                for (int l = 0; l < HEAT_LEVELS; l++) {
                        hc->level_temp_c[l] = number(25, 70);
                        if (l > 0)
                                __CPROVER_assume(hc->level_temp_c[l] > hc->level_temp_c[l - 1]);
                }
                for (int l = 0; l < HEAT_LEVELS; l++)
                        runaway_c[i][l] = hc->level_temp_c[l] + config.safety.heat_margin_c;
                __CPROVER_assume(hc->level_temp_c[HEAT_LEVELS - 1] <=
                                 config.safety.heat_ceiling_c - config.safety.heat_margin_c);
        }

        proof_now = nondet_u64();
        __CPROVER_assume(proof_now <= 3600 * USEC_PER_SEC);
        /* heat_init's allocations may fail: chair_new() then fails chaird's start. */
        int r = heat_init(&heat, &config, NULL, NULL);
        __CPROVER_assume(r == 0);

        for (int step = 0; step < PROOF_STEPS; step++) {
                int i = N_HEATERS > 1 && nondet_bool() ? 1 : 0;

                /* One event... */
                switch (nondet_unsigned() % 5) {
                case 0: /* chair_heat(), any level */
                        level[i] = nondet_unsigned() % (HEAT_LEVELS + 1);
                        heat_set_level(&heat, i, level[i]);
                        break;
                case 1: { /* a reading delivered: any value, read at any time since the last read */
                        usec_t at = nondet_u64();
                        __CPROVER_assume(at <= proof_now && (!have[i] || at >= read_usec[i]));
                        have[i] = true;
                        value[i] = nondet_double();
                        read_usec[i] = at;
                        heat_reading(&heat, i, value[i]);
                        break;
                }
                case 2: /* the bus reads the sensor again, unchanged: no event */
                        if (have[i])
                                read_usec[i] = proof_now;
                        break;
                case 3: /* the safe state: the drivers put every output safe, then chair_safe() */
                        for (int k = 0; k < N_HEATERS; k++) {
                                element[k] = false;
                                level[k] = 0;
                        }
                        heat_safe(&heat);
                        break;
                default: /* nothing: only the clock below */
                        break;
                }
                /* ...then the clock moves on, not past the armed timer's time plus its accuracy (sd-event
                 * fires it within 1 ms), and the timer fires when due: at once, or only after the next event
                 * (another source of the same loop turn may run first, a reading or a command) as long as it
                 * is not later than its accuracy allows. */
                usec_t d = nondet_u64();
                __CPROVER_assume(d <= 2 * USEC_PER_MINUTE);
                __CPROVER_assume(!proof_timer.armed || proof_now + d <= proof_timer.at + PROOF_LATE_USEC);
                proof_now += d;
                if (proof_timer.armed && proof_now >= proof_timer.at &&
                    (nondet_bool() || proof_now == proof_timer.at + PROOF_LATE_USEC)) {
                        proof_timer.armed = false; /* a oneshot disables itself before it runs */
                        assert(proof_timer.callback == on_heat_timer && proof_timer.userdata == &heat);
                        on_heat_timer(NULL, proof_now, &heat);
                }
                for (int k = 0; k < N_HEATERS; k++) {
                        assert(heat.heaters[k].on == element[k] && "the model says other than the output");
                        if (!element[k])
                                continue;
                        check_on(k, false);
                        assert(proof_timer.armed &&
                               proof_timer.at <= read_usec[k] + heat_reading_limit(&config, k) &&
                               "an element on without the timer that switches it off in time");
                }
        }
        return 0;
}
