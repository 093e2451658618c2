/* program.h: massage programs and roller patterns, and the parser and validator that build them from
 * YAML. */
#pragma once

#include "body.h"
#include "config.h"
#include "diag.h"
#include "vocab.h"

/* Limits of the format, documented in docs/programs.md. */
#define PROGRAM_DURATION_MIN_USEC     (1 * USEC_PER_MINUTE)
#define PROGRAM_DURATION_DEFAULT_USEC (15 * USEC_PER_MINUTE)
#define PROGRAM_MAX_PHASES            64
#define PHASE_DURATION_MIN_USEC       (10 * USEC_PER_SEC)
#define STEP_TIME_MIN_USEC            (500 * USEC_PER_MSEC)
#define STEP_TIME_MAX_USEC            (10 * USEC_PER_MINUTE)
#define PATTERN_MAX_STEPS             64
#define ROLLER_SPEED_DEFAULT          3
#define ROLLER_SPEED_MAX              6
#define ROLLER_DEPTH_DEFAULT          2
#define ROLLER_STROKE_DEFAULT_USEC    (10 * USEC_PER_SEC)
#define AIRBAG_INTENSITY_DEFAULT      2
#define AIRBAG_INFLATE_DEFAULT_USEC   (5 * USEC_PER_SEC)
#define AIRBAG_HOLD_DEFAULT_USEC      (3 * USEC_PER_SEC)
#define AIRBAG_VENT_DEFAULT_USEC      (6 * USEC_PER_SEC)
/* Deep work (depth at or above this) wants this much warm-up (heat, or gentle swedish/rolling) before it. */
#define DEEP_WORK_DEPTH   4
#define WARM_UP_MIN_USEC  (1 * USEC_PER_MINUTE)
#define WARM_UP_MAX_DEPTH 2

/* Where a pattern step goes: a point of the phase's area (0.0 its start, 1.0 its end) or a fixed
 * position. */
struct step_target {
        bool absolute;
        double area;              /* !absolute */
        struct position position; /* absolute */
};

struct pattern_step {
        struct step_target to;
        usec_t time_usec;
        unsigned technique; /* TECHNIQUE_BIT set; 0: the phase's */
        unsigned speed;     /* 1-6; 0: the phase's */
        unsigned depth;     /* 1-5; 0: the phase's */
        unsigned width;     /* enum width + 1; 0: the phase's */
        struct mark depth_mark, technique_mark;
};

struct pattern {
        char *name;
        char *file; /* where it was defined */
        struct mark mark;
        struct pattern_step *steps;
        size_t n_steps;
        usec_t cycle_usec; /* the sum of its steps' times */
};

void pattern_done(struct pattern *p);
int pattern_copy(struct pattern *dst, const struct pattern *src);

/* Parses a "patterns:" mapping (name -> pattern) into *patterns, appending. Local to a program or a file of
 * the shared library. */
int patterns_parse(struct parse_ctx *ctx, const struct ynode *node, struct pattern **patterns, size_t *n);

/* The shared pattern library: every *.yaml in programs/patterns/, each a mapping with one key "patterns". */
struct pattern_library {
        struct pattern *patterns;
        size_t n;
        char **dirs; /* every folder searched, in order (found or not), for messages; NULL-terminated */
};

/* The tables the files are parsed through, for their JSON Schemas: a program, a pattern (as under a
 * program's or a library file's patterns:), a pattern library file. */
extern const struct field program_fields[], pattern_fields[], library_file_fields[];

/* Loads every *.yaml file of dir, in name order. Load directories in order of priority: a pattern of a
 * directory loaded earlier hides one of the same name (an installer's library hides the stock one); a name
 * defined twice within one directory is an error. Returns 0, -EINVAL if any file had errors (the good
 * patterns are kept), -ENOENT if dir does not exist, or another -errno. */
int pattern_library_load_dir(struct pattern_library *lib, const char *dir, struct diag_list *diags);
int pattern_library_load_file(struct pattern_library *lib, const char *path, struct diag_list *diags);
const struct pattern *pattern_library_find(const struct pattern_library *lib, const char *name);
void pattern_library_clear(struct pattern_library *lib);

/* Parses a technique, a combination ("kneading+tapping") or a list of them into a TECHNIQUE_BIT set. */
int parse_techniques(struct parse_ctx *ctx, const struct ynode *node, unsigned *ret);

struct roller_phase {
        bool set;           /* the phase has a roller block */
        bool off;           /* "roller: off" */
        unsigned technique; /* TECHNIQUE_BIT set */
        /* Index into program->patterns; SIZE_MAX: the built-in sweep (area) or hold (spot) */
        size_t pattern;
        char *pattern_name;
        struct position from, to; /* the area, from where to where; equal for a spot */
        bool spot;
        unsigned speed, depth;
        enum width width;
        usec_t stroke_usec;
        struct mark mark, pattern_mark, depth_mark, technique_mark;
};

struct airbag_phase {
        bool set, off;
        char **zones; /* NULL-terminated, in the order given: a wave runs in this order */
        enum airbag_pattern pattern;
        unsigned intensity;
        usec_t inflate_usec, hold_usec, vent_usec;
        struct mark mark;
};

struct heat_setting {
        char *zone;
        unsigned level; /* 0-3 */
};

struct foot_phase {
        bool set, off;
        unsigned speed;
};

struct phase {
        char *name;
        usec_t duration_usec; /* as written; 0: shares the time the other phases leave */
        usec_t start_usec;    /* computed: offset from the program's start */
        usec_t length_usec;   /* computed */
        struct mark mark, duration_mark;

        char *recline; /* preset name, NULL: unchanged */
        struct mark recline_mark;
        struct roller_phase roller;
        struct airbag_phase airbags;
        bool heat_set;
        struct heat_setting *heat;
        size_t n_heat;
        struct foot_phase foot;
};

struct program {
        char *id;
        bool id_from_file; /* the file did not say id: its name gave it */
        char *name;
        char *description;
        char *file;
        usec_t duration_usec;
        struct mark duration_mark;
        bool duration_given;
        enum at_end at_end;
        struct pattern *patterns; /* program-local ones, then the library ones the program uses (copied) */
        size_t n_patterns;
        struct phase *phases;
        size_t n_phases;
        struct mark phases_mark;

        bool uses_recline; /* some phase moves the recline: the chair returns upright at the end */
};

/* Parses and validates a program. config (optional) describes the chair the program is checked against;
 * without it, names are checked against the standard vocabulary. library (optional) is the shared pattern
 * library. file names the program in messages and gives the default id (its base name without .yaml).
 * Every problem becomes a diagnostic; returns 0 when there were no errors (warnings are fine) with *ret
 * set, -EINVAL when there were errors, -ENOMEM, or -errno when the file cannot be read (no diagnostic). */
int program_load(const char *file, const void *data, size_t size, const struct chair_config *config,
                 const struct pattern_library *library, struct diag_list *diags, struct program **ret);
int program_load_file(const char *path, const struct chair_config *config,
                      const struct pattern_library *library, struct diag_list *diags, struct program **ret);

struct program *program_free(struct program *p);
static inline void program_freep(struct program **p)
{
        program_free(*p);
}

/* An area as a program's roller gives it (area: a named area, a landmark or a fraction of the track), or
 * with area NULL, from..to (each a landmark or a fraction). -EINVAL with the message in why. */
int area_from_text(const char *area, const char *from, const char *to, struct position *ret_from,
                   struct position *ret_to, char *why, size_t size);

/* The i-th named area a roller takes besides the landmarks ("full", "back"), and where it starts and ends
 * (each may be NULL); NULL past the last. */
const char *program_area_name(size_t i, struct position *ret_from, struct position *ret_to);

/* Manual mode's session runs as a program of this id (its Program property, its history). */
#define PROGRAM_MANUAL_ID "manual"
/* The file name manual mode loads its session's program under; no other file may say id: manual. */
#define PROGRAM_MANUAL_FILE "(manual mode)"

/* A program id: 1-64 of [a-z0-9-], starting with a letter or digit. */
bool program_id_is_valid(const char *id);
