/* relay.c: the proof of the relay-pair motor (daemon/motor-relay.c with daemon/motor.c, the real files):
 * for every sequence of up to PROOF_STEPS events (moves to any target, drives either way, stops, the timer
 * firing, limit switches opening and closing, any hall counter reading, the drivers' safe state, writes
 * reaching the device in any order and at any later time, the clock moving on by any amount), on any
 * wiring (with or without hall sensor and limit switches), with a recliner's reverse delay, travel time and
 * pulses per travel (fixed, see main()):
 * - interlock: the two relays are never both on, neither as chaird sets them nor at the device;
 * - reverse delay: a relay is switched on only while the other is off, at the device too, and has been off
 *   there for reverse-delay, counted from when its off reached the device (what written() says), not from
 *   when chaird switched it off; the device never sees one go on sooner either.
 * With the stubs of stubs.h; the device here is the model below. */
#include "../../daemon/motor.c"
#include "../../daemon/motor-relay.c"

#include "stubs.h"

#ifndef PROOF_STEPS
#define PROOF_STEPS 6
#endif

enum { IO_EXTEND, IO_RETRACT, IO_PULSES, IO_LIMIT_START, IO_LIMIT_END, N_IO };

/* The device: what chaird set (sent at the end of the loop turn), what the device has, and when it got it.
 * A write reaches it at any time after it was set, each output on its own (a bus may write them in separate
 * requests, in either order): the strongest assumption a driver could break. Both relays were off at the
 * device from time 0 (chaird's start puts them there). */
static double set[N_IO], device[N_IO];
static usec_t device_at[N_IO];
static struct motor_config cfg;
static struct motor_relay_settings settings_of_relay;

/* motor.c's table of kinds names the board kind too; the relay pair's proof never makes one (cfg.kind is
 * the relay kind), so it is an empty kind here, and motor-board.c is not part of the proof. */
const struct motor_kind motor_board_kind;

static void check_switch_on(int io, const double *state)
{
        int other = io == IO_EXTEND ? IO_RETRACT : IO_EXTEND;

        assert(state[other] == 0 && "interlock: a relay goes on while the other is on");
        assert(device[other] == 0 && "interlock: a relay goes on while the other is on at the device");
        assert(proof_now >= device_at[other] + settings_of_relay.reverse_delay_usec &&
               "reverse delay: a relay goes on before the other's off has been at the device that long");
}

static void output(void *chair, int io, double value)
{
        assert(io == IO_EXTEND || io == IO_RETRACT);
        if (value != 0 && set[io] == 0)
                check_switch_on(io, set);
        set[io] = value;
}

/* The driver's written(): -EINPROGRESS while what was set has not reached the device, else when it did. */
static int written(void *chair, int io, usec_t *ret_usec)
{
        assert(io == IO_EXTEND || io == IO_RETRACT);
        if (set[io] != device[io])
                return -EINPROGRESS;
        *ret_usec = device_at[io];
        return 0;
}

static void write_out(int io)
{
        if (set[io] == device[io])
                return;
        if (set[io] != 0)
                check_switch_on(io, device);
        device[io] = set[io];
        device_at[io] = proof_now;
}

/* The targets a move is sent to: both ends (where the limit switches are), the middle, and one within the
 * arrival tolerance of an end. Finite, so that the position arithmetic stays within the checker's reach. */
static const double targets[] = {0.0, 0.003, 0.5, 1.0};

static void notify(void *chair, struct motor *m, unsigned what)
{
}

int main(void)
{
        struct motor m;

        cfg.kind = &motor_relay_kind;
        cfg.settings = &settings_of_relay;
        for (int i = 0; i < _MOTOR_IO_MAX; i++)
                cfg.io[i] = IO_NONE;
        cfg.io[MOTOR_EXTEND] = IO_EXTEND;
        cfg.io[MOTOR_RETRACT] = IO_RETRACT;
#if PROOF_PULSES
        cfg.io[MOTOR_PULSES] = IO_PULSES;
#endif
        if (nondet_bool())
                cfg.io[MOTOR_LIMIT_START] = IO_LIMIT_START;
        if (nondet_bool())
                cfg.io[MOTOR_LIMIT_END] = IO_LIMIT_END;
        /* A recliner's numbers (config/example-rpi-relays.yaml's order of size); concrete, so that the
         * checker's arithmetic stays within reach. */
        settings_of_relay.pulses_per_travel = 400;
        settings_of_relay.travel_time_usec = 20 * USEC_PER_SEC;
        settings_of_relay.reverse_delay_usec = 500 * USEC_PER_MSEC;
        settings_of_relay.coast_usec = 500 * USEC_PER_MSEC;

        proof_now = nondet_u64();
        __CPROVER_assume(proof_now <= 3600 * USEC_PER_SEC);
        /* relay_init's calloc may fail: chair_new() then fails chaird's start, and no such motor ever runs. */
        int r = motor_init(&m, &cfg, 1.0, output, notify, NULL, NULL);
        __CPROVER_assume(r == 0);
        m.written = written;

        for (int step = 0; step < PROOF_STEPS; step++) {
                /* One event... */
                switch (nondet_unsigned() % 8) {
                case 0:
                        motor_move(&m, targets[nondet_unsigned() % ELEMENTSOF(targets)]);
                        break;
                case 1:
                        motor_drive(&m, nondet_bool() ? 1 : -1);
                        break;
                case 2:
                        motor_stop(&m);
                        break;
                case 3: /* the timer fires, not before its time */
                        __CPROVER_assume(proof_timer.exists && proof_timer.armed &&
                                         proof_now >= proof_timer.at);
                        proof_timer.armed = false; /* a oneshot disables itself before it runs */
                        on_timer(NULL, proof_now, &m);
                        break;
                case 4: {
                        int io = nondet_bool() ? IO_LIMIT_START : IO_LIMIT_END;
                        __CPROVER_assume(
                                cfg.io[io == IO_LIMIT_START ? MOTOR_LIMIT_START : MOTOR_LIMIT_END] == io);
                        motor_input(&m, io, nondet_bool() ? 1.0 : 0.0);
                        break;
                }
                case 5:
                        __CPROVER_assume(cfg.io[MOTOR_PULSES] == IO_PULSES);
                        motor_input(&m, IO_PULSES, (double) nondet_u16());
                        break;
                case 6: /* the drivers put every output safe (chair_safe()), then the motor hears of it */
                        set[IO_EXTEND] = set[IO_RETRACT] = 0;
                        motor_safe(&m);
                        break;
                default: /* nothing: only the writes and the clock below */
                        break;
                }
                /* ...then any of the outputs set reach the device, each on its own, and the clock moves on.
                 */
                if (nondet_bool())
                        write_out(IO_EXTEND);
                if (nondet_bool())
                        write_out(IO_RETRACT);
                usec_t d = nondet_u64();
                __CPROVER_assume(d <= 60 * USEC_PER_SEC);
                proof_now += d;
                assert(!(set[IO_EXTEND] != 0 && set[IO_RETRACT] != 0) && "interlock: both relays set on");
                assert(!(device[IO_EXTEND] != 0 && device[IO_RETRACT] != 0) &&
                       "interlock: both relays on at the device");
        }
        return 0;
}
