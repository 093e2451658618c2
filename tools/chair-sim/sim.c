/* sim.c: the virtual chair's physics: motors that travel and stop at their ends, heaters that warm and
 * cool, airbags that fill and vent, a body whose shoulders a scan can find, and the board's watchdog. */
#include <errno.h>
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

static const char *const fault_names[_SIM_FAULT_MAX] = {
        [SIM_FAULT_NONE] = "none",
        [SIM_FAULT_STALL] = "stall",
        [SIM_FAULT_OVERCURRENT] = "overcurrent",
        [SIM_FAULT_RUNAWAY] = "runaway",
        [SIM_FAULT_SENSOR_OPEN] = "sensor-open",
        [SIM_FAULT_SENSOR_SHORT] = "sensor-short",
        [SIM_FAULT_SENSOR_DETACHED] = "sensor-detached",
        [SIM_FAULT_LIMITS_CLOSED] = "limits-closed",
};

void sim_init(struct sim *s, double time_scale, double shoulder_mm)
{
        static const struct {
                const char *name;
                double travel_s, nominal_a;
        } motors[_BOARD_MOTOR_MAX] = {
                [BOARD_BACKREST] = {"backrest", 20.0, 1.2},
                [BOARD_LEGREST] = {"legrest", 15.0, 0.9},
                [BOARD_ROLLER] = {"roller", 1150.0 / 150.0, 0.8}, /* 150 mm/s */
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
                };
        for (int h = 0; h < _BOARD_HEATER_MAX; h++)
                s->heaters[h] = (struct sim_heater){.name = heaters[h], .temp_c = s->ambient_c};
        for (int z = 0; z < _BOARD_ZONE_MAX; z++)
                s->zones[z].name = zones[z];
        s->holding[BOARD_HR_HEARTBEAT_TIMEOUT] = HEARTBEAT_TIMEOUT_DEFAULT_MS;
        sim_publish(s);
}

static void motor_step(struct sim_motor *m, double dt)
{
        double delta = m->target - m->position;
        /* Sent to an end of its travel, a motor runs into the end stop (where the limit switch closes);
         * anywhere else the board stops it within its tolerance. */
        double tolerance = m->target <= 0.0 || m->target >= 1.0 ? 0.0 : MOTOR_TOLERANCE;
        bool wants = m->run && fabs(delta) > tolerance;

        m->driven = wants;
        if (!wants) {
                m->current_a = 0.0;
                return;
        }
        switch (m->fault) {
        case SIM_FAULT_OVERCURRENT:
                m->current_a = OBSTACLE_A;
                return;
        case SIM_FAULT_STALL:
                m->current_a = m->nominal_a * STALL_FACTOR;
                return;
        default:
                break;
        }
        double step = m->speed * dt;
        if (step >= fabs(delta)) {
                m->position = m->target;
                m->driven = false;
                m->current_a = 0.0;
                return;
        }
        m->position += delta > 0 ? step : -step;
        m->current_a = m->nominal_a;
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
static void watchdog_trip(struct sim *s)
{
        s->watchdog_tripped = true;
        s->watchdog_latched = true;
        for (int i = 0; i < _BOARD_COIL_MAX; i++)
                s->coils[i] = 0;
        s->holding[BOARD_HR_KNEADING] = s->holding[BOARD_HR_TAPPING] = s->holding[BOARD_HR_FOOT] = 0;
        sim_apply(s, false, 0);
}

void sim_step(struct sim *s, double dt_real, uint64_t now_usec)
{
        double dt = dt_real * s->time_scale;

        if (s->heartbeat_armed && !s->watchdog_tripped &&
            now_usec - s->last_heartbeat_usec > (uint64_t) s->heartbeat_timeout_ms * 1000)
                watchdog_trip(s);

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

                s->discretes[BOARD_DI_LIMIT + 2 * m] =
                        mo->position <= 0.0 || mo->fault == SIM_FAULT_LIMITS_CLOSED;
                s->discretes[BOARD_DI_LIMIT + 2 * m + 1] =
                        mo->position >= 1.0 || mo->fault == SIM_FAULT_LIMITS_CLOSED;
                s->inputs[BOARD_IR_POSITION + m] = (uint16_t) lround(mo->position * scale);
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
                            f != SIM_FAULT_LIMITS_CLOSED)
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

void sim_write_state(const struct sim *s, FILE *f)
{
        fputs("{\"motors\":{", f);
        for (int m = 0; m < _BOARD_MOTOR_MAX; m++) {
                const struct sim_motor *mo = &s->motors[m];
                fprintf(f,
                        "%s\"%s\":{\"driven\":%s,\"run\":%s,\"position\":%.4f,\"target\":%.4f,\"current_a\":"
                        "%.3f,"
                        "\"fault\":\"%s\"}",
                        m ? "," : "", mo->name, mo->driven ? "true" : "false", mo->run ? "true" : "false",
                        mo->position, mo->target, mo->current_a, fault_names[mo->fault]);
        }
        fputs("},\"heaters\":{", f);
        for (int h = 0; h < _BOARD_HEATER_MAX; h++) {
                const struct sim_heater *he = &s->heaters[h];
                fprintf(f,
                        "%s\"%s\":{\"energized\":%s,\"commanded\":%s,\"temp_c\":%.2f,\"sensor_c\":%.2f,"
                        "\"fault\":\"%s\"}",
                        h ? "," : "", he->name, he->energized ? "true" : "false",
                        he->commanded ? "true" : "false", he->temp_c, sensor_reading(he, s->ambient_c),
                        fault_names[he->fault]);
        }
        fprintf(f, "},\"pump\":{\"on\":%s},\"valves\":{", s->pump ? "true" : "false");
        for (int z = 0; z < _BOARD_ZONE_MAX; z++)
                fprintf(f, "%s\"%s\":\"%s\"", z ? "," : "", s->zones[z].name, valve_state(&s->zones[z]));
        fputs("},\"pressure_kpa\":{", f);
        for (int z = 0; z < _BOARD_ZONE_MAX; z++)
                fprintf(f, "%s\"%s\":%.2f", z ? "," : "", s->zones[z].name, s->zones[z].pressure_kpa);
        fprintf(f,
                "},\"roller\":{\"position_mm\":%.1f,\"kneading\":%u,\"tapping\":%u,\"width\":%u,\"depth\":%"
                "u,"
                "\"body_contact\":%s},\"foot_rollers\":{\"speed\":%u},\"shoulder_mm\":%.1f,"
                "\"estop\":%s,\"heartbeat_ok\":%s,\"heartbeat_armed\":%s,\"watchdog_tripped\":%s,"
                "\"watchdog_latched\":%s}\n",
                s->motors[BOARD_ROLLER].position * s->track_mm, s->kneading, s->tapping, s->width, s->depth,
                s->discretes[BOARD_DI_BODY] ? "true" : "false", s->foot, s->shoulder_mm,
                s->estop ? "true" : "false", heartbeat_ok(s) ? "true" : "false",
                s->heartbeat_armed ? "true" : "false", s->watchdog_tripped ? "true" : "false",
                s->watchdog_latched ? "true" : "false");
}
