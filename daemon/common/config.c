/* config.c: parses and checks the chair's hardware config (chaird.yaml). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "schema.h"
#include "yamltree.h"

DEFINE_STRING_TABLE(axis, enum axis, _AXIS_MAX, "backrest", "legrest", "slide")

const struct roller_geometry roller_geometry_default = {
        .track_mm = 1150.0,
        .shoulder_mm = 150.0,
        .shoulder_min_mm = 60.0,
        .shoulder_max_mm = 300.0,
        .landmark_mm =
                {
                        [LANDMARK_NECK] = -80.0,
                        [LANDMARK_SHOULDERS] = 0.0,
                        [LANDMARK_UPPER_BACK] = 120.0,
                        [LANDMARK_MID_BACK] = 240.0,
                        [LANDMARK_LUMBAR] = 380.0,
                        [LANDMARK_HIPS] = 520.0,
                        [LANDMARK_THIGHS] = 680.0,
                },
};

const double airbag_pressure_default_kpa[AIRBAG_INTENSITY_LEVELS] = {10.0, 14.0, 18.0, 22.0, 26.0};

const struct safety_config safety_config_default = {
        .session_cap_usec = SAFETY_SESSION_CAP_DEFAULT_USEC,
        .axis_max_run_usec = 30 * USEC_PER_SEC,
        .roller_max_run_usec = 10 * USEC_PER_SEC,
        .no_progress_usec = 2 * USEC_PER_SEC,
        .obstacle_back_off_usec = 500 * USEC_PER_MSEC,
        .unbidden_pulses = 3,
        .heat_timeout_usec = 30 * USEC_PER_MINUTE,
        .heat_rest_usec = 5 * USEC_PER_MINUTE,
        .heat_ceiling_c = 65.0,
        .heat_margin_c = 5.0,
        .heat_check_usec = 60 * USEC_PER_SEC,
        .heat_min_gain_c = 2.0,
        .heat_off_rise_c = 4.0,
        .heat_off_usec = 5 * USEC_PER_MINUTE,
        .heat_min_fall_c_per_minute = 0.5,
        .heat_idle_read_usec = 5 * USEC_PER_SEC,
        .sensor_min_c = -10.0,
        .sensor_max_c = 90.0,
        .comm_loss_usec = 1 * USEC_PER_SEC,
};

const struct sessions_config sessions_config_default = {
        .manual_duration_usec = 15 * USEC_PER_MINUTE,
        .history_max = 1000,
        .profiles_max = 16,
};

static struct chair_config *config_of(struct parse_ctx *ctx)
{
        return ((struct config_parser *) ctx->userdata)->config;
}

/* Names the section being parsed: the I/O references in it are called "<section>.<key>". */
static void set_section(struct parse_ctx *ctx, const char *fmt, ...) _printf_(2, 3);
static void set_section(struct parse_ctx *ctx, const char *fmt, ...)
{
        struct config_parser *p = ctx->userdata;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(p->section, sizeof(p->section), fmt, ap);
        va_end(ap);
}

/* A motor's keys are the ones every kind has (these) and its kind's own (its wiring and settings tables):
 * the kind is its kind: key, or else the kind its keys claim (motor_kind.claims), and each kind checks what
 * it needs. */
static int parse_kind_key(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        return 0; /* read first, by choose_kind() */
}

static const struct field motor_fields[] = {
        {"kind", parse_kind_key, 0},
        {"current", field_in_value, offsetof(struct motor_config, io[MOTOR_CURRENT])},
        {"limit-start", field_in_switch, offsetof(struct motor_config, io[MOTOR_LIMIT_START])},
        {"limit-end", field_in_switch, offsetof(struct motor_config, io[MOTOR_LIMIT_END])},
        {"max-current", field_number, offsetof(struct motor_config, max_current_a), 0, 0, 100},
        {},
};

static size_t n_fields(const struct field *f)
{
        size_t n = 0;

        while (f && f[n].key)
                n++;
        return n;
}

/* Every key a motor of any kind may have, for the JSON Schema: kind: an enum of the kinds' names. */
static const struct field *motor_schema_fields(void)
{
        static struct field all[64];
        static const char *kinds[MOTOR_KINDS_MAX + 1];
        const struct motor_kind *k;
        size_t n = 0;

        for (size_t i = 0; (k = motor_kind_at(i)) && i < MOTOR_KINDS_MAX; i++)
                kinds[i] = k->name;
        for (size_t i = 0; motor_fields[i].key; i++)
                all[n++] = motor_fields[i];
        all[0] = (struct field){"kind", field_enum, 0, .names = kinds};
        for (size_t i = 0; (k = motor_kind_at(i)); i++) {
                const struct field *tables[] = {k->wiring, k->fields};
                for (size_t t = 0; t < ELEMENTSOF(tables); t++)
                        for (size_t j = 0; j < n_fields(tables[t]) && n + 1 < ELEMENTSOF(all); j++)
                                all[n++] = tables[t][j];
        }
        all[n] = (struct field){};
        return all;
}

static void motor_config_init(struct motor_config *m)
{
        for (int i = 0; i < _MOTOR_IO_MAX; i++)
                m->io[i] = IO_NONE;
        m->max_current_a = MOTOR_MAX_CURRENT_DEFAULT_A;
}

static void motor_config_done(struct motor_config *m)
{
        free(m->settings);
        m->settings = NULL;
}

/* Whether node has any of keys (NULL-terminated; NULL: none). */
static bool has_any(const struct ynode *node, const char *const *keys)
{
        for (size_t i = 0; keys && keys[i]; i++)
                if (ynode_lookup(node, keys[i]))
                        return true;
        return false;
}

/* The motor's kind: its kind: key, or the first kind whose keys it has, or the first that claims none. */
static const struct motor_kind *choose_kind(struct parse_ctx *ctx, const struct ynode *node, bool *ret_named)
{
        const struct ynode *key = ynode_lookup(node, "kind");
        const struct motor_kind *k, *fallback = NULL;

        *ret_named = key != NULL;
        if (key) {
                const char *names[MOTOR_KINDS_MAX + 1] = {};
                unsigned i;
                for (i = 0; (k = motor_kind_at(i)) && i < MOTOR_KINDS_MAX; i++)
                        names[i] = k->name;
                if (!expect_type(ctx, key, YNODE_SCALAR, "kind") ||
                    lookup_name(ctx, key, names, "motor kind", &i) < 0)
                        return NULL;
                return motor_kind_at(i);
        }
        for (size_t i = 0; (k = motor_kind_at(i)); i++) {
                if (has_any(node, k->claims))
                        return k;
                if (!k->claims && !fallback)
                        fallback = k;
        }
        return fallback;
}

/* "a, b and c" (sep ", ") or "a, b, c" (last ", "). */
static const char *join_keys(char *buf, size_t size, const char *const *keys, const char *last)
{
        size_t n = 0, len = 0;

        buf[0] = '\0';
        while (keys[n])
                n++;
        for (size_t i = 0; i < n; i++)
                len += (size_t) snprintf(buf + (len < size ? len : size), len < size ? size - len : 0,
                                         "%s%s",
                                         i == 0       ? ""
                                         : i + 1 == n ? last
                                                      : ", ",
                                         keys[i]);
        return buf;
}

/* A key of another kind than the motor's: named (kind: given, or claimed by its keys), that kind has no such
 * key; taken for the fallback kind, the key says the motor lacks what its own kind needs. */
static void foreign_key(struct parse_ctx *ctx, const struct ynode *node, const char *key,
                        const struct motor_kind *owner, const struct motor_kind *kind, bool chosen)
{
        char keys[256];

        if (chosen)
                parse_error(ctx, ynode_lookup_key(node, key), "%s belongs to a %s; a %s%s%s%s has no %s",
                            key, owner->noun, kind->noun, kind->claims ? " (" : "",
                            kind->claims ? join_keys(keys, sizeof(keys), kind->claims, ", ") : "",
                            kind->claims ? ")" : "", key);
        else if (owner->claims)
                parse_error(ctx, ynode_lookup_key(node, key), "%s belongs to a %s, which needs %s", key,
                            owner->noun, join_keys(keys, sizeof(keys), owner->claims, " and "));
        else
                parse_error(ctx, ynode_lookup_key(node, key), "%s belongs to a %s, which needs kind: %s",
                            key, owner->noun, owner->name);
}

static int parse_motor(struct parse_ctx *ctx, const struct ynode *node, const char *what,
                       struct motor_config *m)
{
        const struct motor_kind *kind, *k;
        struct field_set sets[1 + 2 * MOTOR_KINDS_MAX];
        void *scratch[MOTOR_KINDS_MAX] = {};
        struct motor_config other = {};
        size_t n = 0;
        bool named, ok = true;
        int r;

        if (!expect_type(ctx, node, YNODE_MAPPING, what))
                return -EINVAL;
        kind = choose_kind(ctx, node, &named);
        if (!kind)
                return -EINVAL;
        m->kind = kind;
        m->mark = ynode_mark(node);
        m->settings = calloc(1, kind->settings_size ?: 1);
        if (!m->settings)
                return -ENOMEM;
        if (kind->settings_init)
                kind->settings_init(m->settings);
        motor_config_init(&other);

        /* Every kind's keys are read, so that a bad value says so whatever the kind; another kind's go
         * nowhere. */
        sets[n++] = (struct field_set){motor_fields, m};
        for (size_t i = 0; (k = motor_kind_at(i)) && i < MOTOR_KINDS_MAX; i++) {
                if (k != kind) {
                        scratch[i] = calloc(1, k->settings_size ?: 1);
                        if (!scratch[i]) {
                                r = -ENOMEM;
                                goto out;
                        }
                }
                sets[n++] = (struct field_set){k->wiring, k == kind ? m : &other};
                sets[n++] = (struct field_set){k->fields, k == kind ? m->settings : scratch[i]};
        }
        r = parse_mappings(ctx, node, what, sets, n);
        if (r < 0)
                goto out;
        for (size_t i = 0; (k = motor_kind_at(i)); i++) {
                const struct field *tables[] = {k->wiring, k->fields};
                if (k == kind)
                        continue;
                for (size_t t = 0; t < ELEMENTSOF(tables); t++)
                        for (size_t j = 0; j < n_fields(tables[t]); j++)
                                if (ynode_lookup(node, tables[t][j].key)) {
                                        foreign_key(ctx, node, tables[t][j].key, k, kind,
                                                    named || kind->claims);
                                        ok = false;
                                }
        }
        if (kind->check)
                ok = kind->check(ctx, node, what, m) && ok;
        if (m->max_current_a <= 0.0) {
                parse_error(ctx, ynode_lookup(node, "max-current"), "max-current must be above 0 amperes");
                ok = false;
        }
        r = ok ? 0 : -EINVAL;
out:
        for (size_t i = 0; i < MOTOR_KINDS_MAX; i++)
                free(scratch[i]);
        return r;
}

usec_t motor_config_travel_usec(const struct motor_config *m)
{
        return m->kind && m->kind->travel_usec ? m->kind->travel_usec(m) : 0;
}

int motor_config_watched(const struct motor_config *m)
{
        return m->kind && m->kind->watched ? m->kind->watched(m) : IO_NONE;
}

static int parse_axes(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        struct chair_config *c = config_of(ctx);
        bool bad = false;
        int r;

        if (!expect_type(ctx, node, YNODE_MAPPING, "axes"))
                return -EINVAL;
        for (size_t i = 0; i < ynode_n_pairs(node); i++) {
                unsigned a;
                if (lookup_name(ctx, ynode_key(node, i), axis_names, "axis", &a) < 0) {
                        bad = true;
                        continue;
                }
                set_section(ctx, "recline.%s", axis_to_string((enum axis) a));
                r = parse_motor(ctx, ynode_value(node, i), "axis", &c->axes[a]);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        bad = true;
                        continue;
                }
                c->axis[a] = true;
        }
        return bad ? -EINVAL : 0;
}

static const struct field preset_fields[] = {
        {"backrest", field_fraction, offsetof(struct preset_config, position[AXIS_BACKREST])},
        {"legrest", field_fraction, offsetof(struct preset_config, position[AXIS_LEGREST])},
        {"slide", field_fraction, offsetof(struct preset_config, position[AXIS_SLIDE])},
        {},
};

static int parse_presets(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        struct chair_config *c = config_of(ctx);
        bool bad = false;
        int r;

        if (!expect_type(ctx, node, YNODE_MAPPING, "presets"))
                return -EINVAL;
        c->presets = calloc(ynode_n_pairs(node), sizeof(*c->presets));
        if (!c->presets && ynode_n_pairs(node) > 0)
                return -ENOMEM;
        for (size_t i = 0; i < ynode_n_pairs(node); i++) {
                const struct ynode *key = ynode_key(node, i), *value = ynode_value(node, i);
                struct preset_config *p = &c->presets[c->n_presets];

                for (int a = 0; a < _AXIS_MAX; a++)
                        p->position[a] = -1.0; /* not given; checked against the axes after the section */
                r = parse_mapping(ctx, value, "preset", preset_fields, p, NULL);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        bad = true;
                        continue;
                }
                p->name = strdup(key->value);
                if (!p->name || strv_extend(&c->preset_names, key->value) < 0)
                        return -ENOMEM;
                p->mark = ynode_mark(value);
                c->n_presets++;
        }
        return bad ? -EINVAL : 0;
}

static const struct field recline_fields[] = {
        {"axes", parse_axes, offsetof(struct chair_config, axis), FIELD_REQUIRED, .names = axis_names,
         .shape = SHAPE_MAP, .sub_of = motor_schema_fields},
        {"presets", parse_presets, 0, FIELD_REQUIRED, .shape = SHAPE_MAP, .sub = preset_fields},
        {},
};

static int parse_recline(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        struct chair_config *c = config_of(ctx);
        int r;

        /* The recline fields write into the config itself (dest is the config). */
        r = parse_mapping(ctx, node, "recline", recline_fields, dest, NULL);
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_presets; i++)
                for (int a = 0; a < _AXIS_MAX; a++) {
                        const struct preset_config *p = &c->presets[i];
                        bool given = p->position[a] >= 0.0;

                        if (given && !c->axis[a]) {
                                parse_error_at(ctx, p->mark,
                                               "preset '%s' moves the %s, which this chair does not have",
                                               p->name, axis_to_string((enum axis) a));
                                r = -EINVAL;
                        } else if (!given && c->axis[a]) {
                                parse_error_at(ctx, p->mark, "preset '%s' does not say where the %s goes",
                                               p->name, axis_to_string((enum axis) a));
                                r = -EINVAL;
                        }
                }
        if (r == 0 && !strv_contains((const char *const *) c->preset_names, PRESET_UPRIGHT)) {
                parse_error(ctx, node,
                            "recline needs a preset named '" PRESET_UPRIGHT "': the chair returns to it "
                            "after a program");
                r = -EINVAL;
        }
        return r;
}

static const struct field shoulder_fields[] = {
        {"default", field_length_mm, offsetof(struct roller_geometry, shoulder_mm), 0, 0, 2000},
        {"min", field_length_mm, offsetof(struct roller_geometry, shoulder_min_mm), 0, 0, 2000},
        {"max", field_length_mm, offsetof(struct roller_geometry, shoulder_max_mm), 0, 0, 2000},
        {},
};

static int parse_shoulder(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        struct roller_geometry *g = dest;
        int r = parse_mapping(ctx, node, "shoulder", shoulder_fields, g, NULL);

        if (r < 0)
                return r;
        if (!(g->shoulder_min_mm <= g->shoulder_mm && g->shoulder_mm <= g->shoulder_max_mm)) {
                parse_error(ctx, node, "shoulder default must lie between its min and max");
                return -EINVAL;
        }
        return 0;
}

#define LANDMARK_FIELD(name, lm)                                                                            \
        {                                                                                                   \
                name, field_length_mm, offsetof(struct roller_geometry, landmark_mm[lm]), 0, -500, 2000     \
        }
static const struct field landmark_fields[] = {
        /* "shoulders" is the reference every other landmark is measured from: always 0mm. */
        LANDMARK_FIELD("neck", LANDMARK_NECK),
        LANDMARK_FIELD("upper-back", LANDMARK_UPPER_BACK),
        LANDMARK_FIELD("mid-back", LANDMARK_MID_BACK),
        LANDMARK_FIELD("lumbar", LANDMARK_LUMBAR),
        LANDMARK_FIELD("hips", LANDMARK_HIPS),
        LANDMARK_FIELD("thighs", LANDMARK_THIGHS),
        {},
};

static int parse_landmarks(struct parse_ctx *ctx, const struct ynode *node, const struct field *f,
                           void *dest)
{
        struct roller_geometry *g = dest;
        int r = parse_mapping(ctx, node, "landmarks", landmark_fields, g, NULL);

        if (r < 0)
                return r;
        for (int l = 1; l < _LANDMARK_MAX; l++)
                if (g->landmark_mm[l] <= g->landmark_mm[l - 1]) {
                        parse_error(ctx, node, "landmark %s must lie below %s",
                                    landmark_to_string((enum landmark) l),
                                    landmark_to_string((enum landmark)(l - 1)));
                        return -EINVAL;
                }
        return 0;
}

static int parse_techniques(struct parse_ctx *ctx, const struct ynode *node, const struct field *f,
                            void *dest)
{
        _cleanup_(strv_freep) char **names = NULL;
        const struct field list = {"techniques", .names = technique_names};
        unsigned set = 0;
        int r;

        r = field_name_list(ctx, node, &list, &names);
        if (r < 0)
                return r;
        for (char **n = names; *n; n++)
                set |= TECHNIQUE_BIT(technique_from_string(*n));
        *(unsigned *) dest = set;
        return 0;
}

static int parse_travel(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        set_section(ctx, "roller.travel");
        int r = parse_motor(ctx, node, "travel", dest);
        set_section(ctx, "roller"); /* the roller's own keys follow */
        return r;
}

static const struct field roller_fields[] = {
        {"track-length", field_length_mm, offsetof(struct roller_config, geometry.track_mm), FIELD_REQUIRED,
         100, 2000},
        {"shoulder", parse_shoulder, offsetof(struct roller_config, geometry), .shape = SHAPE_OBJECT,
         .sub = shoulder_fields},
        {"landmarks", parse_landmarks, offsetof(struct roller_config, geometry), .shape = SHAPE_OBJECT,
         .sub = landmark_fields},
        {"techniques", parse_techniques, offsetof(struct roller_config, techniques),
         .schema = SCHEMA_TECHNIQUES},
        {"depth-levels", field_uint, offsetof(struct roller_config, depth_levels), 0, 1, ROLLER_DEPTH_MAX},
        {"travel", parse_travel, offsetof(struct roller_config, travel), FIELD_REQUIRED,
         .shape = SHAPE_OBJECT, .sub_of = motor_schema_fields},
        {"kneading", field_out_level, offsetof(struct roller_config, kneading)},
        {"tapping", field_out_level, offsetof(struct roller_config, tapping)},
        {"width", field_out_value, offsetof(struct roller_config, width)},
        {"depth", field_out_value, offsetof(struct roller_config, depth)},
        {"body-sensor", field_in_switch, offsetof(struct roller_config, body_sensor)},
        {},
};
enum { RF_TECHNIQUES = 3, RF_DEPTH_LEVELS = 4 };

/* What each technique needs wired besides the travel. */
static const struct {
        unsigned techniques;
        size_t io;
        const char *key;
} technique_needs[] = {
        {TECHNIQUE_BIT(TECHNIQUE_KNEADING), offsetof(struct roller_config, kneading), "kneading"},
        {TECHNIQUES_PERCUSSION, offsetof(struct roller_config, tapping), "tapping"},
};

static int parse_roller(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        struct chair_config *c = config_of(ctx);
        struct roller_config *rc = &c->roller;
        uint64_t seen = 0;
        int r;

        c->has_roller = true;
        set_section(ctx, "roller");
        r = parse_mapping(ctx, node, "roller", roller_fields, rc, &seen);
        if (r < 0)
                return r;
        if (rc->geometry.shoulder_max_mm >= rc->geometry.track_mm) {
                parse_error(ctx, node, "the shoulder search range must end above the end of the track");
                return -EINVAL;
        }
        for (size_t i = 0; i < ELEMENTSOF(technique_needs); i++) {
                bool wired = *(int *) ((char *) rc + technique_needs[i].io) != IO_NONE;
                if (wired)
                        continue;
                if (seen & (UINT64_C(1) << RF_TECHNIQUES) &&
                    rc->techniques & technique_needs[i].techniques) {
                        parse_error(ctx, ynode_lookup(node, "techniques"),
                                    "the roller lists a technique that needs '%s', which is not wired",
                                    technique_needs[i].key);
                        r = -EINVAL;
                }
                rc->techniques &= ~technique_needs[i].techniques;
        }
        if (!(seen & (UINT64_C(1) << RF_DEPTH_LEVELS)))
                rc->depth_levels = rc->depth != IO_NONE ? 5 : 1;
        else if (rc->depth_levels > 1 && rc->depth == IO_NONE) {
                parse_error(ctx, ynode_lookup(node, "depth-levels"),
                            "depth-levels above 1 needs 'depth' wired");
                r = -EINVAL;
        }
        return r;
}

static const struct field zone_fields[] = {
        {"inflate", field_out_switch, offsetof(struct airbag_zone_config, inflate), FIELD_REQUIRED},
        {"hold", field_out_switch, offsetof(struct airbag_zone_config, hold), FIELD_REQUIRED},
        {"pressure", field_in_value, offsetof(struct airbag_zone_config, pressure)},
        {},
};

static int parse_zones(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        struct chair_config *c = config_of(ctx);
        bool bad = false;
        int r;

        if (!expect_type(ctx, node, YNODE_MAPPING, "zones"))
                return -EINVAL;
        if (ynode_n_pairs(node) == 0) {
                parse_error(ctx, node, "zones must name at least one airbag zone");
                return -EINVAL;
        }
        c->zones = calloc(ynode_n_pairs(node), sizeof(*c->zones));
        if (!c->zones)
                return -ENOMEM;
        for (size_t i = 0; i < ynode_n_pairs(node); i++) {
                const struct ynode *key = ynode_key(node, i);
                struct airbag_zone_config *z = &c->zones[c->n_zones];

                z->inflate = z->hold = z->pressure = IO_NONE;
                set_section(ctx, "airbags.%s", key->value);
                r = parse_mapping(ctx, ynode_value(node, i), "airbag zone", zone_fields, z, NULL);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        bad = true;
                        continue;
                }
                z->name = strdup(key->value);
                if (!z->name || strv_extend(&c->airbag_zones, key->value) < 0)
                        return -ENOMEM;
                c->n_zones++;
        }
        return bad ? -EINVAL : 0;
}

/* A list of exactly n rising numbers between min and max: a level table. */
static int parse_rising(struct parse_ctx *ctx, const struct ynode *node, const char *key, const char *what,
                        const char *unit, size_t n, double min, double max, double *ret)
{
        if (!expect_type(ctx, node, YNODE_SEQUENCE, key))
                return -EINVAL;
        if (node->n_children != n) {
                parse_error(ctx, node, "%s must list %zu %ss (one per level), not %zu", key, n, what,
                            node->n_children);
                return -EINVAL;
        }
        for (size_t i = 0; i < n; i++) {
                const struct ynode *item = node->children[i];
                double v;

                if (!expect_type(ctx, item, YNODE_SCALAR, what) || parse_number(item->value, &v) < 0) {
                        if (item->type == YNODE_SCALAR)
                                parse_error(ctx, item, "a %s must be a number of %s, not '%s'", what, unit,
                                            item->value);
                        return -EINVAL;
                }
                if (v < min || v > max) {
                        parse_error(ctx, item, "%s %s is out of range (%g to %g %s)", what, item->value, min,
                                    max, unit);
                        return -EINVAL;
                }
                if (i > 0 && v <= ret[i - 1]) {
                        parse_error(ctx, item, "each level must be %s than the one before",
                                    streq(unit, "degrees Celsius") ? "warmer" : "higher");
                        return -EINVAL;
                }
                ret[i] = v;
        }
        return 0;
}

static int parse_levels(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        return parse_rising(ctx, node, "levels", "level temperature", "degrees Celsius", HEAT_LEVELS, 25.0,
                            70.0, dest);
}

static int parse_pressure_levels(struct parse_ctx *ctx, const struct ynode *node, const struct field *f,
                                 void *dest)
{
        return parse_rising(ctx, node, "pressure-levels", "pressure", "kPa", AIRBAG_INTENSITY_LEVELS, 1.0,
                            100.0, dest);
}

#define AIRBAG_LEVELS_TEXT STRINGIFY(AIRBAG_INTENSITY_LEVELS)
static const struct field airbag_fields[] = {
        {"pump", field_out_switch, offsetof(struct chair_config, pump), FIELD_REQUIRED},
        {"zones", parse_zones, 0, FIELD_REQUIRED, .shape = SHAPE_MAP, .sub = zone_fields},
        {"pressure-levels", parse_pressure_levels, offsetof(struct chair_config, airbag_pressure_kpa),
         .schema = "{\"type\":\"array\",\"minItems\":" AIRBAG_LEVELS_TEXT ",\"maxItems\":" AIRBAG_LEVELS_TEXT
                   ",\"items\":{\"type\":\"number\",\"minimum\":1,\"maximum\":100}}"},
        {},
};

static int parse_airbags(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        set_section(ctx, "airbags");
        return parse_mapping(ctx, node, "airbags", airbag_fields, config_of(ctx), NULL);
}

static const struct field heater_fields[] = {
        {"levels", parse_levels, offsetof(struct heater_config, level_temp_c), FIELD_REQUIRED,
         .schema = "{\"type\":\"array\",\"minItems\":" STRINGIFY(HEAT_LEVELS) ",\"maxItems\":" STRINGIFY(
                 HEAT_LEVELS) ",\"items\":{\"type\":\"number\",\"minimum\":25,\"maximum\":70}}"},
        {"output", field_out_switch, offsetof(struct heater_config, output), FIELD_REQUIRED},
        {"sensor", field_in_value, offsetof(struct heater_config, sensor), FIELD_REQUIRED},
        {},
};

static int parse_heaters(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        struct chair_config *c = config_of(ctx);
        bool bad = false;
        int r;

        if (!expect_type(ctx, node, YNODE_MAPPING, "heaters"))
                return -EINVAL;
        c->heaters = calloc(ynode_n_pairs(node), sizeof(*c->heaters));
        if (!c->heaters && ynode_n_pairs(node) > 0)
                return -ENOMEM;
        for (size_t i = 0; i < ynode_n_pairs(node); i++) {
                const struct ynode *key = ynode_key(node, i);
                struct heater_config *h = &c->heaters[c->n_heaters];

                h->output = h->sensor = IO_NONE;
                set_section(ctx, "heaters.%s", key->value);
                r = parse_mapping(ctx, ynode_value(node, i), "heater", heater_fields, h, NULL);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        bad = true;
                        continue;
                }
                h->mark = ynode_mark(key);
                h->zone = strdup(key->value);
                if (!h->zone || strv_extend(&c->heat_zones, key->value) < 0)
                        return -ENOMEM;
                c->n_heaters++;
        }
        return bad ? -EINVAL : 0;
}

static const struct field foot_fields[] = {
        {"speed", field_out_level, offsetof(struct chair_config, foot_speed), FIELD_REQUIRED},
        {"speed-levels", field_uint, offsetof(struct chair_config, foot_speed_levels), 0, 1, FOOT_SPEED_MAX},
        {},
};

static int parse_foot_rollers(struct parse_ctx *ctx, const struct ynode *node, const struct field *f,
                              void *dest)
{
        struct chair_config *c = config_of(ctx);
        int r;

        set_section(ctx, "foot-rollers");
        r = parse_mapping(ctx, node, "foot-rollers", foot_fields, c, NULL);
        if (r < 0)
                return r;
        c->has_foot_rollers = true;
        return 0;
}

static const struct field input_fields[] = {
        {"emergency-stop", field_in_switch, offsetof(struct chair_config, estop), FIELD_REQUIRED},
        {"presence", field_in_switch, offsetof(struct chair_config, presence)},
        {},
};

static int parse_inputs(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        set_section(ctx, "inputs");
        return parse_mapping(ctx, node, "inputs", input_fields, config_of(ctx), NULL);
}

#define SAFETY_DURATION(key, member, lo, hi)                                                                \
        {                                                                                                   \
                key, field_duration, offsetof(struct safety_config, member), 0, (long long) (lo),           \
                        (long long) (hi)                                                                    \
        }
#define SAFETY_NUMBER(key, member, lo, hi)                                                                  \
        {                                                                                                   \
                key, field_number, offsetof(struct safety_config, member), 0, lo, hi                        \
        }
/* A number that must lie above lo: a rate or a step of 0 would make its check meaningless. */
#define SAFETY_NUMBER_ABOVE(key, member, lo, hi)                                                            \
        {                                                                                                   \
                key, field_number, offsetof(struct safety_config, member), FIELD_ABOVE_MIN, lo, hi          \
        }
static const struct field safety_fields[] = {
        SAFETY_DURATION("session-cap", session_cap_usec, USEC_PER_MINUTE, 2 * USEC_PER_HOUR),
        SAFETY_DURATION("axis-max-run", axis_max_run_usec, USEC_PER_SEC, 2 * USEC_PER_MINUTE),
        SAFETY_DURATION("roller-max-run", roller_max_run_usec, USEC_PER_SEC, USEC_PER_MINUTE),
        SAFETY_DURATION("no-progress", no_progress_usec, 100 * USEC_PER_MSEC, 30 * USEC_PER_SEC),
        SAFETY_DURATION("obstacle-back-off", obstacle_back_off_usec, 50 * USEC_PER_MSEC, 5 * USEC_PER_SEC),
        {"unbidden-pulses", field_uint, offsetof(struct safety_config, unbidden_pulses), 0, 1, 1000},
        SAFETY_DURATION("heat-timeout", heat_timeout_usec, USEC_PER_MINUTE, 2 * USEC_PER_HOUR),
        SAFETY_DURATION("heat-rest", heat_rest_usec, USEC_PER_MINUTE, USEC_PER_HOUR),
        SAFETY_NUMBER("heat-ceiling", heat_ceiling_c, 30, 90),
        SAFETY_NUMBER("heat-margin", heat_margin_c, 1, 20),
        SAFETY_DURATION("heat-check-window", heat_check_usec, 5 * USEC_PER_SEC, 10 * USEC_PER_MINUTE),
        SAFETY_NUMBER_ABOVE("heat-min-gain", heat_min_gain_c, 0, 20),
        SAFETY_NUMBER("heat-off-rise", heat_off_rise_c, 1, 50),
        SAFETY_DURATION("heat-off-window", heat_off_usec, 10 * USEC_PER_SEC, USEC_PER_HOUR),
        SAFETY_NUMBER_ABOVE("heat-min-fall", heat_min_fall_c_per_minute, 0, 20),
        SAFETY_DURATION("heat-idle-read", heat_idle_read_usec, USEC_PER_SEC, USEC_PER_MINUTE),
        SAFETY_NUMBER("sensor-min", sensor_min_c, -50, 20),
        SAFETY_NUMBER("sensor-max", sensor_max_c, 40, 150),
        SAFETY_DURATION("comm-loss", comm_loss_usec, 100 * USEC_PER_MSEC, USEC_PER_MINUTE),
        {},
};

static int parse_safety(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        struct safety_config *s = dest;
        int r = parse_mapping(ctx, node, "safety", safety_fields, s, NULL);

        if (r < 0)
                return r;
        if (s->heat_ceiling_c >= s->sensor_max_c) {
                parse_error(ctx, node,
                            "heat-ceiling must lie below sensor-max, or an overheated element would "
                            "read as a broken sensor first");
                return -EINVAL;
        }
        return 0;
}

static const struct field sessions_fields[] = {
        {"manual-duration", field_duration, offsetof(struct sessions_config, manual_duration_usec), 0,
         (long long) USEC_PER_MINUTE, (long long) (2 * USEC_PER_HOUR)},
        {"history", field_uint, offsetof(struct sessions_config, history_max), 0, 10, SESSIONS_HISTORY_MAX},
        {"profiles", field_uint, offsetof(struct sessions_config, profiles_max), 0, 1, 64},
        {},
};

static int parse_sessions(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        return parse_mapping(ctx, node, "sessions", sessions_fields, &config_of(ctx)->sessions, NULL);
}

/* buses: is parsed before everything else, because every I/O reference names a bus. */
static int parse_nothing(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        return 0;
}

const struct field config_fields[] = {
        {"buses", parse_nothing, 0, FIELD_REQUIRED, .shape = SHAPE_MAP, .sub = bus_fields},
        {"recline", parse_recline, 0, .shape = SHAPE_OBJECT, .sub = recline_fields},
        {"roller", parse_roller, 0, .shape = SHAPE_OBJECT, .sub = roller_fields},
        {"airbags", parse_airbags, 0, .shape = SHAPE_OBJECT, .sub = airbag_fields},
        {"heaters", parse_heaters, 0, .shape = SHAPE_MAP, .sub = heater_fields},
        {"foot-rollers", parse_foot_rollers, 0, .shape = SHAPE_OBJECT, .sub = foot_fields},
        {"inputs", parse_inputs, 0, FIELD_REQUIRED, .shape = SHAPE_OBJECT, .sub = input_fields},
        {"safety", parse_safety, offsetof(struct chair_config, safety), .shape = SHAPE_OBJECT,
         .sub = safety_fields},
        {"sessions", parse_sessions, 0, .shape = SHAPE_OBJECT, .sub = sessions_fields},
        {},
};

/* A motor's kind checks it against its run-time limit. */
static void check_run(struct parse_ctx *ctx, const struct motor_config *m, const char *name, usec_t max_run,
                      const char *limit)
{
        if (m->kind && m->kind->check_run)
                m->kind->check_run(ctx, m, name, max_run, limit);
}

/* Checks across sections, once each parsed. */
static void check_config(struct parse_ctx *ctx, const struct chair_config *c)
{
        for (int a = 0; a < _AXIS_MAX; a++)
                check_run(ctx, &c->axes[a], axis_to_string((enum axis) a), c->safety.axis_max_run_usec,
                          "axis-max-run");
        check_run(ctx, &c->roller.travel, "the roller's travel", c->safety.roller_max_run_usec,
                  "roller-max-run");
        for (size_t i = 0; i < c->n_heaters; i++)
                if (c->heaters[i].level_temp_c[HEAT_LEVELS - 1] >
                    c->safety.heat_ceiling_c - c->safety.heat_margin_c)
                        parse_error_at(
                                ctx, c->heaters[i].mark,
                                "heater '%s': level %d (%g degrees) must stay below the safety heat-ceiling "
                                "(%g) minus heat-margin (%g)",
                                c->heaters[i].zone, HEAT_LEVELS, c->heaters[i].level_temp_c[HEAT_LEVELS - 1],
                                c->safety.heat_ceiling_c, c->safety.heat_margin_c);
        check_io_conflicts(ctx, c);
}

const struct preset_config *chair_config_find_preset(const struct chair_config *c, const char *name)
{
        for (size_t i = 0; i < c->n_presets; i++)
                if (streq(c->presets[i].name, name))
                        return &c->presets[i];
        return NULL;
}

usec_t chair_config_recline_usec(const struct chair_config *c, const struct preset_config *from,
                                 const struct preset_config *to, enum axis *ret_slowest)
{
        usec_t longest = 0;

        for (enum axis a = 0; a < _AXIS_MAX; a++) {
                usec_t travel = motor_config_travel_usec(&c->axes[a]) ?: RECLINE_TRAVEL_NOMINAL_USEC;
                usec_t t = (usec_t) (fabs(to->position[a] - from->position[a]) * (double) travel);
                if (c->axis[a] && t > longest) {
                        longest = t;
                        if (ret_slowest)
                                *ret_slowest = a;
                }
        }
        return longest;
}

struct chair_config *chair_config_free(struct chair_config *c)
{
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_presets; i++)
                free(c->presets[i].name);
        free(c->presets);
        strv_free(c->preset_names);
        for (int a = 0; a < _AXIS_MAX; a++)
                motor_config_done(&c->axes[a]);
        motor_config_done(&c->roller.travel);
        strv_free(c->airbag_zones);
        for (size_t i = 0; i < c->n_heaters; i++)
                free(c->heaters[i].zone);
        free(c->heaters);
        strv_free(c->heat_zones);
        for (size_t i = 0; i < c->n_zones; i++)
                free(c->zones[i].name);
        free(c->zones);
        for (size_t i = 0; i < c->n_buses; i++)
                bus_config_done(&c->buses[i]);
        free(c->buses);
        for (size_t i = 0; i < c->n_ios; i++)
                io_config_done(&c->ios[i]);
        free(c->ios);
        free(c->file);
        free(c);
        return NULL;
}

static int config_from_tree(const char *file, const struct ynode *root, struct diag_list *diags,
                            struct chair_config **ret)
{
        _cleanup_(chair_config_freep) struct chair_config *c = NULL;
        size_t errors = diags->n_errors;
        struct config_parser parser = {};
        struct parse_ctx ctx = {.file = file, .diags = diags, .userdata = &parser};
        const struct ynode *buses;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->file = strdup(file);
        if (!c->file)
                return -ENOMEM;
        c->roller = (struct roller_config){
                .geometry = roller_geometry_default,
                .techniques = TECHNIQUES_ALL,
                .depth_levels = 5,
        };
        c->safety = safety_config_default;
        c->sessions = sessions_config_default;
        c->foot_speed_levels = FOOT_SPEED_MAX;
        memcpy(c->airbag_pressure_kpa, airbag_pressure_default_kpa, sizeof(c->airbag_pressure_kpa));
        c->pump = c->foot_speed = c->estop = c->presence = IO_NONE;
        motor_config_init(&c->roller.travel);
        c->roller.kneading = c->roller.tapping = c->roller.width = c->roller.depth = c->roller.body_sensor =
                IO_NONE;
        for (int a = 0; a < _AXIS_MAX; a++)
                motor_config_init(&c->axes[a]);
        parser.config = c;

        if (root->type == YNODE_MAPPING && (buses = ynode_lookup(root, "buses"))) {
                r = parse_buses(&ctx, buses);
                if (r == -ENOMEM)
                        return r;
        }
        r = parse_mapping(&ctx, root, "the config", config_fields, c, NULL);
        if (r < 0 && r != -EINVAL)
                return r;
        if (diags->n_errors == errors)
                check_config(&ctx, c);
        if (diags->n_errors > errors || diags->oom)
                return -EINVAL;
        *ret = TAKE_PTR(c);
        return 0;
}

int chair_config_load(const char *file, const void *data, size_t size, struct diag_list *diags,
                      struct chair_config **ret)
{
        _cleanup_(ydoc_freep) struct ydoc *doc = NULL;
        int r = ydoc_load(file, data, size, NULL, diags, &doc);
        if (r < 0)
                return r;
        return config_from_tree(file, ydoc_root(doc), diags, ret);
}

int chair_config_load_file(const char *path, struct diag_list *diags, struct chair_config **ret)
{
        _cleanup_(ydoc_freep) struct ydoc *doc = NULL;
        int r = ydoc_load_file(path, &yload_config_limits, diags, &doc);
        if (r < 0)
                return r;
        return config_from_tree(path, ydoc_root(doc), diags, ret);
}
