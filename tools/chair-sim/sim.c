/* sim.c: the virtual chair's physics: motors that travel and stop at their ends, heaters that warm and
 * cool, airbags that fill and vent, a body whose shoulders a scan can find, and the board's watchdog. */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <string.h>

#include "sim.h"
#include "util.h"

/* Physical constants of the virtual chair (documented in docs/reference-board.md). */
#define HEATER_MAX_C                 80.0  /* where an always-on element would settle */
#define HEATER_TAU_HEAT_S            200.0 /* time constant while energized */
#define HEATER_TAU_COOL_S            400.0 /* time constant while off */
#define SENSOR_OPEN_C                (-50.0)
#define SENSOR_SHORT_C               150.0
#define AIRBAG_FULL_KPA              35.0
#define AIRBAG_TAU_FILL_S            1.5
#define AIRBAG_TAU_VENT_S            2.0
#define AIRBAG_LEAK_PER_S            0.01  /* a holding zone loses 1 % a second */
#define MOTOR_TOLERANCE              0.002 /* a motor is at its target within this fraction of its travel */
#define OBSTACLE_A                   6.0   /* current against an obstacle */
#define STALL_FACTOR                 1.4   /* current of a blocked but not overloaded motor, times nominal */
#define MOTOR_RATING_A               5.0   /* above this the board flags over-current */
#define HEARTBEAT_TIMEOUT_DEFAULT_MS 500
#define COAST_TAU_S                  0.08 /* a relay-driven motor's speed decays so after its relay opens */
#define COAST_STOP_FRACTION          0.02 /* and it is at rest below this fraction of its speed */

static const char *const fault_names[_SIM_FAULT_MAX] = {
        [SIM_FAULT_NONE] = "none",
        [SIM_FAULT_STALL] = "stall",
        [SIM_FAULT_OVERCURRENT] = "overcurrent",
        [SIM_FAULT_RUNAWAY] = "runaway",
        [SIM_FAULT_SENSOR_OPEN] = "sensor-open",
        [SIM_FAULT_SENSOR_SHORT] = "sensor-short",
        [SIM_FAULT_SENSOR_DETACHED] = "sensor-detached",
        [SIM_FAULT_LIMITS_CLOSED] = "limits-closed",
        [SIM_FAULT_WELDED] = "welded",
        [SIM_FAULT_HALL_BROKEN] = "hall-broken",
};

void sim_init(struct sim *s, double time_scale, double shoulder_mm)
{
        static const struct {
                const char *name;
                double travel_s, nominal_a, pulses_per_travel;
        } motors[_BOARD_MOTOR_MAX] = {
                [BOARD_BACKREST] = {"backrest", 20.0, 1.2, 400},
                [BOARD_LEGREST] = {"legrest", 15.0, 0.9, 300},
                [BOARD_ROLLER] = {"roller", 1150.0 / 150.0, 0.8, 1150}, /* 150 mm/s, a pulse a mm */
        };
        static const char *const heaters[_BOARD_HEATER_MAX] = {"lumbar", "calves"};
        static const char *const zones[_BOARD_ZONE_MAX] = {"shoulders", "arms", "hips", "calves", "feet"};

        *s = (struct sim){
                .time_scale = time_scale,
                .track_mm = 1150.0,
                .shoulder_mm = shoulder_mm,
                .ambient_c = 24.0,
                .heartbeat_timeout_ms = HEARTBEAT_TIMEOUT_DEFAULT_MS,
        };
        for (int m = 0; m < _BOARD_MOTOR_MAX; m++)
                s->motors[m] = (struct sim_motor){
                        .name = motors[m].name,
                        .speed = 1.0 / motors[m].travel_s,
                        .nominal_a = motors[m].nominal_a,
                        .pulses_per_travel = motors[m].pulses_per_travel,
                        .min_reverse_gap_usec = -1,
                };
        for (int h = 0; h < _BOARD_HEATER_MAX; h++)
                s->heaters[h] = (struct sim_heater){.name = heaters[h], .temp_c = s->ambient_c};
        for (int z = 0; z < _BOARD_ZONE_MAX; z++)
                s->zones[z].name = zones[z];
        s->holding[BOARD_HR_HEARTBEAT_TIMEOUT] = HEARTBEAT_TIMEOUT_DEFAULT_MS;
        sim_publish(s);
}

/* The hall sensor's half-pulse at position p: its output is high in every odd one. */
static long half_pulse(const struct sim_motor *m, double p)
{
        return (long) floor(p * m->pulses_per_travel * 2.0);
}

/* The odd numbers in [0, n]. */
static long odd_upto(long n)
{
        return n < 0 ? 0 : (n + 1) / 2;
}

/* Moves the motor to p, with the hall pulses (rising edges) it passes on the way. */
static void move_to(struct sim_motor *m, double p)
{
        p = p < 0.0 ? 0.0 : p > 1.0 ? 1.0 : p;
        if (m->fault != SIM_FAULT_HALL_BROKEN) {
                long from = half_pulse(m, m->position), to = half_pulse(m, p);
                /* Moving on, an edge comes as it enters an odd half-pulse; moving back, likewise. */
                if (to > from)
                        m->pulses += (uint32_t) (odd_upto(to) - odd_upto(from));
                else if (to < from)
                        m->pulses += (uint32_t) (odd_upto(from - 1) - odd_upto(to - 1));
                m->hall = to & 1;
        }
        m->position = p;
}

/* Which way the relays drive, as they are now (a welded extend relay is always closed). */
static int relay_drive(const struct sim_motor *m, bool *ret_any)
{
        bool extend = m->coil_relay[0] || m->line_relay[0] || m->fault == SIM_FAULT_WELDED;
        bool retract = m->coil_relay[1] || m->line_relay[1];

        *ret_any = extend || retract;
        return extend == retract ? 0 : extend ? 1 : -1;
}

static void motor_step(struct sim_motor *m, double dt)
{
        bool relays;
        int dir = relay_drive(m, &relays);
        double goal;

        m->direction = dir;
        if (relays) {
                /* Relay drive: on to the end stop, where the actuator's own end switch cuts it off. Both
                 * relays closed short the motor: it brakes. */
                goal = dir > 0 ? 1.0 : 0.0;
                m->driven = dir != 0 && m->position != goal;
                if (dir == 0)
                        m->velocity = 0.0;
        } else {
                /* Sent to an end of its travel, a motor runs into the end stop (where the limit switch
                 * closes); anywhere else the board stops it within its tolerance. */
                double delta = m->target - m->position;
                double tolerance = m->target <= 0.0 || m->target >= 1.0 ? 0.0 : MOTOR_TOLERANCE;
                goal = m->target;
                dir = delta > 0 ? 1 : -1;
                m->driven = m->run && fabs(delta) > tolerance;
        }
        if (!m->driven) {
                m->current_a = 0.0;
                /* Off power it coasts, slowing down (a board's loop brakes it: it has no speed here). */
                if (m->velocity != 0.0) {
                        double decay = exp(-dt / COAST_TAU_S);
                        move_to(m, m->position + m->velocity * COAST_TAU_S * (1.0 - decay));
                        m->velocity *= decay;
                        if (fabs(m->velocity) < COAST_STOP_FRACTION * m->speed || m->position <= 0.0 ||
                            m->position >= 1.0)
                                m->velocity = 0.0;
                }
                return;
        }
        switch (m->fault) {
        case SIM_FAULT_OVERCURRENT:
                m->current_a = OBSTACLE_A;
                m->velocity = 0.0;
                return;
        case SIM_FAULT_STALL:
                m->current_a = m->nominal_a * STALL_FACTOR;
                m->velocity = 0.0;
                return;
        default:
                break;
        }
        m->current_a = m->nominal_a;
        double step = m->speed * dt;
        if (step >= fabs(goal - m->position)) {
                move_to(m, goal);
                m->driven = false;
                m->current_a = 0.0;
                m->velocity = 0.0;
                return;
        }
        move_to(m, m->position + dir * step);
        m->velocity = relays ? dir * m->speed : 0.0;
}

void sim_relays_changed(struct sim *s, int motor, uint64_t now_usec)
{
        struct sim_motor *m = &s->motors[motor];
        bool extend = m->coil_relay[0] || m->line_relay[0], retract = m->coil_relay[1] || m->line_relay[1];
        int was = m->commanded, now = extend && retract ? 2 : extend ? 1 : retract ? -1 : 0;

        if (now == was)
                return;
        m->commanded = now;
        if (now == 2) {
                m->overlaps++;
                return;
        }
        if (was != 0 && was != 2) {
                m->last_direction = was;
                m->off_usec = now_usec;
        }
        if ((now == 1 || now == -1) && now == -m->last_direction) {
                /* Reversed: straight from the other direction counts as no gap at all. */
                int64_t gap = was == -now ? 0 : (int64_t) (now_usec - m->off_usec);
                if (m->min_reverse_gap_usec < 0 || gap < m->min_reverse_gap_usec)
                        m->min_reverse_gap_usec = gap;
        }
}

double sim_next_hall_edge(const struct sim *s, int motor)
{
        const struct sim_motor *m = &s->motors[motor];
        double v = m->velocity, scale = m->pulses_per_travel * 2.0, to;

        if (v == 0.0 || m->fault == SIM_FAULT_HALL_BROKEN)
                return INFINITY;
        long h = half_pulse(m, m->position);
        to = v > 0 ? (double) (h + 1) / scale - m->position : m->position - (double) h / scale;
        return (to + 1e-9) / fabs(v) / s->time_scale;
}

bool sim_limit_closed(const struct sim *s, int motor, int end)
{
        const struct sim_motor *m = &s->motors[motor];

        return m->fault == SIM_FAULT_LIMITS_CLOSED || (end ? m->position >= 1.0 : m->position <= 0.0);
}

static void heater_step(struct sim_heater *h, double ambient_c, double dt)
{
        h->energized = h->commanded || h->fault == SIM_FAULT_RUNAWAY;
        if (h->energized)
                h->temp_c += (HEATER_MAX_C - h->temp_c) * (1.0 - exp(-dt / HEATER_TAU_HEAT_S));
        else
                h->temp_c += (ambient_c - h->temp_c) * (1.0 - exp(-dt / HEATER_TAU_COOL_S));
}

static void zone_step(struct sim_zone *z, bool pump, double dt)
{
        if (!z->hold)
                z->pressure_kpa -= z->pressure_kpa * (1.0 - exp(-dt / AIRBAG_TAU_VENT_S));
        else if (z->inflate && pump)
                z->pressure_kpa +=
                        (AIRBAG_FULL_KPA - z->pressure_kpa) * (1.0 - exp(-dt / AIRBAG_TAU_FILL_S));
        else
                z->pressure_kpa -= z->pressure_kpa * AIRBAG_LEAK_PER_S * dt;
}

/* What a real board does when its host goes quiet: every output to its safe value, as if written. */
static void watchdog_trip(struct sim *s, uint64_t now_usec)
{
        s->watchdog_tripped = true;
        s->watchdog_latched = true;
        for (int i = 0; i < _BOARD_COIL_MAX; i++)
                s->coils[i] = 0;
        s->holding[BOARD_HR_KNEADING] = s->holding[BOARD_HR_TAPPING] = s->holding[BOARD_HR_FOOT] = 0;
        sim_apply(s, false, now_usec);
}

void sim_step(struct sim *s, double dt_real, uint64_t now_usec)
{
        double dt = dt_real * s->time_scale;

        if (s->heartbeat_armed && !s->watchdog_tripped &&
            now_usec - s->last_heartbeat_usec > (uint64_t) s->heartbeat_timeout_ms * 1000)
                watchdog_trip(s, now_usec);

        for (int m = 0; m < _BOARD_MOTOR_MAX; m++)
                motor_step(&s->motors[m], dt);
        for (int h = 0; h < _BOARD_HEATER_MAX; h++)
                heater_step(&s->heaters[h], s->ambient_c, dt);
        for (int z = 0; z < _BOARD_ZONE_MAX; z++)
                zone_step(&s->zones[z], s->pump, dt);
}

static const uint8_t mapped_coils[_BOARD_COIL_MAX] = {
        [0 ... _BOARD_COIL_MAX - 1] = 1,
};
static const uint8_t mapped_discretes[_BOARD_DI_MAX] = {
        [0 ... _BOARD_DI_MAX - 1] = 1,
};
static const uint8_t mapped_holding[_BOARD_HR_MAX] = {
        [BOARD_HR_HEARTBEAT] = 1,
        [BOARD_HR_HEARTBEAT_TIMEOUT] = 1,
        [BOARD_HR_TARGET... BOARD_HR_FOOT] = 1,
};
static const uint8_t mapped_inputs[_BOARD_IR_MAX] = {
        [BOARD_IR_STATUS... BOARD_IR_VERSION] = 1,
        [BOARD_IR_POSITION... BOARD_IR_POSITION + _BOARD_MOTOR_MAX - 1] = 1,
        [BOARD_IR_CURRENT... BOARD_IR_CURRENT + _BOARD_MOTOR_MAX - 1] = 1,
        [BOARD_IR_TEMP... BOARD_IR_TEMP + _BOARD_HEATER_MAX - 1] = 1,
        [BOARD_IR_PRESSURE... BOARD_IR_PRESSURE + _BOARD_ZONE_MAX - 1] = 1,
        [BOARD_IR_PULSES... BOARD_IR_PULSES + _BOARD_MOTOR_MAX - 1] = 1,
};

bool sim_mapped(enum sim_table t, unsigned address, unsigned count)
{
        static const struct {
                const uint8_t *map;
                unsigned size;
        } tables[_SIM_TABLE_MAX] = {
                [SIM_COILS] = {mapped_coils, _BOARD_COIL_MAX},
                [SIM_DISCRETES] = {mapped_discretes, _BOARD_DI_MAX},
                [SIM_HOLDING] = {mapped_holding, _BOARD_HR_MAX},
                [SIM_INPUTS] = {mapped_inputs, _BOARD_IR_MAX},
        };

        if (count == 0 || address + count > tables[t].size)
                return false;
        for (unsigned a = address; a < address + count; a++)
                if (!tables[t].map[a])
                        return false;
        return true;
}

bool sim_holding_value_ok(unsigned address, unsigned value)
{
        switch (address) {
        case BOARD_HR_HEARTBEAT:
                return true;
        case BOARD_HR_HEARTBEAT_TIMEOUT:
                return value >= 100 && value <= 10000;
        case BOARD_HR_TARGET + BOARD_BACKREST:
        case BOARD_HR_TARGET + BOARD_LEGREST:
                return value <= 1000;
        case BOARD_HR_TARGET + BOARD_ROLLER:
                return value <= 1150;
        case BOARD_HR_KNEADING:
        case BOARD_HR_TAPPING:
                return value <= BOARD_MAX_SPEED;
        case BOARD_HR_WIDTH:
                return value <= BOARD_MAX_WIDTH;
        case BOARD_HR_DEPTH:
                return value <= BOARD_MAX_DEPTH;
        case BOARD_HR_FOOT:
                return value <= BOARD_MAX_FOOT_SPEED;
        default:
                return false;
        }
}

static double sensor_reading(const struct sim_heater *h, double ambient_c)
{
        switch (h->fault) {
        case SIM_FAULT_SENSOR_OPEN:
                return SENSOR_OPEN_C;
        case SIM_FAULT_SENSOR_SHORT:
                return SENSOR_SHORT_C;
        case SIM_FAULT_SENSOR_DETACHED:
                return ambient_c;
        default:
                return h->temp_c;
        }
}

static bool heartbeat_ok(const struct sim *s)
{
        return s->heartbeat_armed && !s->watchdog_tripped;
}

void sim_publish(struct sim *s)
{
        uint16_t status = 0, faults = 0;

        s->discretes[BOARD_DI_ESTOP] = s->estop;
        for (int m = 0; m < _BOARD_MOTOR_MAX; m++) {
                const struct sim_motor *mo = &s->motors[m];
                double scale = m == BOARD_ROLLER ? s->track_mm : 1000.0;

                s->discretes[BOARD_DI_LIMIT + 2 * m] = sim_limit_closed(s, m, 0);
                s->discretes[BOARD_DI_LIMIT + 2 * m + 1] = sim_limit_closed(s, m, 1);
                s->inputs[BOARD_IR_POSITION + m] = (uint16_t) lround(mo->position * scale);
                s->inputs[BOARD_IR_PULSES + m] = (uint16_t) mo->pulses;
                s->inputs[BOARD_IR_CURRENT + m] = (uint16_t) lround(mo->current_a * 1000.0);
                if (mo->driven)
                        status |= BOARD_STATUS_MOVING;
                if (mo->current_a > MOTOR_RATING_A)
                        faults |= BOARD_FAULT_OVERCURRENT << m;
        }
        s->discretes[BOARD_DI_BODY] = s->motors[BOARD_ROLLER].position * s->track_mm >= s->shoulder_mm;
        s->discretes[BOARD_DI_HEARTBEAT_OK] = heartbeat_ok(s);
        for (int h = 0; h < _BOARD_HEATER_MAX; h++) {
                s->inputs[BOARD_IR_TEMP + h] =
                        (uint16_t) (int16_t) lround(sensor_reading(&s->heaters[h], s->ambient_c) * 10.0);
                if (s->heaters[h].fault == SIM_FAULT_SENSOR_OPEN ||
                    s->heaters[h].fault == SIM_FAULT_SENSOR_SHORT)
                        faults |= BOARD_FAULT_SENSOR << h;
        }
        for (int z = 0; z < _BOARD_ZONE_MAX; z++)
                s->inputs[BOARD_IR_PRESSURE + z] = (uint16_t) lround(s->zones[z].pressure_kpa * 10.0);

        if (s->estop)
                status |= BOARD_STATUS_ESTOP;
        if (s->heartbeat_armed)
                status |= BOARD_STATUS_HEARTBEAT_ARMED;
        if (s->watchdog_tripped)
                status |= BOARD_STATUS_WATCHDOG_TRIPPED;
        if (s->watchdog_latched)
                faults |= BOARD_FAULT_WATCHDOG;
        s->inputs[BOARD_IR_STATUS] = status;
        s->inputs[BOARD_IR_FAULTS] = faults;
        s->inputs[BOARD_IR_VERSION] = BOARD_VERSION;
}

void sim_apply(struct sim *s, bool wrote_heartbeat, uint64_t now_usec)
{
        if (wrote_heartbeat) {
                s->heartbeat_armed = true;
                s->watchdog_tripped = false;
                s->last_heartbeat_usec = now_usec;
        }
        if (s->coils[BOARD_COIL_FAULT_CLEAR]) {
                s->watchdog_latched = false;
                s->coils[BOARD_COIL_FAULT_CLEAR] = 0;
        }
        s->heartbeat_timeout_ms = s->holding[BOARD_HR_HEARTBEAT_TIMEOUT];

        for (int m = 0; m < _BOARD_MOTOR_MAX; m++) {
                double scale = m == BOARD_ROLLER ? s->track_mm : 1000.0;
                s->motors[m].run = s->coils[BOARD_COIL_RUN + m];
                s->motors[m].target = s->holding[BOARD_HR_TARGET + m] / scale;
                s->motors[m].coil_relay[0] = s->coils[BOARD_COIL_EXTEND + 2 * m];
                s->motors[m].coil_relay[1] = s->coils[BOARD_COIL_RETRACT + 2 * m];
                sim_relays_changed(s, m, now_usec);
        }
        s->pump = s->coils[BOARD_COIL_PUMP];
        for (int z = 0; z < _BOARD_ZONE_MAX; z++) {
                s->zones[z].inflate = s->coils[BOARD_COIL_INFLATE + z];
                s->zones[z].hold = s->coils[BOARD_COIL_HOLD + z];
        }
        for (int h = 0; h < _BOARD_HEATER_MAX; h++) {
                s->heaters[h].commanded = s->coils[BOARD_COIL_HEATER + h];
                s->heaters[h].energized =
                        s->heaters[h].commanded || s->heaters[h].fault == SIM_FAULT_RUNAWAY;
        }
        s->kneading = s->holding[BOARD_HR_KNEADING];
        s->tapping = s->holding[BOARD_HR_TAPPING];
        s->width = s->holding[BOARD_HR_WIDTH];
        s->depth = s->holding[BOARD_HR_DEPTH];
        s->foot = s->holding[BOARD_HR_FOOT];
}

int sim_inject(struct sim *s, const char *actuator, const char *fault)
{
        enum sim_fault f = _SIM_FAULT_MAX;

        for (int i = SIM_FAULT_STALL; i < _SIM_FAULT_MAX; i++)
                if (streq(fault, fault_names[i]))
                        f = (enum sim_fault) i;
        for (int m = 0; m < _BOARD_MOTOR_MAX; m++)
                if (streq(actuator, s->motors[m].name)) {
                        if (f != SIM_FAULT_STALL && f != SIM_FAULT_OVERCURRENT &&
                            f != SIM_FAULT_LIMITS_CLOSED && f != SIM_FAULT_WELDED &&
                            f != SIM_FAULT_HALL_BROKEN)
                                return -EINVAL;
                        s->motors[m].fault = f;
                        return 0;
                }
        for (int h = 0; h < _BOARD_HEATER_MAX; h++)
                if (streq(actuator, s->heaters[h].name)) {
                        if (f != SIM_FAULT_RUNAWAY && f != SIM_FAULT_SENSOR_OPEN &&
                            f != SIM_FAULT_SENSOR_SHORT && f != SIM_FAULT_SENSOR_DETACHED)
                                return -EINVAL;
                        s->heaters[h].fault = f;
                        s->heaters[h].energized = s->heaters[h].commanded || f == SIM_FAULT_RUNAWAY;
                        return 0;
                }
        return -ENOENT;
}

void sim_clear_faults(struct sim *s)
{
        s->watchdog_latched = false; /* as the fault clear coil does */
        for (int m = 0; m < _BOARD_MOTOR_MAX; m++)
                s->motors[m].fault = SIM_FAULT_NONE;
        for (int h = 0; h < _BOARD_HEATER_MAX; h++) {
                s->heaters[h].fault = SIM_FAULT_NONE;
                s->heaters[h].energized = s->heaters[h].commanded;
        }
}

static const char *valve_state(const struct sim_zone *z)
{
        if (!z->hold)
                return "vent";
        return z->inflate ? "inflate" : "hold";
}

/* A number as the state has always printed it (fixed decimals), through json-c. */
static json_object *fixed(double v, int decimals)
{
        char buf[64];
        snprintf(buf, sizeof(buf), "%.*f", decimals, v);
        return json_object_new_double_s(v, buf);
}

static void add(json_object *o, const char *key, json_object *v)
{
        json_object_object_add(o, key, v);
}

static json_object *state_json(const struct sim *s)
{
        json_object *root = json_object_new_object(), *motors = json_object_new_object(),
                    *heaters = json_object_new_object(), *pump = json_object_new_object(),
                    *valves = json_object_new_object(), *pressure = json_object_new_object(),
                    *roller = json_object_new_object(), *foot = json_object_new_object();

        for (int m = 0; m < _BOARD_MOTOR_MAX; m++) {
                const struct sim_motor *mo = &s->motors[m];
                json_object *o = json_object_new_object(), *relays = json_object_new_array();
                add(o, "driven", json_object_new_boolean(mo->driven));
                add(o, "run", json_object_new_boolean(mo->run));
                add(o, "position", fixed(mo->position, 4));
                add(o, "target", fixed(mo->target, 4));
                add(o, "current_a", fixed(mo->current_a, 3));
                add(o, "fault", json_object_new_string(fault_names[mo->fault]));
                add(o, "wiring", json_object_new_string(mo->on_gpio ? "gpio" : "board"));
                json_object_array_add(relays, json_object_new_int(mo->coil_relay[0] || mo->line_relay[0]));
                json_object_array_add(relays, json_object_new_int(mo->coil_relay[1] || mo->line_relay[1]));
                add(o, "relays", relays);
                add(o, "direction", json_object_new_int(mo->direction));
                add(o, "velocity", fixed(mo->velocity, 4));
                add(o, "pulses", json_object_new_int64(mo->pulses));
                add(o, "overlaps", json_object_new_int64(mo->overlaps));
                add(o, "min_reverse_gap_ms",
                    fixed(mo->min_reverse_gap_usec < 0 ? -1.0 : (double) mo->min_reverse_gap_usec / 1000.0,
                          1));
                add(motors, mo->name, o);
        }
        for (int h = 0; h < _BOARD_HEATER_MAX; h++) {
                const struct sim_heater *he = &s->heaters[h];
                json_object *o = json_object_new_object();
                add(o, "energized", json_object_new_boolean(he->energized));
                add(o, "commanded", json_object_new_boolean(he->commanded));
                add(o, "temp_c", fixed(he->temp_c, 2));
                add(o, "sensor_c", fixed(sensor_reading(he, s->ambient_c), 2));
                add(o, "fault", json_object_new_string(fault_names[he->fault]));
                add(heaters, he->name, o);
        }
        add(pump, "on", json_object_new_boolean(s->pump));
        for (int z = 0; z < _BOARD_ZONE_MAX; z++) {
                add(valves, s->zones[z].name, json_object_new_string(valve_state(&s->zones[z])));
                add(pressure, s->zones[z].name, fixed(s->zones[z].pressure_kpa, 2));
        }
        add(roller, "position_mm", fixed(s->motors[BOARD_ROLLER].position * s->track_mm, 1));
        add(roller, "kneading", json_object_new_int64(s->kneading));
        add(roller, "tapping", json_object_new_int64(s->tapping));
        add(roller, "width", json_object_new_int64(s->width));
        add(roller, "depth", json_object_new_int64(s->depth));
        add(roller, "body_contact", json_object_new_boolean(s->discretes[BOARD_DI_BODY]));
        add(foot, "speed", json_object_new_int64(s->foot));

        add(root, "motors", motors);
        add(root, "heaters", heaters);
        add(root, "pump", pump);
        add(root, "valves", valves);
        add(root, "pressure_kpa", pressure);
        add(root, "roller", roller);
        add(root, "foot_rollers", foot);
        add(root, "shoulder_mm", fixed(s->shoulder_mm, 1));
        add(root, "estop", json_object_new_boolean(s->estop));
        add(root, "heartbeat_ok", json_object_new_boolean(heartbeat_ok(s)));
        add(root, "heartbeat_armed", json_object_new_boolean(s->heartbeat_armed));
        add(root, "watchdog_tripped", json_object_new_boolean(s->watchdog_tripped));
        add(root, "watchdog_latched", json_object_new_boolean(s->watchdog_latched));
        return root;
}

void sim_write_state(const struct sim *s, FILE *f)
{
        json_object *o = state_json(s);

        fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), f);
        fputc('\n', f);
        json_object_put(o);
}
