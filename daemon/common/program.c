/* program.c: parses a massage program from YAML and validates it, against a chair's config if given. */
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "program.h"
#include "yamltree.h"

/* What the handlers share while one program is parsed. */
struct program_ctx {
        struct program *program;
        const struct chair_config *config; /* NULL: the standard vocabulary */
        const struct pattern_library *library;
        bool warned_skip[5]; /* one "this chair has no ..." warning per track */
};

enum skipped_track {
        SKIP_RECLINE,
        SKIP_ROLLER,
        SKIP_AIRBAGS,
        SKIP_HEAT,
        SKIP_FOOT,
};

static struct program_ctx *pctx(struct parse_ctx *ctx)
{
        return ctx->userdata;
}

/* Warns once per program that the chair lacks a part, so the program loads and that track is skipped.
 * Returns true when the part is missing. */
static bool chair_lacks(struct parse_ctx *ctx, const struct ynode *node, enum skipped_track t)
{
        static const char *const what[] = {
                [SKIP_RECLINE] = "recline motors; the recline track",
                [SKIP_ROLLER] = "massage roller; the roller track",
                [SKIP_AIRBAGS] = "airbags; the airbags track",
                [SKIP_HEAT] = "heaters; the heat track",
                [SKIP_FOOT] = "foot rollers; the foot-rollers track",
        };
        const struct chair_config *c = pctx(ctx)->config;
        bool lacks;

        if (!c)
                return false;
        switch (t) {
        case SKIP_RECLINE:
                lacks = !c->axis[AXIS_BACKREST] && !c->axis[AXIS_LEGREST] && !c->axis[AXIS_SLIDE];
                break;
        case SKIP_ROLLER:
                lacks = !c->has_roller;
                break;
        case SKIP_AIRBAGS:
                lacks = !c->airbag_zones;
                break;
        case SKIP_HEAT:
                lacks = !c->heat_zones;
                break;
        case SKIP_FOOT:
        default:
                lacks = !c->has_foot_rollers;
                break;
        }
        if (lacks && !pctx(ctx)->warned_skip[t]) {
                parse_warning(ctx, node, "this chair has no %s is skipped", what[t]);
                pctx(ctx)->warned_skip[t] = true;
        }
        return lacks;
}

/* "off" as the whole value of a track turns it off for the phase. */
static bool is_off(const struct ynode *node)
{
        return node->type == YNODE_SCALAR && !node->quoted && streq(node->value, "off");
}

/* ---- recline ---- */

static int parse_recline(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        const struct chair_config *c = pctx(ctx)->config;
        struct phase *ph = dest;
        const char *const *presets = standard_presets;

        if (!expect_type(ctx, node, YNODE_SCALAR, "recline"))
                return -EINVAL;
        if (chair_lacks(ctx, node, SKIP_RECLINE))
                presets = NULL;
        else if (c)
                presets = (const char *const *) c->preset_names;
        if (presets && check_name(ctx, node, presets, "recline preset") < 0)
                return -EINVAL;
        ph->recline = strdup(node->value);
        ph->recline_mark = ynode_mark(node);
        pctx(ctx)->program->uses_recline = true;
        return ph->recline ? 0 : -ENOMEM;
}

/* ---- roller ---- */

static int parse_roller_technique(struct parse_ctx *ctx, const struct ynode *node, const struct field *f,
                                  void *dest)
{
        return parse_techniques(ctx, node, dest);
}

/* Named areas: where they start and end. */
static const struct {
        const char *name;
        struct position from, to;
} named_areas[] = {
        {"full", {.kind = POSITION_TRACK, .track = 0.0}, {.kind = POSITION_TRACK, .track = 1.0}},
        {"back",
         {.kind = POSITION_LANDMARK, .landmark = LANDMARK_NECK},
         {.kind = POSITION_LANDMARK, .landmark = LANDMARK_LUMBAR}},
};

const char *program_area_name(size_t i, struct position *ret_from, struct position *ret_to)
{
        if (i >= ELEMENTSOF(named_areas))
                return NULL;
        if (ret_from)
                *ret_from = named_areas[i].from;
        if (ret_to)
                *ret_to = named_areas[i].to;
        return named_areas[i].name;
}

static int parse_area(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        struct roller_phase *r = dest;
        int k;

        if (node->type == YNODE_SEQUENCE) {
                if (node->n_children != 2) {
                        parse_error(ctx, node,
                                    "area as a list names where it starts and ends, e.g. [shoulders, "
                                    "lumbar]; this list has %zu items",
                                    node->n_children);
                        return -EINVAL;
                }
                /* Both ends checked, so that two bad names are both reported. */
                k = parse_position(ctx, node->children[0], "area", &r->from);
                int l = parse_position(ctx, node->children[1], "area", &r->to);
                if (k < 0 || l < 0)
                        return k < 0 ? k : l;
                r->spot = false;
                return 0;
        }
        if (!expect_type(ctx, node, YNODE_SCALAR, "area"))
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(named_areas); i++)
                if (streq(node->value, named_areas[i].name)) {
                        r->from = named_areas[i].from;
                        r->to = named_areas[i].to;
                        r->from.mark = r->to.mark = ynode_mark(node);
                        r->spot = false;
                        return 0;
                }
        k = parse_position(ctx, node, "area", &r->from);
        if (k < 0)
                return k;
        r->to = r->from;
        r->spot = true;
        return 0;
}

int area_from_text(const char *area, const char *from, const char *to, struct position *ret_from,
                   struct position *ret_to, char *why, size_t size)
{
        struct ynode ends[2] = {{.type = YNODE_SCALAR, .value = (char *) from},
                                {.type = YNODE_SCALAR, .value = (char *) to}};
        struct ynode *children[2] = {&ends[0], &ends[1]};
        struct ynode node =
                area ? (struct ynode){.type = YNODE_SCALAR, .value = (char *) area}
                     : (struct ynode){.type = YNODE_SEQUENCE, .children = children, .n_children = 2};
        struct diag_list diags = {};
        struct parse_ctx ctx = {.file = "", .diags = &diags};
        struct roller_phase r = {};
        int k = parse_area(&ctx, &node, NULL, &r);

        if (k == -EINVAL && diags.n > 0)
                snprintf(why, size, "%s", diags.items[0].message);
        diag_list_clear(&diags);
        if (k < 0)
                return k;
        *ret_from = r.from;
        *ret_to = r.to;
        return 0;
}

static int parse_roller_width(struct parse_ctx *ctx, const struct ynode *node, const struct field *f,
                              void *dest)
{
        struct roller_phase *r = dest;
        unsigned w;
        int k = lookup_name(ctx, node, width_names, "width", &w);

        if (k < 0)
                return k;
        r->width = (enum width) w;
        return 0;
}

static const struct field roller_fields[] = {
        {"technique", parse_roller_technique, offsetof(struct roller_phase, technique), FIELD_REQUIRED,
         .schema = SCHEMA_TECHNIQUES},
        {"pattern", field_string, offsetof(struct roller_phase, pattern_name)},
        {"area", parse_area, 0,
         .schema = "{\"oneOf\":[{\"type\":\"number\",\"minimum\":0,\"maximum\":1},{\"enum\":[\"back\","
                   "\"full\",@LANDMARKS@]},{\"type\":\"array\",\"minItems\":2,\"maxItems\":2,"
                   "\"items\":{\"anyOf\":[{\"type\":\"number\",\"minimum\":0,\"maximum\":1},"
                   "{\"enum\":[@LANDMARKS@]}]}}]}"},
        {"speed", field_uint, offsetof(struct roller_phase, speed), 0, 1, ROLLER_SPEED_MAX},
        {"depth", field_uint, offsetof(struct roller_phase, depth), 0, 1, ROLLER_DEPTH_MAX},
        {"width", parse_roller_width, 0, .schema = SCHEMA_WIDTH},
        {"stroke", field_duration, offsetof(struct roller_phase, stroke_usec), 0,
         (long long) (2 * USEC_PER_SEC), (long long) USEC_PER_MINUTE},
        {},
};

/* Checks a roller setting (technique set, depth) against what this chair's roller can do. */
static bool roller_can(struct parse_ctx *ctx, const char *file, struct mark tech_mark, unsigned technique,
                       struct mark depth_mark, unsigned depth)
{
        const struct chair_config *c = pctx(ctx)->config;
        bool ok = true;
        char buf[128];

        if (!c || !c->has_roller)
                return true;
        if (technique & ~c->roller.techniques) {
                diag_add(ctx->diags, SEVERITY_ERROR, file, tech_mark.line, tech_mark.column,
                         "this chair's roller cannot do %s",
                         techniques_to_string(buf, sizeof(buf), technique & ~c->roller.techniques));
                ok = false;
        }
        if (depth > c->roller.depth_levels && c->roller.depth_levels > 1) {
                diag_add(ctx->diags, SEVERITY_ERROR, file, depth_mark.line, depth_mark.column,
                         "depth %u is deeper than this chair's roller goes (depth 1 to %u)", depth,
                         c->roller.depth_levels);
                ok = false;
        }
        return ok;
}

static int parse_roller(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        struct roller_phase *r = dest;
        const struct ynode *n;
        int k;

        *r = (struct roller_phase){
                .set = true,
                .pattern = SIZE_MAX,
                .from = named_areas[1].from,
                .to = named_areas[1].to,
                .speed = ROLLER_SPEED_DEFAULT,
                .depth = ROLLER_DEPTH_DEFAULT,
                .width = WIDTH_MEDIUM,
                .stroke_usec = ROLLER_STROKE_DEFAULT_USEC,
                .mark = ynode_mark(node),
        };
        r->from.mark = r->to.mark = r->mark;
        r->depth_mark = r->technique_mark = r->pattern_mark = r->mark;
        if (is_off(node)) {
                r->off = true;
                return 0;
        }
        k = parse_mapping(ctx, node, "roller", roller_fields, r, NULL);
        if (k < 0)
                return k;
        if ((n = ynode_lookup(node, "depth")))
                r->depth_mark = ynode_mark(n);
        if ((n = ynode_lookup(node, "technique")))
                r->technique_mark = ynode_mark(n);
        if ((n = ynode_lookup(node, "pattern")))
                r->pattern_mark = ynode_mark(n);
        if ((n = ynode_lookup(node, "stroke")) && (r->pattern_name || r->spot))
                parse_warning(ctx, n,
                              "stroke only times the built-in sweep over an area; it does nothing here");
        if (chair_lacks(ctx, node, SKIP_ROLLER))
                return 0;
        if ((n = ynode_lookup(node, "width")) && pctx(ctx)->config &&
            pctx(ctx)->config->roller.width == IO_NONE)
                parse_warning(ctx, n, "this chair cannot set the roller width; width is ignored");
        if ((n = ynode_lookup(node, "depth")) && pctx(ctx)->config &&
            pctx(ctx)->config->roller.depth_levels <= 1)
                parse_warning(ctx, n, "this chair has no depth (3D) control; depth is ignored");
        return roller_can(ctx, ctx->file, r->technique_mark, r->technique, r->depth_mark, r->depth)
                       ? 0
                       : -EINVAL;
}

/* ---- airbags ---- */

/* The zone names a program may use on chair c: its own, and the standard ones (which it may lack). */
static char **zone_names(const char *const *chair, const char *const *standard)
{
        char **all = NULL;

        for (const char *const *l = chair; l && *l; l++)
                if (strv_extend(&all, *l) < 0)
                        return strv_free(all);
        for (const char *const *l = standard; *l; l++)
                if (!strv_contains((const char *const *) all, *l) && strv_extend(&all, *l) < 0)
                        return strv_free(all);
        return all;
}

/* A standard zone this chair lacks is skipped with a warning, like a part it lacks, so that programs fit
 * smaller chairs; a name that is no zone at all stays an error. */
static bool zone_missing(struct parse_ctx *ctx, const struct ynode *node, const char *const *chair,
                         const char *what)
{
        if (!chair || strv_contains(chair, node->value))
                return false;
        parse_warning(ctx, node, "this chair has no %s '%s'; it is skipped", what, node->value);
        return true;
}

static int parse_zones(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        const struct chair_config *c = pctx(ctx)->config;
        struct field list = {"zones", .what = "airbag zone"};
        _cleanup_(strv_freep) char **names = NULL;
        char **zones;
        size_t n = 0;
        int r;

        /* A chair without airbags skips the track, so its zone names need not match anything. */
        if (c && c->airbag_zones) {
                names = zone_names((const char *const *) c->airbag_zones, standard_airbag_zones);
                if (!names)
                        return -ENOMEM;
                list.names = (const char *const *) names;
        } else if (!c)
                list.names = standard_airbag_zones;
        r = field_name_list(ctx, node, &list, dest);
        if (r < 0 || !c || !c->airbag_zones)
                return r;
        zones = *(char ***) dest;
        for (size_t i = 0; zones[i]; i++) {
                const struct ynode *item = NULL;
                for (size_t k = 0; k < node->n_children && !item; k++)
                        if (streq(node->children[k]->value, zones[i]))
                                item = node->children[k];
                if (item && zone_missing(ctx, item, (const char *const *) c->airbag_zones, "airbag zone"))
                        free(zones[i]);
                else
                        zones[n++] = zones[i];
        }
        zones[n] = NULL;
        return 0;
}

static const struct field airbag_fields[] = {
        {"zones", parse_zones, offsetof(struct airbag_phase, zones), FIELD_REQUIRED,
         .schema =
                 "{\"type\":\"array\",\"minItems\":1,\"uniqueItems\":true,\"items\":{\"type\":\"string\"}}"},
        {"pattern", field_enum, offsetof(struct airbag_phase, pattern), 0, 0, 0, airbag_pattern_names,
         "airbag pattern"},
        {"intensity", field_uint, offsetof(struct airbag_phase, intensity), 0, 1, 5},
        {"inflate", field_duration, offsetof(struct airbag_phase, inflate_usec), 0, (long long) USEC_PER_SEC,
         (long long) (30 * USEC_PER_SEC)},
        {"hold", field_duration, offsetof(struct airbag_phase, hold_usec), 0, (long long) USEC_PER_SEC,
         (long long) (5 * USEC_PER_MINUTE)},
        {"vent", field_duration, offsetof(struct airbag_phase, vent_usec), 0, (long long) USEC_PER_SEC,
         (long long) (30 * USEC_PER_SEC)},
        {},
};

static int parse_airbags(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        struct airbag_phase *a = dest;
        int k;

        *a = (struct airbag_phase){
                .set = true,
                .pattern = AIRBAG_PATTERN_WAVE,
                .intensity = AIRBAG_INTENSITY_DEFAULT,
                .inflate_usec = AIRBAG_INFLATE_DEFAULT_USEC,
                .hold_usec = AIRBAG_HOLD_DEFAULT_USEC,
                .vent_usec = AIRBAG_VENT_DEFAULT_USEC,
                .mark = ynode_mark(node),
        };
        if (is_off(node)) {
                a->off = true;
                return 0;
        }
        k = parse_mapping(ctx, node, "airbags", airbag_fields, a, NULL);
        if (k < 0)
                return k;
        const struct ynode *written = ynode_lookup(node, "zones");
        if (a->pattern == AIRBAG_PATTERN_ALTERNATE && written && written->n_children < 2) {
                parse_error(ctx, ynode_lookup(node, "pattern"),
                            "alternate needs at least two zones to alternate between");
                return -EINVAL;
        }
        if (chair_lacks(ctx, node, SKIP_AIRBAGS))
                return 0;
        /* Its zones that this chair lacks were skipped: with none left (or one to alternate), so is the
         * track in this phase. */
        size_t left = strv_length(a->zones);
        if (left == 0 || (a->pattern == AIRBAG_PATTERN_ALTERNATE && left < 2)) {
                parse_warning(
                        ctx, node,
                        "this chair has %s of these airbag zones; the airbags track is skipped in this "
                        "phase",
                        left == 0 ? "none" : "only one");
                a->zones = strv_free(a->zones);
                a->off = true;
        }
        return 0;
}

/* ---- heat ---- */

static int parse_heat(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        const struct chair_config *c = pctx(ctx)->config;
        const char *const *zones = c ? (const char *const *) c->heat_zones : standard_heat_zones;
        struct phase *ph = dest;
        bool bad = false;

        ph->heat_set = true;
        if (is_off(node))
                return 0; /* no settings: every zone off */
        if (!expect_type(ctx, node, YNODE_MAPPING, "heat"))
                return -EINVAL;
        if (ynode_n_pairs(node) == 0) {
                parse_error(ctx, node, "heat must set at least one zone, e.g. {lumbar: 2}, or be off");
                return -EINVAL;
        }
        if (chair_lacks(ctx, node, SKIP_HEAT))
                zones = NULL;
        /* The names it may use: this chair's zones and the standard ones; a standard one it lacks is
         * skipped. Without a chair, the standard ones, and none is missing. */
        _cleanup_(strv_freep) char **names = NULL;
        if (zones) {
                names = zone_names(c ? zones : NULL, standard_heat_zones);
                if (!names)
                        return -ENOMEM;
        }
        if (!c)
                zones = NULL;
        ph->heat = calloc(ynode_n_pairs(node), sizeof(*ph->heat));
        if (!ph->heat)
                return -ENOMEM;
        for (size_t i = 0; i < ynode_n_pairs(node); i++) {
                const struct ynode *key = ynode_key(node, i);
                struct heat_setting *h = &ph->heat[ph->n_heat];
                struct field level = {"heat level", .min = 0, .max = HEAT_LEVELS};
                int k;

                if (names && check_name(ctx, key, (const char *const *) names, "heat zone") < 0) {
                        bad = true;
                        continue;
                }
                k = field_uint(ctx, ynode_value(node, i), &level, &h->level);
                if (k < 0) {
                        bad = true;
                        continue;
                }
                if (zones && zone_missing(ctx, key, zones, "heat zone"))
                        continue;
                h->zone = strdup(key->value);
                if (!h->zone)
                        return -ENOMEM;
                ph->n_heat++;
        }
        /* Every zone it names is one this chair lacks: the phase sets no heat (zones it does not name
         * keep their level), rather than heat off. */
        if (!bad && ph->n_heat == 0) {
                ph->heat_set = false;
                ph->heat = mfree(ph->heat);
        }
        return bad ? -EINVAL : 0;
}

/* ---- foot rollers ---- */

static const struct field foot_fields[] = {
        {"speed", field_uint, offsetof(struct foot_phase, speed), FIELD_REQUIRED, 1, FOOT_SPEED_MAX},
        {},
};

static int parse_foot(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        struct foot_phase *fp = dest;
        int k;

        *fp = (struct foot_phase){.set = true};
        if (is_off(node)) {
                fp->off = true;
                return 0;
        }
        k = parse_mapping(ctx, node, "foot-rollers", foot_fields, fp, NULL);
        if (k < 0)
                return k;
        chair_lacks(ctx, node, SKIP_FOOT);
        return 0;
}

/* ---- phases ---- */

static const struct field phase_fields[] = {
        {"name", field_string, offsetof(struct phase, name), FIELD_REQUIRED},
        {"duration", field_duration, offsetof(struct phase, duration_usec), 0,
         (long long) PHASE_DURATION_MIN_USEC, (long long) (2 * USEC_PER_HOUR)},
        {"recline", parse_recline, 0, .schema = "{\"type\":\"string\"}"},
        {"roller", parse_roller, offsetof(struct phase, roller), FIELD_OR_OFF, .shape = SHAPE_OBJECT,
         .sub = roller_fields},
        {"airbags", parse_airbags, offsetof(struct phase, airbags), FIELD_OR_OFF, .shape = SHAPE_OBJECT,
         .sub = airbag_fields},
        {"heat", parse_heat, 0, FIELD_OR_OFF,
         .schema = "{\"type\":\"object\",\"minProperties\":1,\"additionalProperties\":{\"type\":\"integer\","
                   "\"minimum\":0,\"maximum\":" STRINGIFY(HEAT_LEVELS) "}}"},
        {"foot-rollers", parse_foot, offsetof(struct phase, foot), FIELD_OR_OFF, .shape = SHAPE_OBJECT,
         .sub = foot_fields},
        {},
};

static void phase_done(struct phase *ph)
{
        free(ph->name);
        free(ph->recline);
        free(ph->roller.pattern_name);
        strv_free(ph->airbags.zones);
        for (size_t i = 0; i < ph->n_heat; i++)
                free(ph->heat[i].zone);
        free(ph->heat);
}

static int parse_phases(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        struct program *p = pctx(ctx)->program;
        bool bad = false;

        p->phases_mark = ynode_mark(node);
        if (!expect_type(ctx, node, YNODE_SEQUENCE, "phases"))
                return -EINVAL;
        if (node->n_children == 0) {
                parse_error(ctx, node, "a program needs at least one phase");
                return -EINVAL;
        }
        if (node->n_children > PROGRAM_MAX_PHASES) {
                parse_error(ctx, node->children[PROGRAM_MAX_PHASES], "a program has at most %d phases",
                            PROGRAM_MAX_PHASES);
                return -EINVAL;
        }
        p->phases = calloc(node->n_children, sizeof(*p->phases));
        if (!p->phases)
                return -ENOMEM;
        for (size_t i = 0; i < node->n_children; i++) {
                const struct ynode *item = node->children[i], *n;
                struct phase *ph = &p->phases[p->n_phases++];
                int k;

                ph->mark = ph->duration_mark = ynode_mark(item);
                k = parse_mapping(ctx, item, "phase", phase_fields, ph, NULL);
                if (k == -ENOMEM)
                        return k;
                if (k < 0)
                        bad = true;
                if ((n = ynode_lookup(item, "duration")))
                        ph->duration_mark = ynode_mark(n);
        }
        return bad ? -EINVAL : 0;
}

/* ---- the program ---- */

bool program_id_is_valid(const char *id)
{
        return id[0] != '-' && name_is_valid(id, 64);
}

/* "manual" names manual mode's sessions (Program, History): a program file may not take it. */
static bool id_kept(const struct parse_ctx *ctx, const char *id)
{
        return streq(id, PROGRAM_MANUAL_ID) && !streq(ctx->file, PROGRAM_MANUAL_FILE);
}

static int parse_id(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        int r = field_string(ctx, node, f, dest);

        if (r < 0)
                return r;
        if (!program_id_is_valid(*(char **) dest)) {
                parse_error(ctx, node,
                            "id '%s' may only hold lowercase letters, digits and '-' (at most 64, not "
                            "starting with '-')",
                            node->value);
                return -EINVAL;
        }
        if (id_kept(ctx, *(char **) dest)) {
                parse_error(ctx, node,
                            "id 'manual' is kept for manual mode (its sessions read Program 'manual'): "
                            "choose another id");
                return -EINVAL;
        }
        return 0;
}

static int parse_program_duration(struct parse_ctx *ctx, const struct ynode *node, const struct field *f,
                                  void *dest)
{
        const struct chair_config *c = pctx(ctx)->config;
        struct program *p = pctx(ctx)->program;
        usec_t cap = c ? c->safety.session_cap_usec : SAFETY_SESSION_CAP_DEFAULT_USEC;
        char a[DURATION_MAX_STR];
        int r;

        p->duration_given = true;
        p->duration_mark = ynode_mark(node);
        r = field_duration(ctx, node, f, dest);
        if (r < 0)
                return r;
        if (*(usec_t *) dest > cap) {
                parse_error(ctx, node, "duration %s is longer than %s session cap of %s", node->value,
                            c ? "this chair's" : "the default", format_duration(a, sizeof(a), cap));
                return -EINVAL;
        }
        return 0;
}

static int parse_local_patterns(struct parse_ctx *ctx, const struct ynode *node, const struct field *f,
                                void *dest)
{
        struct program *p = pctx(ctx)->program;
        return patterns_parse(ctx, node, &p->patterns, &p->n_patterns);
}

const struct field program_fields[] = {
        {"id", parse_id, offsetof(struct program, id),
         .schema = "{\"type\":\"string\",\"pattern\":\"^[a-z0-9][a-z0-9-]{0,63}$\",\"not\":{\"const\":"
                   "\"manual\"}}"},
        {"name", field_string, offsetof(struct program, name), FIELD_REQUIRED},
        {"description", field_string, offsetof(struct program, description)},
        {"duration", parse_program_duration, offsetof(struct program, duration_usec), 0,
         (long long) PROGRAM_DURATION_MIN_USEC,
         .schema = "{\"type\":\"string\",\"minLength\":2,\"pattern\":\"" SCHEMA_DURATION_RE "\"}"},
        {"at-end", field_enum, offsetof(struct program, at_end), 0, 0, 0, at_end_names},
        {"patterns", parse_local_patterns, 0, .shape = SHAPE_MAP, .sub = pattern_fields},
        {"phases", parse_phases, 0, FIELD_REQUIRED, 0, PROGRAM_MAX_PHASES, .shape = SHAPE_LIST,
         .sub = phase_fields},
        {},
};

struct program *program_free(struct program *p)
{
        if (!p)
                return NULL;
        free(p->id);
        free(p->name);
        free(p->description);
        free(p->file);
        for (size_t i = 0; i < p->n_patterns; i++)
                pattern_done(&p->patterns[i]);
        free(p->patterns);
        for (size_t i = 0; i < p->n_phases; i++)
                phase_done(&p->phases[i]);
        free(p->phases);
        free(p);
        return NULL;
}

/* ---- checks across the whole program ---- */

static void error_in(struct parse_ctx *ctx, const char *file, struct mark m, enum severity sev,
                     const char *fmt, ...) _printf_(5, 6);
static void error_in(struct parse_ctx *ctx, const char *file, struct mark m, enum severity sev,
                     const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0) {
                ctx->diags->oom = true;
                return;
        }
        diag_add(ctx->diags, sev, file, m.line, m.column, "%s", msg);
}

/* Lays the phases out in time: written durations, the rest shared by the phases without one. */
static void check_timing(struct parse_ctx *ctx)
{
        struct program *p = pctx(ctx)->program;
        char a[DURATION_MAX_STR], b[DURATION_MAX_STR], c[DURATION_MAX_STR];
        usec_t sum = 0, rest, share, t = 0;
        size_t n_flex = 0, last_flex = 0;

        for (size_t i = 0; i < p->n_phases; i++) {
                struct phase *ph = &p->phases[i];
                if (ph->duration_usec == 0) {
                        n_flex++;
                        last_flex = i;
                        continue;
                }
                sum += ph->duration_usec;
                if (sum > p->duration_usec) {
                        parse_error_at(
                                ctx, ph->duration_mark,
                                "phases add up to %s by the end of phase '%s', more than the program's %s",
                                format_duration(a, sizeof(a), sum), ph->name ?: "?",
                                format_duration(b, sizeof(b), p->duration_usec));
                        return;
                }
        }
        if (n_flex == 0 && sum < p->duration_usec) {
                parse_error_at(ctx, p->duration_given ? p->duration_mark : p->phases_mark,
                               "phases add up to %s but the program lasts %s: make them add up, or leave "
                               "out one phase's duration so that it takes the rest",
                               format_duration(a, sizeof(a), sum),
                               format_duration(b, sizeof(b), p->duration_usec));
                return;
        }
        rest = p->duration_usec - sum;
        share = n_flex ? rest / n_flex : 0;
        if (n_flex && share < PHASE_DURATION_MIN_USEC) {
                for (size_t i = 0; i < p->n_phases; i++)
                        if (p->phases[i].duration_usec == 0) {
                                parse_error_at(ctx, p->phases[i].mark,
                                               "phase '%s' would last only %s (the other phases leave %s of "
                                               "the program's %s); a phase lasts at least %s",
                                               p->phases[i].name ?: "?",
                                               format_duration(a, sizeof(a), share),
                                               format_duration(b, sizeof(b), rest),
                                               format_duration(c, sizeof(c), p->duration_usec),
                                               format_duration((char[DURATION_MAX_STR]){}, DURATION_MAX_STR,
                                                               PHASE_DURATION_MIN_USEC));
                                return;
                        }
        }
        for (size_t i = 0; i < p->n_phases; i++) {
                struct phase *ph = &p->phases[i];
                ph->start_usec = t;
                if (ph->duration_usec)
                        ph->length_usec = ph->duration_usec;
                else /* the last flexible phase takes the remainder, so the phases end exactly on time */
                        ph->length_usec = i == last_flex ? rest - share * (n_flex - 1) : share;
                t += ph->length_usec;
        }
}

/* Finds each phase's pattern: the program's own first, then the shared library (copied into the program, so
 * a program never points into a library that may be reloaded). */
static int resolve_patterns(struct parse_ctx *ctx)
{
        struct program_ctx *pc = pctx(ctx);
        struct program *p = pc->program;

        for (size_t i = 0; i < p->n_phases; i++) {
                struct roller_phase *r = &p->phases[i].roller;
                const struct pattern *lib;
                size_t k;

                if (!r->set || r->off || !r->pattern_name)
                        continue;
                for (k = 0; k < p->n_patterns; k++)
                        if (streq(p->patterns[k].name, r->pattern_name))
                                break;
                if (k < p->n_patterns) {
                        r->pattern = k;
                        continue;
                }
                lib = pattern_library_find(pc->library, r->pattern_name);
                if (lib) {
                        struct pattern *grown =
                                realloc(p->patterns, (p->n_patterns + 1) * sizeof(*p->patterns));
                        if (!grown)
                                return -ENOMEM;
                        p->patterns = grown;
                        if (pattern_copy(&p->patterns[p->n_patterns], lib) < 0)
                                return -ENOMEM;
                        r->pattern = p->n_patterns++;
                        continue;
                }
                {
                        _cleanup_free_ const char **names = NULL;
                        size_t n = 0, total = p->n_patterns + (pc->library ? pc->library->n : 0);
                        const char *guess;

                        names = calloc(total + 1, sizeof(*names));
                        if (!names)
                                return -ENOMEM;
                        for (k = 0; k < p->n_patterns; k++)
                                names[n++] = p->patterns[k].name;
                        for (k = 0; pc->library && k < pc->library->n; k++)
                                names[n++] = pc->library->patterns[k].name;
                        guess = closest_name(r->pattern_name, names);
                        if (guess)
                                parse_error_at(ctx, r->pattern_mark,
                                               "unknown pattern '%s'; did you mean '%s'?", r->pattern_name,
                                               guess);
                        else if (pc->library && pc->library->dirs) {
                                char dirs[1024];
                                parse_error_at(
                                        ctx, r->pattern_mark,
                                        "unknown pattern '%s': it is not under this program's patterns:, "
                                        "nor in a pattern folder searched (%s)",
                                        r->pattern_name,
                                        strv_join(dirs, sizeof(dirs),
                                                  (const char *const *) pc->library->dirs, ", "));
                        } else
                                parse_error_at(ctx, r->pattern_mark,
                                               "unknown pattern '%s': it is not under this program's "
                                               "patterns:, and no pattern folder was searched",
                                               r->pattern_name);
                }
        }
        return 0;
}

static const struct roller_geometry *geometry(struct parse_ctx *ctx)
{
        const struct chair_config *c = pctx(ctx)->config;
        return c && c->has_roller ? &c->roller.geometry : &roller_geometry_default;
}

/* A landmark must be on this chair's track for the usual shoulder position (an S-track ends at the low
 * back). */
static void check_position(struct parse_ctx *ctx, const char *file, const struct position *pos)
{
        const struct roller_geometry *g = geometry(ctx);
        double mm;

        if (pos->kind != POSITION_LANDMARK)
                return;
        mm = position_mm(pos, g, g->shoulder_mm);
        if (mm > g->track_mm || mm < 0.0)
                error_in(ctx, file, pos->mark, SEVERITY_ERROR,
                         "landmark '%s' is %s this chair's roller track (%.0fmm from its top for usual "
                         "shoulders; the track is %.0fmm)",
                         landmark_to_string(pos->landmark),
                         mm < 0.0 ? "above the top of" : "beyond the end of", mm, g->track_mm);
}

static void check_roller(struct parse_ctx *ctx)
{
        struct program *p = pctx(ctx)->program;
        char a[DURATION_MAX_STR], b[DURATION_MAX_STR];
        bool lacks = pctx(ctx)->config && !pctx(ctx)->config->has_roller;

        for (size_t i = 0; i < p->n_phases && !lacks; i++) {
                const struct phase *ph = &p->phases[i];
                const struct roller_phase *r = &ph->roller;
                const struct pattern *pat;

                if (!r->set || r->off)
                        continue;
                check_position(ctx, ctx->file, &r->from);
                if (!r->spot)
                        check_position(ctx, ctx->file, &r->to);
                if (r->pattern == SIZE_MAX)
                        continue;
                pat = &p->patterns[r->pattern];
                if (ph->length_usec && pat->cycle_usec > ph->length_usec)
                        parse_warning_at(ctx, r->pattern_mark,
                                         "pattern '%s' takes %s, longer than phase '%s' (%s): only its "
                                         "first part runs",
                                         pat->name, format_duration(a, sizeof(a), pat->cycle_usec), ph->name,
                                         format_duration(b, sizeof(b), ph->length_usec));
        }
        /* Each used pattern's steps against the chair, reported where the step is written. */
        for (size_t k = 0; k < p->n_patterns && !lacks; k++) {
                const struct pattern *pat = &p->patterns[k];
                bool used = false;

                for (size_t i = 0; i < p->n_phases; i++)
                        used |= p->phases[i].roller.set && p->phases[i].roller.pattern == k;
                if (!used)
                        continue;
                for (size_t s = 0; s < pat->n_steps; s++) {
                        const struct pattern_step *st = &pat->steps[s];
                        if (st->to.absolute)
                                check_position(ctx, pat->file, &st->to.position);
                        roller_can(ctx, pat->file, st->technique_mark, st->technique, st->depth_mark,
                                   st->depth);
                }
        }
}

/* A sweep with time for one stroke or less goes across its area once and never back. */
static void check_sweeps(struct parse_ctx *ctx)
{
        struct program *p = pctx(ctx)->program;
        char a[DURATION_MAX_STR], b[DURATION_MAX_STR];

        for (size_t i = 0; i < p->n_phases; i++) {
                const struct phase *ph = &p->phases[i];
                const struct roller_phase *r = &ph->roller;

                if (!r->set || r->off || r->spot || r->pattern != SIZE_MAX || !ph->length_usec ||
                    ph->length_usec > r->stroke_usec)
                        continue;
                parse_warning_at(
                        ctx, r->mark,
                        "phase '%s' lasts %s, no longer than one stroke (%s): the roller goes across "
                        "the area once and does not sweep back; make the stroke shorter or the phase "
                        "longer",
                        ph->name, format_duration(a, sizeof(a), ph->length_usec),
                        format_duration(b, sizeof(b), r->stroke_usec));
        }
}

/* A recline that turns to a new preset before the axes can have reached the one before. Only against a
 * chair: the presets and the axes are its. */
static void check_recline_pace(struct parse_ctx *ctx)
{
        const struct chair_config *c = pctx(ctx)->config;
        struct program *p = pctx(ctx)->program;
        const struct preset_config *at = c ? chair_config_find_preset(c, PRESET_UPRIGHT) : NULL, *going = at;
        usec_t since = 0, needs = 0;
        enum axis slowest = AXIS_BACKREST;
        char a[DURATION_MAX_STR], b[DURATION_MAX_STR];

        if (!at)
                return;
        for (size_t i = 0; i < p->n_phases; i++) {
                const struct phase *ph = &p->phases[i];
                const struct preset_config *to =
                        ph->recline ? chair_config_find_preset(c, ph->recline) : NULL;
                enum axis slow = AXIS_BACKREST;

                if (!to || to == going)
                        continue;
                if (ph->start_usec - since < needs)
                        parse_warning_at(
                                ctx, ph->recline_mark,
                                "recline '%s' comes %s after '%s', which the axes need about %s to "
                                "reach (the %s is the slowest): the chair turns before it gets there",
                                to->name, format_duration(a, sizeof(a), ph->start_usec - since), going->name,
                                format_duration(b, sizeof(b), needs), axis_names[slowest]);
                /* From where the chair is, roughly: the last preset (it may not have got there); to the
                 * second, as a person would say it. */
                at = going;
                needs = (chair_config_recline_usec(c, at, to, &slow) + USEC_PER_SEC / 2) / USEC_PER_SEC *
                        USEC_PER_SEC;
                slowest = slow;
                going = to;
                since = ph->start_usec;
        }
}

static void check_airbag_cycles(struct parse_ctx *ctx)
{
        struct program *p = pctx(ctx)->program;
        char a[DURATION_MAX_STR], b[DURATION_MAX_STR];

        for (size_t i = 0; i < p->n_phases; i++) {
                const struct phase *ph = &p->phases[i];
                const struct airbag_phase *ab = &ph->airbags;
                usec_t cycle;

                if (!ab->set || ab->off || !ph->length_usec)
                        continue;
                cycle = ab->inflate_usec + ab->hold_usec + ab->vent_usec;
                if (ab->pattern == AIRBAG_PATTERN_WAVE)
                        cycle += ab->inflate_usec * (strv_length(ab->zones) - 1);
                if (ab->pattern != AIRBAG_PATTERN_HOLD && cycle > ph->length_usec)
                        parse_warning_at(
                                ctx, ab->mark,
                                "one airbag cycle takes %s, longer than phase '%s' (%s): it is cut short",
                                format_duration(a, sizeof(a), cycle), ph->name,
                                format_duration(b, sizeof(b), ph->length_usec));
        }
}

/* The deepest depth a phase's roller reaches, and where that is written. */
static unsigned phase_max_depth(const struct program *p, const struct phase *ph, const char **ret_file,
                                struct mark *ret_mark)
{
        const struct roller_phase *r = &ph->roller;
        unsigned depth = r->depth;

        *ret_file = p->file;
        *ret_mark = r->depth_mark;
        if (r->pattern != SIZE_MAX)
                for (size_t s = 0; s < p->patterns[r->pattern].n_steps; s++) {
                        const struct pattern_step *st = &p->patterns[r->pattern].steps[s];
                        if (st->depth > depth) {
                                depth = st->depth;
                                *ret_file = p->patterns[r->pattern].file;
                                *ret_mark = st->depth_mark;
                        }
                }
        return depth;
}

/* Massage practice: warm the tissue (heat, gentle long strokes) before deep work. */
static void check_warm_up(struct parse_ctx *ctx)
{
        struct program *p = pctx(ctx)->program;
        char a[DURATION_MAX_STR];
        usec_t warm = 0;
        bool heat_on = false;

        for (size_t i = 0; i < p->n_phases; i++) {
                const struct phase *ph = &p->phases[i];
                const struct roller_phase *r = &ph->roller;
                bool rolling = r->set && !r->off;
                const char *file;
                struct mark m;
                unsigned depth = rolling ? phase_max_depth(p, ph, &file, &m) : 0;

                if (depth >= DEEP_WORK_DEPTH && warm < WARM_UP_MIN_USEC) {
                        error_in(ctx, file, m, SEVERITY_WARNING,
                                 "deep work (depth %u) before any warm-up: begin with at least %s of heat "
                                 "or gentle swedish or rolling strokes (depth 1-%d)",
                                 depth, format_duration(a, sizeof(a), WARM_UP_MIN_USEC), WARM_UP_MAX_DEPTH);
                        return;
                }
                if (ph->heat_set) {
                        heat_on = false;
                        for (size_t k = 0; k < ph->n_heat; k++)
                                heat_on |= ph->heat[k].level > 0;
                }
                if (heat_on || (rolling &&
                                (r->technique &
                                 (TECHNIQUE_BIT(TECHNIQUE_SWEDISH) | TECHNIQUE_BIT(TECHNIQUE_ROLLING))) &&
                                depth <= WARM_UP_MAX_DEPTH))
                        warm += ph->length_usec;
        }
}

/* The id a file gives a program that does not name one: its base name without ".yaml". */
static char *id_from_file(const char *file)
{
        _cleanup_free_ char *copy = strdup(file);
        char *base, *dot;

        if (!copy)
                return NULL;
        base = basename(copy);
        dot = strrchr(base, '.');
        if (dot && (streq(dot, ".yaml") || streq(dot, ".yml")))
                *dot = '\0';
        return strdup(base);
}

static int program_from_tree(const char *file, const struct ynode *root, const struct chair_config *config,
                             const struct pattern_library *library, struct diag_list *diags,
                             struct program **ret)
{
        _cleanup_(program_freep) struct program *p = NULL;
        struct program_ctx pc = {.config = config, .library = library};
        struct parse_ctx ctx = {.file = file, .diags = diags, .userdata = &pc};
        size_t errors = diags->n_errors;
        int r;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->duration_usec = PROGRAM_DURATION_DEFAULT_USEC;
        p->file = strdup(file);
        if (!p->file)
                return -ENOMEM;
        pc.program = p;

        r = parse_mapping(&ctx, root, "a program", program_fields, p, NULL);
        if (r < 0 && r != -EINVAL)
                return r;

        if (!p->id) {
                p->id_from_file = true;
                p->id = id_from_file(file);
                if (!p->id)
                        return -ENOMEM;
                if (!program_id_is_valid(p->id))
                        parse_error_at(&ctx, (struct mark){1, 1},
                                       "the file name gives the id '%s', which is not a valid id: set id: "
                                       "(lowercase letters, digits and '-')",
                                       p->id);
                else if (id_kept(&ctx, p->id))
                        parse_error_at(&ctx, (struct mark){1, 1},
                                       "the file name gives the id 'manual', which is kept for manual mode: "
                                       "set id: or rename the file");
        }
        if (!p->description) {
                p->description = strdup("");
                if (!p->description)
                        return -ENOMEM;
        }
        if (!p->duration_given && config && config->safety.session_cap_usec < p->duration_usec)
                parse_error_at(&ctx, (struct mark){1, 1},
                               "the default duration of 15m is longer than this chair's session cap: set "
                               "duration:");

        /* Cross-checks need the phases; with broken phases they would only add noise. */
        if (p->n_phases > 0 && diags->n_errors == errors) {
                check_timing(&ctx);
                r = resolve_patterns(&ctx);
                if (r < 0)
                        return r;
                check_roller(&ctx);
                check_sweeps(&ctx);
                check_recline_pace(&ctx);
                check_airbag_cycles(&ctx);
                if (diags->n_errors == errors)
                        check_warm_up(&ctx);
        }

        if (diags->oom)
                return -ENOMEM;
        if (diags->n_errors > errors)
                return -EINVAL;
        *ret = TAKE_PTR(p);
        return 0;
}

int program_load(const char *file, const void *data, size_t size, const struct chair_config *config,
                 const struct pattern_library *library, struct diag_list *diags, struct program **ret)
{
        _cleanup_(ydoc_freep) struct ydoc *doc = NULL;
        int r = ydoc_load(file, data, size, NULL, diags, &doc);
        if (r < 0)
                return r;
        return program_from_tree(file, ydoc_root(doc), config, library, diags, ret);
}

int program_load_file(const char *path, const struct chair_config *config,
                      const struct pattern_library *library, struct diag_list *diags, struct program **ret)
{
        _cleanup_(ydoc_freep) struct ydoc *doc = NULL;
        int r = ydoc_load_file(path, NULL, diags, &doc);
        if (r < 0)
                return r;
        return program_from_tree(path, ydoc_root(doc), config, library, diags, ret);
}
