/* sim.h: the virtual chair's physics and its reference-board register image, without any I/O. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "board.h"

enum sim_fault {
        SIM_FAULT_NONE,
        SIM_FAULT_STALL,           /* motor: driven but no progress (blocked gear, dead encoder) */
        SIM_FAULT_OVERCURRENT,     /* motor: an obstacle; the current jumps and the motor stops moving */
        SIM_FAULT_RUNAWAY,         /* heater: stuck relay; the element heats whatever the coil says */
        SIM_FAULT_SENSOR_OPEN,     /* heater: the sensor reads far below any real temperature */
        SIM_FAULT_SENSOR_SHORT,    /* heater: the sensor reads far above */
        SIM_FAULT_SENSOR_DETACHED, /* heater: the sensor fell off the element and reads the room */
        SIM_FAULT_LIMITS_CLOSED,   /* motor: both limit switches read closed (a shorted harness) */
        SIM_FAULT_WELDED,          /* motor: its extend relay is welded shut: it runs with both relays off */
        SIM_FAULT_HALL_BROKEN,     /* motor: it moves, but its hall sensor gives no pulses */
        _SIM_FAULT_MAX,
};

/* A motor is driven in one of two ways: by the board, which closes the loop (the run coil and the target
 * register), or by a pair of relays whose loop the host closes (the board's extend and retract coils, or
 * GPIO lines with chair-sim --gpio-sim). A relay-driven motor coasts a little after its relay opens, and
 * its hall sensor pulses as it turns. */
struct sim_motor {
        const char *name;
        double position; /* 0.0 (upright / top of the track) to 1.0 */
        double target;   /* from the target register */
        bool run;        /* the run coil */
        bool driven;     /* power drives the motor now (the board's loop, or a relay) */
        double current_a;
        double speed;     /* full travels per second */
        double nominal_a; /* current while moving freely */
        enum sim_fault fault;

        bool coil_relay[2]; /* the board's extend and retract coils */
        bool line_relay[2]; /* the extend and retract GPIO lines (chair-sim --gpio-sim) */
        bool on_gpio;       /* its relays are GPIO lines */
        int direction;      /* what its relays drive: 1 extend, -1 retract, 0 neither (or both: braked) */
        double velocity;    /* travels per second, signed, under relay drive and while coasting */
        double pulses_per_travel;
        uint32_t pulses; /* hall pulses (rising edges) since chair-sim started */
        bool hall;       /* the hall sensor's output */

        /* The relays as commanded, checked on every change (real time): how often both were on, and the
         * shortest time from one direction off to the other on (-1: never reversed). */
        int commanded;
        unsigned overlaps;
        int last_direction;
        uint64_t off_usec;
        int64_t min_reverse_gap_usec;
};

struct sim_heater {
        const char *name;
        bool commanded; /* the heater coil */
        bool energized; /* what the element really does */
        double temp_c;
        enum sim_fault fault;
};

struct sim_zone {
        const char *name;
        bool inflate, hold; /* valve coils */
        double pressure_kpa;
};

struct sim {
        double time_scale;  /* simulated seconds per real second */
        double track_mm;    /* roller travel */
        double shoulder_mm; /* where this simulated body's shoulders are */
        double ambient_c;

        struct sim_motor motors[_BOARD_MOTOR_MAX];
        struct sim_heater heaters[_BOARD_HEATER_MAX];
        struct sim_zone zones[_BOARD_ZONE_MAX];
        bool pump;
        unsigned kneading, tapping, width, depth, foot;
        bool estop;

        /* The board's watchdog, in real time (it guards the link, not the physics). */
        uint16_t heartbeat_timeout_ms;
        bool heartbeat_armed;
        bool watchdog_tripped;
        bool watchdog_latched; /* BOARD_FAULT_WATCHDOG until cleared */
        uint64_t last_heartbeat_usec;

        /* Register image (the values a master reads and writes). */
        uint8_t coils[_BOARD_COIL_MAX];
        uint8_t discretes[_BOARD_DI_MAX];
        uint16_t holding[_BOARD_HR_MAX];
        uint16_t inputs[_BOARD_IR_MAX];
};

void sim_init(struct sim *s, double time_scale, double shoulder_mm);

/* Advances the physics by dt_real seconds of real time; now_usec (CLOCK_MONOTONIC) drives the watchdog. */
void sim_step(struct sim *s, double dt_real, uint64_t now_usec);

/* Register kinds, as in the Modbus data model. */
enum sim_table { SIM_COILS, SIM_DISCRETES, SIM_HOLDING, SIM_INPUTS, _SIM_TABLE_MAX };

/* Whether every address of [address, address + count) is mapped in that table. */
bool sim_mapped(enum sim_table t, unsigned address, unsigned count);

/* Whether value is acceptable for a holding register (a real board answers exception 3 otherwise). */
bool sim_holding_value_ok(unsigned address, unsigned value);

/* Fills the input registers and discrete inputs from the physics, before a read is answered. */
void sim_publish(struct sim *s);

/* Takes coils and holding registers (after a master wrote them) as the chair's commands. wrote_heartbeat
 * says the write covered the heartbeat register. */
void sim_apply(struct sim *s, bool wrote_heartbeat, uint64_t now_usec);

/* The motor's relays as commanded changed (a coil written, a GPIO line read); now_usec times the change. */
void sim_relays_changed(struct sim *s, int motor, uint64_t now_usec);

/* Real seconds until motor's hall sensor output next changes at its present speed (INFINITY: at rest). */
double sim_next_hall_edge(const struct sim *s, int motor);

/* Whether motor's start (end 0) or end (end 1) limit switch is closed. */
bool sim_limit_closed(const struct sim *s, int motor, int end);

/* Fault injection by actuator name ("backrest", "roller", "lumbar"...). Returns 0, -ENOENT for an unknown
 * actuator, -EINVAL for a fault that actuator cannot have. */
int sim_inject(struct sim *s, const char *actuator, const char *fault);
/* Removes every injected fault and clears the latched watchdog trip. */
void sim_clear_faults(struct sim *s);

/* The physical truth as one line of JSON. */
void sim_write_state(const struct sim *s, FILE *f);
