/* config.c: parses and checks the chair's hardware config (chaird.yaml). */
#include <errno.h>
#include <stddef.h>

#include "config.h"
#include "schema.h"
#include "yamltree.h"

DEFINE_STRING_TABLE(axis, enum axis, _AXIS_MAX, "backrest", "legrest", "slide")

const struct roller_geometry roller_geometry_default = {
        .track_mm = 1150.0,
        .shoulder_mm = 150.0,
        .shoulder_min_mm = 60.0,
        .shoulder_max_mm = 300.0,
        .landmark_mm = {
                [LANDMARK_NECK] = -80.0,
                [LANDMARK_SHOULDERS] = 0.0,
                [LANDMARK_UPPER_BACK] = 120.0,
                [LANDMARK_MID_BACK] = 240.0,
                [LANDMARK_LUMBAR] = 380.0,
                [LANDMARK_HIPS] = 520.0,
                [LANDMARK_THIGHS] = 680.0,
        },
};

/* Config values a file may give for a table whose entries have nothing else to say yet: "{}" or empty. */
static bool empty_section(struct parse_ctx *ctx, const struct ynode *node, const char *what)
{
        if (ynode_is_null(node))
                return true;
        return parse_mapping(ctx, node, what, (const struct field[]){ {} }, NULL, NULL) == 0;
}

static int parse_axes(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        bool *axis = dest;
        bool bad = false;

        if (!expect_type(ctx, node, YNODE_MAPPING, "axes"))
                return -EINVAL;
        for (size_t i = 0; i < ynode_n_pairs(node); i++) {
                unsigned a;
                if (lookup_name(ctx, ynode_key(node, i), axis_names, "axis", &a) < 0 ||
                    !empty_section(ctx, ynode_value(node, i), ynode_key(node, i)->value)) {
                        bad = true;
                        continue;
                }
                axis[a] = true;
        }
        return bad ? -EINVAL : 0;
}

static const struct field preset_fields[] = {
        { "backrest", field_fraction, offsetof(struct preset_config, position[AXIS_BACKREST]) },
        { "legrest", field_fraction, offsetof(struct preset_config, position[AXIS_LEGREST]) },
        { "slide", field_fraction, offsetof(struct preset_config, position[AXIS_SLIDE]) },
        {},
};

static int parse_presets(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        struct chair_config *c = ctx->userdata;
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
        { "axes", parse_axes, offsetof(struct chair_config, axis), FIELD_REQUIRED },
        { "presets", parse_presets, 0, FIELD_REQUIRED },
        {},
};

static int parse_recline(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        struct chair_config *c = ctx->userdata;
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
                                parse_error_at(ctx, p->mark, "preset '%s' moves the %s, which this chair does not have",
                                               p->name, axis_to_string((enum axis) a));
                                r = -EINVAL;
                        } else if (!given && c->axis[a]) {
                                parse_error_at(ctx, p->mark, "preset '%s' does not say where the %s goes", p->name,
                                               axis_to_string((enum axis) a));
                                r = -EINVAL;
                        }
                }
        if (r == 0 && !strv_contains((const char *const *) c->preset_names, "upright")) {
                parse_error(ctx, node, "recline needs a preset named 'upright': the chair returns to it after a program");
                r = -EINVAL;
        }
        return r;
}

static const struct field shoulder_fields[] = {
        { "default", field_length_mm, offsetof(struct roller_geometry, shoulder_mm), 0, 0, 2000 },
        { "min", field_length_mm, offsetof(struct roller_geometry, shoulder_min_mm), 0, 0, 2000 },
        { "max", field_length_mm, offsetof(struct roller_geometry, shoulder_max_mm), 0, 0, 2000 },
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

#define LANDMARK_FIELD(name, lm)                                                                             \
        { name, field_length_mm, offsetof(struct roller_geometry, landmark_mm[lm]), 0, -500, 2000 }
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

static int parse_landmarks(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        struct roller_geometry *g = dest;
        int r = parse_mapping(ctx, node, "landmarks", landmark_fields, g, NULL);

        if (r < 0)
                return r;
        for (int l = 1; l < _LANDMARK_MAX; l++)
                if (g->landmark_mm[l] <= g->landmark_mm[l - 1]) {
                        parse_error(ctx, node, "landmark %s must lie below %s", landmark_to_string((enum landmark) l),
                                    landmark_to_string((enum landmark) (l - 1)));
                        return -EINVAL;
                }
        return 0;
}

static int parse_techniques(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        _cleanup_(strv_freep) char **names = NULL;
        const struct field list = { "techniques", .names = technique_names };
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

static const struct field roller_fields[] = {
        { "track-length", field_length_mm, offsetof(struct roller_config, geometry.track_mm), FIELD_REQUIRED, 100,
          2000 },
        { "shoulder", parse_shoulder, offsetof(struct roller_config, geometry) },
        { "landmarks", parse_landmarks, offsetof(struct roller_config, geometry) },
        { "techniques", parse_techniques, offsetof(struct roller_config, techniques) },
        { "depth-levels", field_uint, offsetof(struct roller_config, depth_levels), 0, 1, 5 },
        { "width", field_bool, offsetof(struct roller_config, width) },
        { "scan", field_bool, offsetof(struct roller_config, scan) },
        {},
};

static int parse_roller(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        struct chair_config *c = ctx->userdata;
        struct roller_config *rc = &c->roller;
        int r;

        c->has_roller = true;
        r = parse_mapping(ctx, node, "roller", roller_fields, rc, NULL);
        if (r < 0)
                return r;
        if (rc->geometry.shoulder_max_mm >= rc->geometry.track_mm) {
                parse_error(ctx, node, "the shoulder search range must end above the end of the track");
                return -EINVAL;
        }
        return 0;
}

static const struct field airbag_fields[] = {
        { "zones", field_name_list, 0, FIELD_REQUIRED },
        {},
};

static int parse_airbags(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        struct chair_config *c = ctx->userdata;
        return parse_mapping(ctx, node, "airbags", airbag_fields, &c->airbag_zones, NULL);
}

static int parse_levels(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        double *temp = dest;

        if (!expect_type(ctx, node, YNODE_SEQUENCE, "levels"))
                return -EINVAL;
        if (node->n_children != 3) {
                parse_error(ctx, node, "levels must list 3 temperatures (for heat levels 1, 2 and 3), not %zu",
                            node->n_children);
                return -EINVAL;
        }
        for (size_t i = 0; i < 3; i++) {
                const struct ynode *item = node->children[i];
                double v;

                if (!expect_type(ctx, item, YNODE_SCALAR, "a level temperature") ||
                    parse_number(item->value, &v) < 0) {
                        if (item->type == YNODE_SCALAR)
                                parse_error(ctx, item, "a level temperature must be a number of degrees Celsius, not '%s'",
                                            item->value);
                        return -EINVAL;
                }
                if (v < 25.0 || v > 70.0) {
                        parse_error(ctx, item, "level temperature %s is out of range (25 to 70 degrees Celsius)",
                                    item->value);
                        return -EINVAL;
                }
                if (i > 0 && v <= temp[i - 1]) {
                        parse_error(ctx, item, "each level must be warmer than the one before");
                        return -EINVAL;
                }
                temp[i] = v;
        }
        return 0;
}

static const struct field heater_fields[] = {
        { "levels", parse_levels, offsetof(struct heater_config, level_temp_c), FIELD_REQUIRED },
        {},
};

static int parse_heaters(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        struct chair_config *c = ctx->userdata;
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

                r = parse_mapping(ctx, ynode_value(node, i), "heater", heater_fields, h, NULL);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        bad = true;
                        continue;
                }
                h->zone = strdup(key->value);
                if (!h->zone || strv_extend(&c->heat_zones, key->value) < 0)
                        return -ENOMEM;
                c->n_heaters++;
        }
        return bad ? -EINVAL : 0;
}

static int parse_foot_rollers(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        if (!empty_section(ctx, node, "foot-rollers"))
                return -EINVAL;
        *(bool *) dest = true;
        return 0;
}

static const struct field safety_fields[] = {
        { "session-cap", field_duration, offsetof(struct safety_config, session_cap_usec), 0,
          (long long) USEC_PER_MINUTE, (long long) (2 * USEC_PER_HOUR) },
        {},
};

static int parse_safety(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        return parse_mapping(ctx, node, "safety", safety_fields, dest, NULL);
}

static const struct field config_fields[] = {
        { "recline", parse_recline, 0 },
        { "roller", parse_roller, 0 },
        { "airbags", parse_airbags, 0 },
        { "heaters", parse_heaters, 0 },
        { "foot-rollers", parse_foot_rollers, offsetof(struct chair_config, has_foot_rollers) },
        { "safety", parse_safety, offsetof(struct chair_config, safety) },
        {},
};

struct chair_config *chair_config_free(struct chair_config *c)
{
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_presets; i++)
                free(c->presets[i].name);
        free(c->presets);
        strv_free(c->preset_names);
        strv_free(c->airbag_zones);
        for (size_t i = 0; i < c->n_heaters; i++)
                free(c->heaters[i].zone);
        free(c->heaters);
        strv_free(c->heat_zones);
        free(c->file);
        free(c);
        return NULL;
}

static int config_from_tree(const char *file, const struct ynode *root, struct diag_list *diags,
                            struct chair_config **ret)
{
        _cleanup_(chair_config_freep) struct chair_config *c = NULL;
        size_t errors = diags->n_errors;
        struct parse_ctx ctx = { .file = file, .diags = diags };
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
                .width = true,
                .scan = true,
        };
        c->safety.session_cap_usec = SAFETY_SESSION_CAP_DEFAULT_USEC;
        ctx.userdata = c;

        r = parse_mapping(&ctx, root, "the config", config_fields, c, NULL);
        if (r < 0 && r != -EINVAL)
                return r;
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
        int r = ydoc_load_file(path, NULL, diags, &doc);
        if (r < 0)
                return r;
        return config_from_tree(path, ydoc_root(doc), diags, ret);
}
