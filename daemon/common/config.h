/* config.h: the chair's hardware config (chaird.yaml): what the chair has, its geometry and its limits. */
#pragma once

#include "diag.h"
#include "schema.h"
#include "vocab.h"

enum axis {
        AXIS_BACKREST,
        AXIS_LEGREST,
        AXIS_SLIDE,
        _AXIS_MAX,
};
DECLARE_STRING_TABLE(axis, enum axis);

struct preset_config {
        char *name;
        double position[_AXIS_MAX]; /* 0.0 (upright/retracted) to 1.0 (fully reclined/extended) */
        struct mark mark;
};

/* Where things are along the roller track. Positions are millimetres from the top (neck) end. */
struct roller_geometry {
        double track_mm;            /* usable travel, top to bottom */
        double shoulder_mm;         /* assumed shoulder position until a body scan finds the real one */
        double shoulder_min_mm;     /* the scan's search range */
        double shoulder_max_mm;
        double landmark_mm[_LANDMARK_MAX]; /* each landmark's distance below the shoulders (neck < 0) */
};

/* The geometry of the reference chair, used when no config is given. */
extern const struct roller_geometry roller_geometry_default;

struct roller_config {
        struct roller_geometry geometry;
        unsigned techniques;   /* TECHNIQUE_BIT set the roller can do */
        unsigned depth_levels; /* 1: no depth (3D) control */
        bool width;            /* the kneading width can be set */
        bool scan;             /* the chair can find the shoulders with a body scan */
};

struct heater_config {
        char *zone;
        double level_temp_c[3]; /* target temperature at the element for levels 1, 2, 3 */
};

struct safety_config {
        usec_t session_cap_usec; /* no program or session runs longer */
};

struct chair_config {
        char *file;

        bool axis[_AXIS_MAX];
        struct preset_config *presets;
        size_t n_presets;
        char **preset_names; /* NULL-terminated, same order as presets */

        bool has_roller;
        struct roller_config roller;

        char **airbag_zones; /* NULL-terminated; NULL when the chair has no airbags */

        struct heater_config *heaters;
        size_t n_heaters;
        char **heat_zones; /* NULL-terminated, same order as heaters; NULL when the chair has no heat */

        bool has_foot_rollers;

        struct safety_config safety;
};

/* Documented defaults of the safety: block. */
#define SAFETY_SESSION_CAP_DEFAULT_USEC (30 * USEC_PER_MINUTE)

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
