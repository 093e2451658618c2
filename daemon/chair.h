/* chair.h: the chair model: what the chair is told to do, turned into driver outputs, and what it
 * reports. */
#pragma once

#include <systemd/sd-event.h>

#include "config.h"
#include "timeline.h"

struct chair;

/* What changed, for the owner's notify callback (a bit set). */
enum {
        CHAIR_CHANGED_POSITIONS = 1u << 0,    /* a motor position was read */
        CHAIR_CHANGED_TEMPERATURES = 1u << 1, /* a heater sensor was read */
        CHAIR_CHANGED_MOTION =
                1u << 2,               /* a motor started or stopped moving, or the recline preset changed */
        CHAIR_CHANGED_HEAT = 1u << 3,  /* a heat level changed */
        CHAIR_CHANGED_SCAN = 1u << 4,  /* the body scan ended (chair_scanning() is false now) */
        CHAIR_CHANGED_ESTOP = 1u << 5, /* the emergency-stop input changed */
        CHAIR_CHANGED_COMM = 1u << 6,  /* a bus was lost or came back */
        CHAIR_CHANGED_SAFETY = 1u << 7,        /* a motor current or a limit switch was read */
        CHAIR_CHANGED_BOARD_STOPPED = 1u << 8, /* a board stopped by itself: its heartbeat came too late */
        CHAIR_CHANGED_RECLINE = 1u << 9,       /* chair_recline_preset() changed */
        CHAIR_CHANGED_SHOULDERS = 1u << 10,    /* chair_shoulder_mm() changed */
        CHAIR_CHANGED_READ_BACK = 1u << 11,    /* chair_output_mismatch() changed */
};

typedef void (*chair_notify_t)(struct chair *c, unsigned changes, void *userdata);
/* A chair_refresh() is over: every bus has read its inputs (their changes were reported first), or error is
 * the first that could not (a negative errno). */
typedef void (*chair_refreshed_t)(struct chair *c, int error, void *userdata);

/* The motors the model drives: the recline axes, then the roller's travel. */
#define CHAIR_MOTOR_ROLLER _AXIS_MAX
#define CHAIR_MOTORS       (_AXIS_MAX + 1)

/* Creates the model and a driver for every bus of config (borrowed; it must outlive the chair). Every
 * output starts safe and input polling starts off (chair_set_active()). Returns 0 or -errno. */
int chair_new(const struct chair_config *config, sd_event *event, chair_notify_t notify, void *userdata,
              struct chair **ret);
struct chair *chair_free(struct chair *c);
static inline void chair_freep(struct chair **c)
{
        chair_free(*c);
}

/* Commands. Their outputs go out together at the end of the current loop iteration. */

/* Drives the axes to a preset. -ENOENT for an unknown preset, -EOPNOTSUPP for a chair without recline. */
int chair_recline(struct chair *c, const char *preset);
/* Moves one axis towards its 1.0 end (direction > 0) or its 0.0 end (< 0) for hold_usec, after which it
 * stops where it is unless chair_jog() is called again. A command that moves the axis meanwhile (a recline,
 * a position) takes it over and ends the jog: its time then stops nothing. A jog of another axis stops this
 * one. -EOPNOTSUPP for an axis the chair lacks. */
int chair_jog(struct chair *c, enum axis axis, int direction, usec_t hold_usec);
/* Drives the axes has[] marks to their positions, each clamped to 0.0-1.0 (a saved position); the others
 * stay. -EOPNOTSUPP without a recline. */
int chair_recline_to(struct chair *c, const double position[_AXIS_MAX], const bool has[_AXIS_MAX]);
/* Drives one axis to a position (0.0-1.0). -EOPNOTSUPP for an axis the chair lacks. */
int chair_move_axis(struct chair *c, enum axis axis, double position);
/* A roller setpoint, with the session's intensity as an offset to its depth (clamped to the chair's depth
 * levels). An inactive setpoint stops the massage motors and parks the roller at the top. */
void chair_roller(struct chair *c, const struct roller_setpoint *sp, int depth_offset);
/* One airbag zone (index into config->zones); intensity 1-5 picks the pressure an inflating zone stops
 * at. */
void chair_airbag(struct chair *c, size_t zone, enum valve_state valve, unsigned intensity);
/* One heater (index into config->heaters) to level 0-3; the model keeps the element at its level's
 * temperature. */
void chair_heat(struct chair *c, size_t heater, unsigned level);
void chair_foot(struct chair *c, unsigned speed);
/* Everything that moves stops where it is (massage motors, travel, axes, foot rollers); airbags hold; heat
 * goes on. For a pause. A recline stopped short of its preset leaves the chair at none. */
void chair_hold(struct chair *c);
/* Starts the body scan: the roller runs down from the top of the shoulder range until the body sensor
 * touches. CHAIR_CHANGED_SCAN when it ends; -EOPNOTSUPP without a body sensor. */
int chair_scan(struct chair *c);
/* Every output to its safe value, and the model forgets what it was doing (a recline stopped short of its
 * preset leaves the chair at none). With a timeout, waits until the drivers have written it (shutdown);
 * returns -ETIMEDOUT if one could not. */
int chair_safe(struct chair *c, usec_t timeout_usec);

/* Whether the control tick and input polling are needed, and turns polling on or off. */
void chair_set_active(struct chair *c, bool active);
/* The control tick: writes what changed and every board's heartbeat. */
void chair_tick(struct chair *c);
/* Hands what changed to the drivers now instead of at the end of this loop iteration. */
void chair_flush(struct chair *c);
/* Reads every input of every bus afresh, polled or not, without blocking; done is called once, on a later
 * turn of the loop. -EBUSY while one is under way. */
int chair_refresh(struct chair *c, chair_refreshed_t done, void *userdata);

/* State. */
bool chair_busy(const struct chair *c);   /* something moves, heats, massages or inflates */
bool chair_moving(const struct chair *c); /* a motor is driven, or will be if its next reading says so */
bool chair_roller_parked(const struct chair *c);
bool chair_scanning(const struct chair *c);
/* The preset the chair is at, or on its way to while it moves; NULL when at none: at start, after a jog, a
 * move to a position, or a move stopped short of the preset (chair_hold(), chair_safe()). */
const char *chair_recline_preset(const struct chair *c);
double chair_shoulder_mm(const struct chair *c); /* the shoulders in use, mm from the top of the track */
/* The shoulders in use are where the last scan found them (the config's shoulder position before any) moved
 * by offset_mm, positive down the back; it holds for later scans too. -ERANGE when that is outside the
 * config's shoulder range; during a scan, when the offset is larger than the range, and the range is applied
 * when the scan ends. -EOPNOTSUPP without a roller. The roller's target is the caller's to send again. */
int chair_set_shoulder_offset(struct chair *c, double offset_mm);
double chair_shoulder_offset(const struct chair *c);
/* A profile's offset, put in use as it is: the shoulders it gives are kept within the range (as a scan's
 * are), never refused. */
void chair_use_shoulder_offset(struct chair *c, double offset_mm);
unsigned chair_heat_level(const struct chair *c, size_t heater);
bool chair_temperature(const struct chair *c, size_t heater, double *ret_temp_c);
/* The device refused to read heater's sensor (a Modbus exception) and has not answered for it since. */
bool chair_sensor_refused(const struct chair *c, size_t heater);
/* A motor's position: axes 0.0-1.0, the roller as a fraction of its track. false before the first
 * reading. */
bool chair_position(const struct chair *c, unsigned motor, double *ret);
bool chair_estop_pressed(const struct chair *c);

/* What the safety supervisor watches of a motor. Positions and targets are fractions of its travel. */
struct chair_motor_status {
        bool driven;
        bool have_position, has_current, have_current;
        double target, position;
        double current_a, max_current_a;
        bool limit_start, limit_end;
        bool estimated; /* the position is an estimate (time driven, or not homed since it was lost) */
        bool sensed;    /* the position comes from a sensor: it must change while driven */
        /* Relay pair: pulses with both relays off, after coasting, since it drove. */
        unsigned unbidden_pulses;
        usec_t unbidden_usec; /* when the last of them came */
        usec_t move_usec;     /* when it was sent toward its present target */
        usec_t progress_usec; /* when its position last moved (by 0.2 % of its travel) */
        bool backing_off;
};
/* False when the chair lacks that motor. */
bool chair_motor_status(const struct chair *c, unsigned motor, struct chair_motor_status *ret);
const char *chair_motor_name(unsigned motor);
/* Saved positions, for motors that keep their own (relay pairs): where the motor is, when it is known
 * (homed) and it stands still (false otherwise), and a position saved at a clean stop given back at start.
 * Positions are fractions of the travel. */
bool chair_motor_saved_position(const struct chair *c, unsigned motor, double *ret);
bool chair_motor_restore(struct chair *c, unsigned motor, double position);
/* The element is energized. */
bool chair_heater_on(const struct chair *c, size_t heater);
/* After an obstacle: drives the motor the other way (direction 1: toward its end, -1: toward its start)
 * for usec, then stops it: a jog of the safety's own, which a command that moves the motor ends as it ends a
 * jog. */
int chair_back_off(struct chair *c, unsigned motor, int direction, usec_t usec);
bool chair_comm_ok(const struct chair *c);
/* A board stopped everything by itself (CHAIR_CHANGED_BOARD_STOPPED) since the last chair_safe(): its bus,
 * and how long its heartbeat was quiet. NULL when none did. */
const struct bus_config *chair_board_stopped(const struct chair *c, double *ret_gap_ms);
/* Output read-back: the first output whose device holds other than what was written to it, past a poll
 * (DRIVER_OUTPUT_MISMATCH), and what it holds; IO_NONE while every output holds what was written. */
int chair_output_mismatch(const struct chair *c, double *ret_held);
