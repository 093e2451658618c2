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

static const struct {
        enum section section;
        const char *name;
        const char *types; /* the D-Bus types it takes, '|' between them */
} keys[_KEY_MAX] = {
        [KEY_TECHNIQUE] = {SECTION_ROLLER, "technique", "s"},
        [KEY_PATTERN] = {SECTION_ROLLER, "pattern", "s"},
        [KEY_AREA] = {SECTION_ROLLER, "area", "s|d"},
        [KEY_FROM] = {SECTION_ROLLER, "from", "s|d"},
        [KEY_TO] = {SECTION_ROLLER, "to", "s|d"},
        [KEY_SPEED] = {SECTION_ROLLER, "speed", "u"},
        [KEY_WIDTH] = {SECTION_ROLLER, "width", "s"},
        [KEY_DEPTH] = {SECTION_ROLLER, "depth", "u"},
        [KEY_ZONES] = {SECTION_AIRBAGS, "zones", "as"},
        [KEY_AIRBAG_PATTERN] = {SECTION_AIRBAGS, "pattern", "s"},
        [KEY_AIRBAG_INTENSITY] = {SECTION_AIRBAGS, "intensity", "u"},
        [KEY_HEAT] = {SECTION_TOP, "heat", "a{su}"},
        [KEY_FOOT] = {SECTION_TOP, "foot-rollers", "u"},
        [KEY_RECLINE] = {SECTION_TOP, "recline", "s"},
        [KEY_DURATION] = {SECTION_TOP, "duration", "t"},
};

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
        char path[64], *text = NULL;
        const char *s;
        uint32_t u;
        double d;
        int r;

        key_path(k, path, sizeof(path));
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
                /* 0 is off here (a program writes "off"): the range says so, not the program format's 1-6.
                 */
                if (k == KEY_FOOT && u > FOOT_SPEED_MAX)
                        return fail(why, size, "%s: %" PRIu32 " is out of range (0 to %d; 0 is off)", path,
                                    u, FOOT_SPEED_MAX);
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

static const char *known_keys(enum section section, char *buf, size_t size)
{
        size_t n = 0;

        buf[0] = 0;
        for (size_t k = 0; k < _KEY_MAX; k++)
                if (keys[k].section == section)
                        n += (size_t) snprintf(buf + n, n < size ? size - n : 0, "%s%s", n ? ", " : "",
                                               keys[k].name);
        if (section == SECTION_TOP)
                snprintf(buf + n, n < size ? size - n : 0, ", roller, airbags");
        return buf;
}

static bool type_fits(const char *types, const char *contents)
{
        size_t n = strlen(contents);

        for (const char *t = types; *t;) {
                size_t len = strcspn(t, "|");
                if (len == n && strncmp(t, contents, n) == 0)
                        return true;
                t += len + (t[len] == '|');
        }
        return false;
}

/* Enters an a{sv} (within the key within, NULL at the top): a key given twice is refused. */
static int enter_dict(sd_bus_message *msg, const char *within, char *why, size_t size)
{
        char dup[64];
        int r = bus_dict_enter(msg, dup, sizeof(dup));

        if (r == -EEXIST)
                return fail(why, size, "%s%s%s is given twice", within ?: "", within ? "." : "", dup);
        if (r == -E2BIG)
                return fail(why, size, "more than %d keys%s%s", BUS_DICT_KEYS_MAX, within ? " in " : "",
                            within ?: "");
        return r;
}

static int read_dict(struct manual *m, sd_bus_message *msg, enum section section, const char *const *skip,
                     char *why, size_t size)
{
        int r;

        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                const char *name, *contents;
                char type, buf[256];
                int k;

                r = sd_bus_message_read(msg, "s", &name);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(msg, &type, &contents);
                if (r < 0)
                        return r;
                if (section == SECTION_TOP && skip && strv_contains(skip, name)) {
                        r = sd_bus_message_skip(msg, "v");
                        if (r < 0)
                                return r;
                } else if (section == SECTION_TOP && (streq(name, "roller") || streq(name, "airbags"))) {
                        enum section sub = streq(name, "roller") ? SECTION_ROLLER : SECTION_AIRBAGS;
                        if (!streq(contents, "a{sv}"))
                                return fail(why, size, "%s must be an a{sv}, not a %s", name, contents);
                        r = sd_bus_message_enter_container(msg, 'v', "a{sv}");
                        if (r >= 0)
                                r = enter_dict(msg, name, why, size);
                        if (r >= 0)
                                r = read_dict(m, msg, sub, NULL, why, size);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(msg);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(msg);
                        if (r < 0)
                                return r;
                } else {
                        k = find_key(section, name);
                        if (k < 0)
                                return fail(why, size, "%s%s%.64s: no such key (known: %s)",
                                            section_names[section], section == SECTION_TOP ? "" : ".", name,
                                            known_keys(section, buf, sizeof(buf)));
                        if (!type_fits(keys[k].types, contents)) {
                                char path[64];
                                return fail(why, size, "%s must be a%s %s, not a %s",
                                            key_path(k, path, sizeof(path)),
                                            keys[k].types[0] == 'a' ? "n" : "", keys[k].types, contents);
                        }
                        r = read_value(m, (enum key) k, msg, contents, why, size);
                        if (r < 0)
                                return r;
                }
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        return r;
}

int manual_read(struct manual *m, sd_bus_message *msg, const char *const *skip, char *why, size_t size)
{
        int r = enter_dict(msg, NULL, why, size);

        if (r >= 0)
                r = read_dict(m, msg, SECTION_TOP, skip, why, size);
        if (r >= 0)
                r = sd_bus_message_exit_container(msg);
        return r < 0 ? r : 0;
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
