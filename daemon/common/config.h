/* config.h: the chair's hardware config (chaird.yaml): what the chair has, its geometry and its limits. */
#pragma once

#include "diag.h"
#include "schema.h"
#include "vocab.h"
#include "wiring.h"

enum axis {
        AXIS_BACKREST,
        AXIS_LEGREST,
        AXIS_SLIDE,
        _AXIS_MAX,
};
DECLARE_STRING_TABLE(axis, enum axis);

/* A motor's wiring: where it is driven and read, by role; each kind's wiring keys name the roles it uses.
 * Positions run from 0.0 (upright, retracted, top of the track) to 1.0 for the axes, and in millimetres
 * from the top for the roller. */
enum motor_io {
        MOTOR_TARGET,      /* output value: where the board drives the motor to */
        MOTOR_RUN,         /* output switch: the board drives while it is on; off is how a motor goes safe */
        MOTOR_POSITION,    /* input value */
        MOTOR_CURRENT,     /* input value, amperes (optional) */
        MOTOR_LIMIT_START, /* input switch: at the 0 end (optional) */
        MOTOR_LIMIT_END,   /* input switch: at the far end (optional) */
        MOTOR_EXTEND,      /* relay pair: output switch, drives toward 1.0 */
        MOTOR_RETRACT,     /* relay pair: output switch, drives toward 0.0 */
        MOTOR_PULSES,      /* relay pair: input counter, a hall sensor's pulses (optional) */
        _MOTOR_IO_MAX,
};

struct motor_kind;

/* A motor's config: what every kind has (its wiring by role, its current limit) and the kind's own
 * settings. */
struct motor_config {
        const struct motor_kind *kind; /* NULL: the chair lacks this motor */
        int io[_MOTOR_IO_MAX];
        double max_current_a; /* above this the motor has hit an obstacle */
        void *settings;       /* the kind's own keys (its file's struct), owned */
        struct mark mark;
};

/* A kind of motor, one file each (daemon/motor-*.c), as the config knows it: its name, its keys and their
 * checks; ops is what the daemon does with it (struct motor_ops, daemon/motor.h). The kinds are one table
 * in motor.c. */
struct motor_kind {
        const char *name; /* the value of its kind: key */
        const char *noun; /* what messages call it: "board motor" */
        /* A motor without a kind: key that has any of these keys is of this kind. NULL: none says so; the
         * first such kind of the table is the kind of a motor that has no key of any other. */
        const char *const *claims;
        const struct field *wiring; /* its own wiring keys, parsed into the motor_config */
        const struct field *fields; /* its own settings, parsed into settings (settings_size bytes) */
        size_t settings_size;
        void (*settings_init)(void *settings); /* the defaults (NULL: zeroes) */
        /* What a parsed motor of the kind must have beyond its keys' own checks: errors at node (or
         * inside it), false after any. */
        bool (*check)(struct parse_ctx *ctx, const struct ynode *node, const char *what,
                      const struct motor_config *m);
        /* Checks against the safety limits, once the whole config is parsed (NULL: none). name is the
         * motor's in messages, max_run_usec its run-time limit and limit that limit's key. */
        void (*check_run)(struct parse_ctx *ctx, const struct motor_config *m, const char *name,
                          usec_t max_run_usec, const char *limit);
        usec_t (*travel_usec)(const struct motor_config *m); /* end to end when driven (NULL: not known) */
        /* An input that tells of moves it makes by itself, so the idle chair must read it (NULL: none). */
        int (*watched)(const struct motor_config *m);
        const struct motor_ops *ops;
};

#define MOTOR_KINDS_MAX 8 /* shipped and registered together */

/* The kinds: the shipped ones of motor.c's table, then any registered; NULL past the last. Borrowed. */
const struct motor_kind *motor_kind_at(size_t i);
/* For tests: adds a kind after the shipped ones (kind is borrowed for good). 0, or -ENOSPC. */
int motor_kind_register(const struct motor_kind *kind);

/* A motor's travel end to end when driven, 0 when its kind does not know it. */
usec_t motor_config_travel_usec(const struct motor_config *m);
/* The input the idle chair must read for this motor (IO_NONE: none). */
int motor_config_watched(const struct motor_config *m);

struct preset_config {
        char *name;
        double position[_AXIS_MAX]; /* 0.0 (upright/retracted) to 1.0 (fully reclined/extended) */
        struct mark mark;
};

/* Where things are along the roller track. Positions are millimetres from the top (neck) end. */
struct roller_geometry {
        double track_mm;        /* usable travel, top to bottom */
        double shoulder_mm;     /* assumed shoulder position until a body scan finds the real one */
        double shoulder_min_mm; /* the scan's search range */
        double shoulder_max_mm;
        double landmark_mm[_LANDMARK_MAX]; /* each landmark's distance below the shoulders (neck < 0) */
};

/* The table a hardware config is parsed through, for its JSON Schema. */
extern const struct field config_fields[];

/* The geometry of the reference chair, used when no config is given. */
extern const struct roller_geometry roller_geometry_default;

struct roller_config {
        struct roller_geometry geometry;
        unsigned techniques;   /* TECHNIQUE_BIT set the roller can do */
        unsigned depth_levels; /* 1: no depth (3D) control */

        struct motor_config travel; /* position in millimetres from the top */
        int kneading, tapping;      /* output values: speed, 0 is off */
        /* Output values: width 0 narrow to 2 wide (without it, the width cannot be set); depth level. */
        int width, depth;
        /* Input switch: on while the roller touches the body; without it there is no body scan. */
        int body_sensor;
};

#define AIRBAG_INTENSITY_LEVELS 5
/* A roller's depth levels (3D) are at most this; a program's depths are 1 to this. */
#define ROLLER_DEPTH_MAX 5
/* Heat levels are 0 (off) to this; each level above 0 has a temperature. */
#define HEAT_LEVELS 3
/* A program's foot-roller speeds are 1 to this; the hardware's speed-levels at most. */
#define FOOT_SPEED_MAX 6

struct airbag_zone_config {
        char *name;
        int inflate;  /* output switch: inlet valve open */
        int hold;     /* output switch: exhaust valve closed; off vents the zone */
        int pressure; /* input value, kPa (optional) */
};

struct heater_config {
        char *zone;
        double level_temp_c[HEAT_LEVELS]; /* target temperature at the element for levels 1 and up */
        int output;                       /* output switch: the element is energized */
        int sensor;                       /* input value: the element's temperature, deg C */
        struct mark mark;
};

struct safety_config {
        usec_t session_cap_usec;       /* no program or session runs longer */
        usec_t axis_max_run_usec;      /* a recline axis driven longer without reaching its target */
        usec_t roller_max_run_usec;    /* the same for the roller's travel */
        usec_t no_progress_usec;       /* a driven motor whose position does not change for this long */
        usec_t obstacle_back_off_usec; /* after an over-current, drive back this long, then stop */
        /* Relay pair: this many hall pulses with both relays off = motor-unbidden. */
        unsigned unbidden_pulses;
        usec_t heat_timeout_usec; /* heat goes off after this long, whatever asks for it */
        usec_t heat_rest_usec;    /* every zone off this long: heat has rested, its timeout starts afresh */
        double heat_ceiling_c;    /* no element is ever driven above this */
        double heat_margin_c;     /* above target plus this margin = runaway */
        usec_t heat_check_usec;   /* a heating element must gain heat_min_gain_c within this window */
        double heat_min_gain_c;   /* and one that heated with its heat off must lose it before a reset */
        /* Switched off, an element that warms heat_off_rise_c above its lowest reading before that low is
         * heat_off_usec old heats by itself (a stuck relay). */
        double heat_off_rise_c;
        usec_t heat_off_usec;
        /* Switched off above its target plus heat_margin_c (heat off: level 1's), an element must fall at
         * least this fast, judged over heat_min_gain_c: slower, something heats it. */
        double heat_min_fall_c_per_minute;
        usec_t heat_idle_read_usec;        /* an idle chair with heaters reads its inputs this often */
        double sensor_min_c, sensor_max_c; /* a reading outside = an open or shorted sensor */
        usec_t comm_loss_usec;             /* a bus that has not answered for this long = fault */
};

/* Sessions and what chaird keeps of them (docs/config.md). */
struct sessions_config {
        /* A manual session's length when StartManual gives none (at most the session cap) */
        usec_t manual_duration_usec;
        unsigned history_max;  /* sessions and faults kept in the history; older ones go */
        unsigned profiles_max; /* user profiles at most */
};
extern const struct sessions_config sessions_config_default;
#define SESSIONS_HISTORY_MAX 10000 /* sessions.history's ceiling */

struct chair_config {
        char *file;

        struct bus_config *buses;
        size_t n_buses;
        struct io_config *ios; /* every wired value; parts refer to them by index */
        size_t n_ios, cap_ios;

        struct motor_config axes[_AXIS_MAX]; /* for the axes marked in axis[] */

        bool axis[_AXIS_MAX];
        struct preset_config *presets;
        size_t n_presets;
        char **preset_names; /* NULL-terminated, same order as presets */

        bool has_roller;
        struct roller_config roller;

        char **airbag_zones;              /* NULL-terminated; NULL when the chair has no airbags */
        struct airbag_zone_config *zones; /* same order as airbag_zones */
        size_t n_zones;
        int pump; /* output switch */
        /* A zone with a pressure sensor inflates to this for intensity 1 to 5. */
        double airbag_pressure_kpa[AIRBAG_INTENSITY_LEVELS];

        struct heater_config *heaters;
        size_t n_heaters;
        char **heat_zones; /* NULL-terminated, same order as heaters; NULL when the chair has no heat */

        bool has_foot_rollers;
        int foot_speed;             /* output value: speed, 0 is off */
        unsigned foot_speed_levels; /* the hardware's speeds, 1 to 6: a program's 1-6 is spread over them */

        int estop;    /* input switch: the emergency-stop button is pressed */
        int presence; /* input switch: someone sits in the chair (optional) */

        struct safety_config safety;
        struct sessions_config sessions;
};

/* Documented defaults of the safety: block (docs/config.md). */
#define SAFETY_SESSION_CAP_DEFAULT_USEC (30 * USEC_PER_MINUTE)
extern const struct safety_config safety_config_default;

#define MOTOR_MAX_CURRENT_DEFAULT_A 3.0
extern const double airbag_pressure_default_kpa[AIRBAG_INTENSITY_LEVELS];

/* An axis the board drives takes about this long end to end, for the recline pace check and the plot
 * (its config has no travel-time). */
#define RECLINE_TRAVEL_NOMINAL_USEC (20 * USEC_PER_SEC)
/* The roller's speed along its track where the config gives no travel-time (the reference chair's). */
#define ROLLER_SPEED_NOMINAL_MM_PER_SEC 150.0

/* The preset of that name, or NULL. Borrowed from the config. */
const struct preset_config *chair_config_find_preset(const struct chair_config *c, const char *name);
/* How long the axes take from one preset to another: the slowest axis, each at its travel-time end to end
 * (RECLINE_TRAVEL_NOMINAL_USEC where the config gives none: an axis the board drives). The slowest axis
 * goes to ret_slowest unless it is NULL. */
usec_t chair_config_recline_usec(const struct chair_config *c, const struct preset_config *from,
                                 const struct preset_config *to, enum axis *ret_slowest);

/* The I/O reference at index i, or NULL for IO_NONE. */
static inline const struct io_config *chair_config_io(const struct chair_config *c, int i)
{
        return i >= 0 && (size_t) i < c->n_ios ? &c->ios[i] : NULL;
}

/* Loads and checks a config file. Every problem becomes a diagnostic; returns 0, -EINVAL if there were
 * errors, -ENOMEM, or -errno if the file cannot be read (no diagnostic then). */
int chair_config_load_file(const char *path, struct diag_list *diags, struct chair_config **ret);
int chair_config_load(const char *file, const void *data, size_t size, struct diag_list *diags,
                      struct chair_config **ret);

struct chair_config *chair_config_free(struct chair_config *c);
static inline void chair_config_freep(struct chair_config **c)
{
        chair_config_free(*c);
}
