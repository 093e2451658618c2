/* manual.c: manual mode's choices as a program of one phase. The choices are written out as the YAML of a
 * program and go through the program validator, so that a manual session is checked exactly as a program
 * file is; each line of that text remembers the key it came from, so that a message names the key. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "busdict.h"
#include "manual.h"

/* A string option longer than this is no name of anything. */
#define MANUAL_STRING_MAX 128
/* Airbag zones or heat zones in one session, at most. */
#define MANUAL_LIST_MAX 16
/* Lines of the program text, at most: the fixed ones, one per key, one per zone. */
#define MANUAL_LINES_MAX 64

enum key {
        KEY_TECHNIQUE,
        KEY_PATTERN,
        KEY_AREA,
        KEY_FROM,
        KEY_TO,
        KEY_SPEED,
        KEY_WIDTH,
        KEY_DEPTH,
        KEY_ZONES,
        KEY_AIRBAG_PATTERN,
        KEY_AIRBAG_INTENSITY,
        KEY_HEAT,
        KEY_FOOT,
        KEY_RECLINE,
        KEY_DURATION,
        _KEY_MAX,
};

enum section {
        SECTION_TOP,
        SECTION_ROLLER,
        SECTION_AIRBAGS,
};

/* The one table of manual mode's keys: StartManual's (in its sections), and those of them Adjust changes in
 * whatever runs, under Adjust's name for them (flat: "speed" for roller.speed). */
static const struct {
        enum section section;
        const char *name;
        const char *types;  /* the D-Bus types it takes, '|' between them */
        int64_t min, max;   /* a u's range; equal: none here (the validator's, or the chair's) */
        const char *adjust; /* Adjust's name for it; NULL: only a manual session takes it */
} keys[_KEY_MAX] = {
        [KEY_TECHNIQUE] = {SECTION_ROLLER, "technique", "s"},
        [KEY_PATTERN] = {SECTION_ROLLER, "pattern", "s"},
        [KEY_AREA] = {SECTION_ROLLER, "area", "s|d", .adjust = "area"},
        [KEY_FROM] = {SECTION_ROLLER, "from", "s|d", .adjust = "from"},
        [KEY_TO] = {SECTION_ROLLER, "to", "s|d", .adjust = "to"},
        [KEY_SPEED] = {SECTION_ROLLER, "speed", "u", 1, ROLLER_SPEED_MAX, "speed"},
        [KEY_WIDTH] = {SECTION_ROLLER, "width", "s", .adjust = "width"},
        [KEY_DEPTH] = {SECTION_ROLLER, "depth", "u", 1, ROLLER_DEPTH_MAX, "depth"},
        [KEY_ZONES] = {SECTION_AIRBAGS, "zones", "as"},
        [KEY_AIRBAG_PATTERN] = {SECTION_AIRBAGS, "pattern", "s"},
        [KEY_AIRBAG_INTENSITY] = {SECTION_AIRBAGS, "intensity", "u", 1, AIRBAG_INTENSITY_LEVELS,
                                  "airbag-intensity"},
        [KEY_HEAT] = {SECTION_TOP, "heat", "a{su}"},
        /* 0 is off here (a program writes "off"): the range says so, not the program format's 1-6. */
        [KEY_FOOT] = {SECTION_TOP, "foot-rollers", "u", 0, FOOT_SPEED_MAX, "foot-rollers"},
        [KEY_RECLINE] = {SECTION_TOP, "recline", "s"},
        [KEY_DURATION] = {SECTION_TOP, "duration", "t"},
};

/* Adjust's key of its own, beside the table's. */
#define ADJUST_RESET "reset"

static const char *const section_names[] = {"", "roller", "airbags"};

struct heat_choice {
        char *zone;
        unsigned level;
};

struct manual {
        char *scalar[_KEY_MAX]; /* the YAML text of a scalar value; NULL: not given */
        char **zones;           /* KEY_ZONES */
        struct heat_choice heat[MANUAL_LIST_MAX];
        size_t n_heat;
        bool heat_given;
        usec_t duration_usec;
};

static void heat_clear(struct manual *m)
{
        for (size_t i = 0; i < m->n_heat; i++)
                free(m->heat[i].zone);
        m->n_heat = 0;
        m->heat_given = false;
}

int manual_new(struct manual **ret)
{
        struct manual *m = calloc(1, sizeof(*m));

        if (!m)
                return -ENOMEM;
        *ret = m;
        return 0;
}

struct manual *manual_free(struct manual *m)
{
        if (!m)
                return NULL;
        for (size_t k = 0; k < _KEY_MAX; k++)
                free(m->scalar[k]);
        strv_free(m->zones);
        heat_clear(m);
        free(m);
        return NULL;
}

int manual_copy(const struct manual *m, struct manual **ret)
{
        _cleanup_(manual_freep) struct manual *c = NULL;
        int r = manual_new(&c);

        if (r < 0)
                return r;
        for (size_t k = 0; k < _KEY_MAX; k++)
                if (m->scalar[k] && !(c->scalar[k] = strdup(m->scalar[k])))
                        return -ENOMEM;
        for (char **z = m->zones; z && *z; z++)
                if (strv_extend(&c->zones, *z) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < m->n_heat; i++) {
                if (!(c->heat[i].zone = strdup(m->heat[i].zone)))
                        return -ENOMEM;
                c->heat[i].level = m->heat[i].level;
                c->n_heat++;
        }
        c->heat_given = m->heat_given;
        c->duration_usec = m->duration_usec;
        *ret = TAKE_PTR(c);
        return 0;
}

/* The key's name as messages give it: "roller.speed", "heat". */
static const char *key_path(enum key k, char *buf, size_t size)
{
        if (keys[k].section == SECTION_TOP)
                return keys[k].name;
        snprintf(buf, size, "%s.%s", section_names[keys[k].section], keys[k].name);
        return buf;
}

static _printf_(3, 4) int fail(char *why, size_t size, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(why, size, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* A string as a YAML double-quoted scalar: always text, never a number or a null. */
static int quote(const char *s, char **ret)
{
        char *buf = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&buf, &n);

        if (!f)
                return -ENOMEM;
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p == '"' || *p == '\\')
                        fprintf(f, "\\%c", *p);
                else if (*p < 0x20 || *p == 0x7f)
                        fprintf(f, "\\x%02x", *p);
                else
                        fputc(*p, f);
        fputc('"', f);
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

static int check_string(const char *s, const char *path, char *why, size_t size)
{
        if (strlen(s) > MANUAL_STRING_MAX)
                return fail(why, size, "%s: %.32s... is longer than %d characters", path, s,
                            MANUAL_STRING_MAX);
        return 0;
}

/* One value of a key, whose type was checked against the key's. */
static int read_value(struct manual *m, enum key k, sd_bus_message *msg, const char *type, char *why,
                      size_t size)
{
        char buf[64], *text = NULL;
        const char *path = key_path(k, buf, sizeof(buf)); /* a top key's name is not copied into buf */
        const char *s;
        uint32_t u;
        double d;
        int r;

        if (streq(type, "s")) {
                r = sd_bus_message_read(msg, "v", "s", &s);
                if (r < 0)
                        return r;
                r = check_string(s, path, why, size);
                if (r < 0)
                        return r;
                /* A position may come as a string: "0.4" is a fraction of the track, as in a file. */
                char *end = NULL;
                if ((k == KEY_AREA || k == KEY_FROM || k == KEY_TO) && *s && (strtod(s, &end), *end == 0))
                        r = (text = strdup(s)) ? 0 : -ENOMEM;
                else
                        r = quote(s, &text);
        } else if (streq(type, "d")) {
                r = sd_bus_message_read(msg, "v", "d", &d);
                if (r < 0)
                        return r;
                if (!isfinite(d))
                        return fail(why, size, "%s: %g is not a number", path, d);
                r = asprintf(&text, "%.17g", d) < 0 ? -ENOMEM : 0;
        } else if (streq(type, "u")) {
                r = sd_bus_message_read(msg, "v", "u", &u);
                if (r < 0)
                        return r;
                if (keys[k].min != keys[k].max && (u < keys[k].min || u > keys[k].max))
                        return fail(why, size,
                                    "%s: %" PRIu32 " is out of range (%" PRId64 " to %" PRId64 ")", path, u,
                                    keys[k].min, keys[k].max);
                r = asprintf(&text, "%" PRIu32, u) < 0 ? -ENOMEM : 0;
        } else if (streq(type, "t")) {
                uint64_t t;
                r = sd_bus_message_read(msg, "v", "t", &t);
                if (r < 0)
                        return r;
                m->duration_usec = t;
                return 0;
        } else if (streq(type, "as")) {
                _cleanup_(strv_freep) char **l = NULL;
                r = sd_bus_message_enter_container(msg, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_read_strv(msg, &l);
                if (r >= 0)
                        r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
                if (strv_length(l) > MANUAL_LIST_MAX)
                        return fail(why, size, "%s: %zu zones; at most %d", path, strv_length(l),
                                    MANUAL_LIST_MAX);
                for (char **z = l; z && *z; z++)
                        if ((r = check_string(*z, path, why, size)) < 0)
                                return r;
                strv_free(m->zones);
                m->zones = TAKE_PTR(l);
                return 0;
        } else { /* a{su} */
                const char *zone;
                heat_clear(m);
                m->heat_given = true;
                r = sd_bus_message_enter_container(msg, 'v', "a{su}");
                if (r >= 0)
                        r = sd_bus_message_enter_container(msg, 'a', "{su}");
                while (r >= 0 && (r = sd_bus_message_read(msg, "{su}", &zone, &u)) > 0) {
                        if (m->n_heat == MANUAL_LIST_MAX)
                                return fail(why, size, "heat: more than %d zones", MANUAL_LIST_MAX);
                        if ((r = check_string(zone, path, why, size)) < 0)
                                return r;
                        for (size_t i = 0; i < m->n_heat; i++)
                                if (streq(m->heat[i].zone, zone))
                                        return fail(why, size, "heat: zone %s is given twice", zone);
                        if (!(m->heat[m->n_heat].zone = strdup(zone)))
                                return -ENOMEM;
                        m->heat[m->n_heat++].level = u;
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(msg);
                if (r >= 0)
                        r = sd_bus_message_exit_container(msg);
                return r < 0 ? r : 0;
        }
        if (r < 0)
                return r;
        free(m->scalar[k]);
        m->scalar[k] = text;
        /* An area replaces a from..to and the other way round: the last one said is meant. */
        if (k == KEY_AREA) {
                m->scalar[KEY_FROM] = mfree(m->scalar[KEY_FROM]);
                m->scalar[KEY_TO] = mfree(m->scalar[KEY_TO]);
        } else if (k == KEY_FROM || k == KEY_TO)
                m->scalar[KEY_AREA] = mfree(m->scalar[KEY_AREA]);
        return 0;
}

static int find_key(enum section section, const char *name)
{
        for (size_t k = 0; k < _KEY_MAX; k++)
                if (keys[k].section == section && streq(keys[k].name, name))
                        return (int) k;
        return -1;
}

/* What the read callbacks of a section's table read into. */
struct reading {
        struct manual *m;
        enum section section;
        const struct chair_config *config;
        bool adjust; /* within Adjust: its own keys are skipped */
};

static int read_section(sd_bus_message *msg, const struct bus_option *o, void *dest, void *userdata,
                        char *why, size_t size);

static int read_key(sd_bus_message *msg, const struct bus_option *o, void *dest, void *userdata, char *why,
                    size_t size)
{
        const struct reading *rd = dest;
        const char *contents;
        int r = sd_bus_message_peek_type(msg, NULL, &contents);

        if (r < 0)
                return r;
        return read_value(rd->m, (enum key) find_key(rd->section, o->key), msg, contents, why, size);
}

/* The table of a section (top: with roller and airbags, and within Adjust its own keys skipped); n rows. */
static size_t section_options(const struct reading *rd, struct bus_option *ret)
{
        size_t n = 0;

        for (size_t k = 0; k < _KEY_MAX; k++)
                if (keys[k].section == rd->section)
                        ret[n++] = (struct bus_option){keys[k].name, keys[k].types, .read = read_key};
        if (rd->section != SECTION_TOP)
                return n;
        for (enum section s = SECTION_ROLLER; s <= SECTION_AIRBAGS; s++)
                ret[n++] = (struct bus_option){section_names[s], "a{sv}", .read = read_section};
        for (size_t k = 0; rd->adjust && k < _KEY_MAX; k++)
                if (keys[k].adjust)
                        ret[n++] = (struct bus_option){keys[k].adjust};
        if (rd->adjust)
                ret[n++] = (struct bus_option){ADJUST_RESET};
        return n;
}

static int read_dict(const struct reading *rd, sd_bus_message *msg, const char *within, char *why,
                     size_t size)
{
        struct bus_option options[_KEY_MAX * 2 + 3];
        size_t n = section_options(rd, options);

        return bus_dict_read(msg, options, n, (void *) rd, NULL, within, NULL, why, size);
}

static int read_section(sd_bus_message *msg, const struct bus_option *o, void *dest, void *userdata,
                        char *why, size_t size)
{
        struct reading sub = *(const struct reading *) dest;
        int r;

        sub.section = streq(o->key, section_names[SECTION_ROLLER]) ? SECTION_ROLLER : SECTION_AIRBAGS;
        r = sd_bus_message_enter_container(msg, 'v', "a{sv}");
        if (r >= 0)
                r = read_dict(&sub, msg, o->key, why, size);
        if (r >= 0)
                r = sd_bus_message_exit_container(msg);
        return r;
}

int manual_read(struct manual *m, sd_bus_message *msg, bool adjust, char *why, size_t size)
{
        const struct reading rd = {m, SECTION_TOP, NULL, adjust};
        int r = read_dict(&rd, msg, NULL, why, size);

        return r < 0 ? r : 0;
}

/* What Adjust reads into. */
struct adjusting {
        struct engine_adjust ch;
        bool reset;
        char area[64], from[64], to[64]; /* a position's text: a name or a fraction */
};

static int read_width(sd_bus_message *msg, const struct bus_option *o, void *dest, void *userdata, char *why,
                      size_t size)
{
        struct adjusting *ad = dest;
        char known[64];
        const char *w;
        int r = sd_bus_message_read(msg, "v", "s", &w);

        if (r >= 0 && (ad->ch.width = width_from_string(w)) < 0)
                return fail(why, size, "width: no width '%.32s' (%s)", w,
                            strv_join(known, sizeof(known), width_names, ", "));
        return r;
}

/* A position key (area, from, to): a string, or a fraction as a d; kept as text. */
static int read_position(sd_bus_message *msg, const struct bus_option *o, void *dest, void *userdata,
                         char *why, size_t size)
{
        char *buf = (char *) dest + o->offset;
        const char *contents, *s;
        double v;
        int r = sd_bus_message_peek_type(msg, NULL, &contents);

        if (r >= 0 && streq(contents, "d")) {
                r = sd_bus_message_read(msg, "v", "d", &v);
                if (r >= 0)
                        snprintf(buf, sizeof(((struct adjusting *) NULL)->area), "%.17g", v);
                return r;
        }
        if (r >= 0)
                r = sd_bus_message_read(msg, "v", "s", &s);
        if (r >= 0 && strlen(s) >= sizeof(((struct adjusting *) NULL)->area))
                return fail(why, size, "%s: '%.32s...' is no position", o->key, s);
        if (r >= 0)
                snprintf(buf, sizeof(((struct adjusting *) NULL)->area), "%s", s);
        return r;
}

/* Adjust's table: the rows of the one table that Adjust takes, under its names, with the chair's own
 * ranges and what it lacks; then reset, and the keys only a manual session takes (skipped). */
static size_t adjust_options(const struct chair_config *c, struct bus_option *ret)
{
        const char *no_roller = c->has_roller ? NULL : "this chair has no massage roller";
        size_t n = 0;

        for (size_t k = 0; k < _KEY_MAX; k++) {
                struct bus_option *o = &ret[n];
                if (!keys[k].adjust) {
                        if (keys[k].section == SECTION_TOP)
                                ret[n++] = (struct bus_option){keys[k].name};
                        continue;
                }
                *o = (struct bus_option){keys[k].adjust, keys[k].types, .min = keys[k].min,
                                         .max = keys[k].max};
                o->unsupported = keys[k].section == SECTION_ROLLER ? no_roller : NULL;
                n++;
                switch (k) {
                case KEY_SPEED:
                        o->offset = offsetof(struct adjusting, ch.speed);
                        break;
                case KEY_DEPTH:
                        o->offset = offsetof(struct adjusting, ch.depth);
                        o->max = c->roller.depth_levels;
                        if (!o->unsupported && c->roller.depth_levels <= 1)
                                o->unsupported = "this chair has no depth (3D) control";
                        break;
                case KEY_WIDTH:
                        o->read = read_width;
                        if (!o->unsupported && c->roller.width == IO_NONE)
                                o->unsupported = "this chair cannot set the roller's width";
                        break;
                case KEY_AREA:
                case KEY_FROM:
                case KEY_TO:
                        o->read = read_position;
                        o->offset = k == KEY_AREA   ? offsetof(struct adjusting, area)
                                    : k == KEY_FROM ? offsetof(struct adjusting, from)
                                                    : offsetof(struct adjusting, to);
                        break;
                case KEY_AIRBAG_INTENSITY:
                        o->offset = offsetof(struct adjusting, ch.airbag_intensity);
                        o->unsupported = c->n_zones == 0 ? "this chair has no airbags" : NULL;
                        break;
                default: /* KEY_FOOT: an int, 0-6 */
                        o->offset = offsetof(struct adjusting, ch.foot);
                        o->unsupported = c->has_foot_rollers ? NULL : "this chair has no foot rollers";
                }
        }
        ret[n++] = (struct bus_option){ADJUST_RESET, "b", offsetof(struct adjusting, reset)};
        for (enum section s = SECTION_ROLLER; s <= SECTION_AIRBAGS; s++)
                ret[n++] = (struct bus_option){section_names[s]};
        return n;
}

/* The area Adjust was given: area, or from and to; or none. */
static int adjust_area(struct adjusting *ad, char *why, size_t size)
{
        if (*ad->area && (*ad->from || *ad->to))
                return fail(why, size, "Give either area or from and to, not both");
        if (!*ad->area && !*ad->from != !*ad->to)
                return fail(why, size, "%s: an area from..to needs both ends", *ad->from ? "to" : "from");
        if (!*ad->area && !*ad->from)
                return 0;
        ad->ch.area = true;
        return area_from_text(*ad->area ? ad->area : NULL, ad->from, ad->to, &ad->ch.from, &ad->ch.to, why,
                              size);
}

int manual_read_adjust(sd_bus_message *msg, const struct chair_config *c, struct engine_adjust *ret,
                       bool *ret_reset, bool *ret_manual, char *why, size_t size)
{
        struct bus_option options[_KEY_MAX + 3];
        struct adjusting ad = {.ch = ENGINE_ADJUST_NONE};
        size_t n = adjust_options(c, options);
        uint64_t given, manual = 0;
        int r;

        r = bus_dict_read(msg, options, n, &ad, NULL, NULL, &given, why, size);
        if (r < 0)
                return r;
        if (given == 0)
                return fail(why, size, "Adjust needs at least one key");
        r = adjust_area(&ad, why, size);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (!options[i].type)
                        manual |= UINT64_C(1) << i;
        *ret = ad.ch;
        *ret_reset = ad.reset;
        *ret_manual = (given & manual) != 0;
        return 0;
}

static bool section_given(const struct manual *m, enum section s)
{
        for (size_t k = 0; k < _KEY_MAX; k++)
                if (keys[k].section == s && m->scalar[k])
                        return true;
        return s == SECTION_AIRBAGS && m->zones;
}

bool manual_has_work(const struct manual *m)
{
        return section_given(m, SECTION_ROLLER) || section_given(m, SECTION_AIRBAGS) || m->n_heat > 0 ||
               (m->scalar[KEY_FOOT] && !streq(m->scalar[KEY_FOOT], "0"));
}

usec_t manual_duration(const struct manual *m)
{
        return m->duration_usec;
}

/* The program text, one line at a time, each remembering the key it says. */
struct text {
        FILE *f;
        unsigned n_lines;
        char *paths[MANUAL_LINES_MAX]; /* what line i + 1 says, NULL: nothing a person gave */
};

static _printf_(3, 4) int line(struct text *t, const char *path, const char *fmt, ...)
{
        va_list ap;

        if (t->n_lines == MANUAL_LINES_MAX)
                return -E2BIG;
        if (path && !(t->paths[t->n_lines] = strdup(path)))
                return -ENOMEM;
        t->n_lines++;
        va_start(ap, fmt);
        vfprintf(t->f, fmt, ap);
        va_end(ap);
        fputc('\n', t->f);
        return 0;
}

static int scalar_line(struct text *t, const struct manual *m, enum key k, const char *indent)
{
        char path[64];

        if (!m->scalar[k])
                return 0;
        return line(t, key_path(k, path, sizeof(path)), "%s%s: %s", indent, keys[k].name, m->scalar[k]);
}

static int write_text(struct text *t, const struct manual *m, usec_t duration_usec,
                      const struct chair_config *config)
{
        int r = 0;

        r = line(t, NULL, "id: %s", PROGRAM_MANUAL_ID);
        if (r >= 0)
                r = line(t, NULL, "name: Manual");
        if (r >= 0)
                r = line(t, "duration", "duration: %llus",
                         (unsigned long long) ((duration_usec + USEC_PER_SEC - 1) / USEC_PER_SEC));
        if (r >= 0)
                r = line(t, NULL, "phases:");
        if (r >= 0)
                r = line(t, NULL, "  - name: manual");
        if (r >= 0 && section_given(m, SECTION_ROLLER)) {
                r = line(t, "roller", "    roller:");
                for (enum key k = KEY_TECHNIQUE; r >= 0 && k <= KEY_DEPTH; k++)
                        if (k == KEY_FROM && (m->scalar[KEY_FROM] || m->scalar[KEY_TO])) {
                                /* An area from..to is a list of its two ends, one line each. */
                                r = line(t, "roller.from", "      area:");
                                if (r >= 0)
                                        r = line(t, "roller.from", "        - %s", m->scalar[KEY_FROM]);
                                if (r >= 0)
                                        r = line(t, "roller.to", "        - %s", m->scalar[KEY_TO]);
                        } else if (k != KEY_FROM && k != KEY_TO)
                                r = scalar_line(t, m, k, "      ");
        }
        if (r >= 0 && section_given(m, SECTION_AIRBAGS)) {
                r = line(t, "airbags", "    airbags:");
                if (r >= 0 && m->zones) {
                        r = line(t, "airbags.zones", "      zones:");
                        for (char **z = m->zones; r >= 0 && *z; z++) {
                                _cleanup_free_ char *q = NULL;
                                r = quote(*z, &q);
                                if (r >= 0)
                                        r = line(t, "airbags.zones", "        - %s", q);
                        }
                }
                if (r >= 0)
                        r = scalar_line(t, m, KEY_AIRBAG_PATTERN, "      ");
                if (r >= 0)
                        r = scalar_line(t, m, KEY_AIRBAG_INTENSITY, "      ");
        }
        if (r >= 0 && m->heat_given) {
                /* Heat as a whole: a zone left out is off, so that a change of it turns the others off. */
                r = line(t, "heat", "    heat:");
                for (size_t i = 0; r >= 0 && i < m->n_heat; i++) {
                        _cleanup_free_ char *q = NULL, *path = NULL;
                        r = quote(m->heat[i].zone, &q);
                        if (r >= 0 && asprintf(&path, "heat.%s", m->heat[i].zone) < 0) {
                                path = NULL;
                                r = -ENOMEM;
                        }
                        if (r >= 0)
                                r = line(t, path, "      %s: %u", q, m->heat[i].level);
                }
                for (size_t h = 0; r >= 0 && h < config->n_heaters; h++) {
                        bool given = false;
                        for (size_t i = 0; i < m->n_heat; i++)
                                given = given || streq(m->heat[i].zone, config->heaters[h].zone);
                        if (!given)
                                r = line(t, "heat", "      %s: 0", config->heaters[h].zone);
                }
        }
        if (r >= 0 && m->scalar[KEY_FOOT]) {
                if (streq(m->scalar[KEY_FOOT], "0"))
                        r = line(t, "foot-rollers", "    foot-rollers: off");
                else {
                        r = line(t, "foot-rollers", "    foot-rollers:");
                        if (r >= 0)
                                r = line(t, "foot-rollers", "      speed: %s", m->scalar[KEY_FOOT]);
                }
        }
        if (r >= 0)
                r = scalar_line(t, m, KEY_RECLINE, "    ");
        return r;
}

/* What the chair lacks of what m asks for, said as an error of its own rather than the validator's warning
 * (a program for a bigger chair skips such a track; a person at this chair asked for it). */
static int check_parts(const struct manual *m, const struct chair_config *c, char *why, size_t size)
{
        if (section_given(m, SECTION_ROLLER) && !c->has_roller)
                snprintf(why, size, "roller: this chair has no massage roller");
        else if (m->scalar[KEY_WIDTH] && c->has_roller && c->roller.width == IO_NONE)
                snprintf(why, size, "roller.width: this chair cannot set the roller's width");
        else if (m->scalar[KEY_DEPTH] && c->has_roller && c->roller.depth_levels <= 1)
                snprintf(why, size, "roller.depth: this chair has no depth (3D) control");
        else if (section_given(m, SECTION_AIRBAGS) && !c->airbag_zones)
                snprintf(why, size, "airbags: this chair has no airbags");
        else if (m->heat_given && m->n_heat > 0 && !c->heat_zones)
                snprintf(why, size, "heat: this chair has no heat");
        else if (m->scalar[KEY_FOOT] && !c->has_foot_rollers)
                snprintf(why, size, "foot-rollers: this chair has no foot rollers");
        else if (m->scalar[KEY_RECLINE] && c->n_presets == 0)
                snprintf(why, size, "recline: this chair has no recline");
        else {
                for (char **z = m->zones; z && *z; z++)
                        if (!strv_contains((const char *const *) c->airbag_zones, *z))
                                return fail(why, size, "airbags.zones: this chair has no airbag zone '%s'",
                                            *z);
                for (size_t i = 0; i < m->n_heat; i++)
                        if (!strv_contains((const char *const *) c->heat_zones, m->heat[i].zone))
                                return fail(why, size, "heat: this chair has no heat zone '%s'",
                                            m->heat[i].zone);
                return 0;
        }
        return -EOPNOTSUPP;
}

int manual_program(const struct manual *m, usec_t duration_usec, const struct chair_config *config,
                   const struct pattern_library *library, struct program **ret, char *why, size_t size)
{
        struct text t = {};
        _cleanup_free_ char *buf = NULL;
        struct diag_list diags = {};
        size_t n = 0;
        int r;

        r = check_parts(m, config, why, size);
        if (r < 0)
                return r;
        if (!m->scalar[KEY_FROM] != !m->scalar[KEY_TO])
                return fail(why, size, "roller.%s: an area from..to needs both ends",
                            m->scalar[KEY_FROM] ? "to" : "from");
        t.f = open_memstream(&buf, &n);
        if (!t.f)
                return -ENOMEM;
        r = write_text(&t, m, duration_usec, config);
        if (fclose(t.f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r == -E2BIG)
                r = fail(why, size, "too many choices for one session");
        if (r >= 0) {
                r = program_load(PROGRAM_MANUAL_FILE, buf, n, config, library, &diags, ret);
                if (r == -EINVAL) {
                        diag_sort(&diags);
                        for (size_t i = 0; i < diags.n; i++) {
                                const struct diag *d = &diags.items[i];
                                const char *path =
                                        d->line >= 1 && d->line <= t.n_lines ? t.paths[d->line - 1] : NULL;
                                if (d->severity != SEVERITY_ERROR)
                                        continue;
                                if (path)
                                        snprintf(why, size, "%s: %s", path, d->message);
                                else
                                        snprintf(why, size, "%s", d->message);
                                break;
                        }
                }
        }
        diag_list_clear(&diags);
        for (size_t i = 0; i < t.n_lines; i++)
                free(t.paths[i]);
        return r;
}
