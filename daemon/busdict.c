/* busdict.c: an a{sv} of options read and written through a table of its keys. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "busdict.h"
#include "util.h"

int bus_dict_enter(sd_bus_message *m, char *dup, size_t size)
{
        const char *keys[BUS_DICT_KEYS_MAX];
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key;

                r = sd_bus_message_read(m, "s", &key);
                if (r >= 0)
                        r = sd_bus_message_skip(m, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n; i++)
                        if (streq(keys[i], key)) {
                                snprintf(dup, size, "%s", key);
                                return -EEXIST;
                        }
                if (n == BUS_DICT_KEYS_MAX)
                        return -E2BIG;
                keys[n++] = key; /* points into the message, which outlives this */
        }
        if (r < 0)
                return r;
        /* Back to the first entry, for the caller's reading. */
        return sd_bus_message_rewind(m, false);
}

static _printf_(3, 4) int fail(char *why, size_t size, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(why, size, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* Whether contents is one of types' alternatives ("s|d"). */
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

const char *bus_options_known(const struct bus_option *options, size_t n, char *buf, size_t size)
{
        size_t len = 0;

        buf[0] = 0;
        for (size_t i = 0; i < n; i++)
                len += (size_t) snprintf(buf + len, len < size ? size - len : 0, "%s%s", i ? ", " : "",
                                         options[i].key);
        return buf;
}

int bus_option_check_range(const struct bus_option *o, const char *within, int64_t v, char *why, size_t size)
{
        if (o->min == o->max || (v >= o->min && v <= o->max))
                return 0;
        return fail(why, size, "%s%s%s: %" PRId64 " is out of range (%" PRId64 " to %" PRId64 "%s%s)",
                    within ?: "", within ? "." : "", o->key, v, o->min, o->max, o->unit ? " " : "",
                    o->unit ?: "");
}

/* A scalar of type into the field at dest + o->offset, within o's range. */
static int read_scalar(sd_bus_message *m, const struct bus_option *o, const char *within, void *dest,
                       char *why, size_t size)
{
        uint8_t *field = (uint8_t *) dest + o->offset;
        char type = o->type[0];
        union {
                uint32_t u;
                int32_t i;
                uint64_t t;
                int b;
                double d;
                const char *s;
        } v;
        int64_t n;
        int r;

        r = sd_bus_message_read(m, "v", o->type, &v);
        if (r < 0)
                return r;
        if (type == 'u' || type == 'i' || type == 't') {
                n = type == 'u'   ? (int64_t) v.u
                    : type == 'i' ? (int64_t) v.i
                                  : (int64_t) (v.t < INT64_MAX ? v.t : INT64_MAX);
                r = bus_option_check_range(o, within, n, why, size);
                if (r < 0)
                        return r;
        }
        switch (type) {
        case 'u':
                memcpy(field, &(unsigned){v.u}, sizeof(unsigned));
                break;
        case 'i':
                memcpy(field, &(int){v.i}, sizeof(int));
                break;
        case 't':
                memcpy(field, &v.t, sizeof(uint64_t));
                break;
        case 'b':
                memcpy(field, &(bool){v.b}, sizeof(bool));
                break;
        case 'd':
                memcpy(field, &v.d, sizeof(double));
                break;
        default:
                memcpy(field, &v.s, sizeof(const char *));
        }
        return 0;
}

static const struct bus_option *find_option(const struct bus_option *options, size_t n, const char *key)
{
        for (size_t i = 0; i < n; i++)
                if (streq(options[i].key, key))
                        return &options[i];
        return NULL;
}

/* One entry's value, the message at its variant. */
static int read_entry(sd_bus_message *m, const struct bus_option *options, size_t n, const char *key,
                      void *dest, void *userdata, const char *within, uint64_t *given, char *why,
                      size_t size)
{
        const struct bus_option *o = find_option(options, n, key);
        const char *contents, *dot = within ? "." : "";
        char known[256];
        int r;

        within = within ?: "";
        if (!o)
                return fail(why, size, "Unknown key '%s%s%.64s' (known: %s)", within, dot, key,
                            bus_options_known(options, n, known, sizeof(known)));
        *given |= UINT64_C(1) << (o - options);
        if (o->unsupported) {
                snprintf(why, size, "%s%s%s: %s", within, dot, key, o->unsupported);
                return -EOPNOTSUPP;
        }
        if (!o->type)
                return sd_bus_message_skip(m, "v");
        r = sd_bus_message_peek_type(m, NULL, &contents);
        if (r < 0)
                return r;
        if (!type_fits(o->type, contents))
                return fail(why, size, "%s%s%s must be a%s %s, not a %s", within, dot, key,
                            o->type[0] == 'a' ? "n" : "", o->type, contents);
        if (o->read)
                return o->read(m, o, dest, userdata, why, size);
        return read_scalar(m, o, *within ? within : NULL, dest, why, size);
}

int bus_dict_read(sd_bus_message *m, const struct bus_option *options, size_t n, void *dest, void *userdata,
                  const char *within, uint64_t *ret_given, char *why, size_t size)
{
        uint64_t given = 0;
        char dup[64];
        int r;

        assert(n <= BUS_DICT_KEYS_MAX);
        why[0] = 0;
        r = bus_dict_enter(m, dup, sizeof(dup));
        if (r == -EEXIST)
                return fail(why, size, "%s%s%s is given twice", within ?: "", within ? "." : "", dup);
        if (r == -E2BIG)
                return fail(why, size, "More than %d keys%s%s", BUS_DICT_KEYS_MAX, within ? " in " : "",
                            within ?: "");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key;

                r = sd_bus_message_read(m, "s", &key);
                if (r >= 0)
                        r = read_entry(m, options, n, key, dest, userdata, within, &given, why, size);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (options[i].required && !(given & (UINT64_C(1) << i)))
                        return fail(why, size, "%s%s%s is required", within ?: "", within ? "." : "",
                                    options[i].key);
        if (ret_given)
                *ret_given = given;
        return 0;
}

static int append_scalar(sd_bus_message *m, const struct bus_option *o, const void *src)
{
        const uint8_t *field = (const uint8_t *) src + o->offset;
        union {
                unsigned u;
                int i;
                uint64_t t;
                bool b;
                double d;
                const char *s;
        } v;

        switch (o->type[0]) {
        case 'u':
                memcpy(&v.u, field, sizeof(v.u));
                return sd_bus_message_append(m, "u", (uint32_t) v.u);
        case 'i':
                memcpy(&v.i, field, sizeof(v.i));
                return sd_bus_message_append(m, "i", (int32_t) v.i);
        case 't':
                memcpy(&v.t, field, sizeof(v.t));
                return sd_bus_message_append(m, "t", v.t);
        case 'b':
                memcpy(&v.b, field, sizeof(v.b));
                return sd_bus_message_append(m, "b", (int) v.b);
        case 'd':
                memcpy(&v.d, field, sizeof(v.d));
                return sd_bus_message_append(m, "d", v.d);
        default:
                memcpy(&v.s, field, sizeof(v.s));
                return sd_bus_message_append(m, "s", v.s ?: "");
        }
}

int bus_dict_append(sd_bus_message *m, const struct bus_option *options, size_t n, const void *src,
                    void *userdata)
{
        int r = 0;

        for (size_t i = 0; r >= 0 && i < n; i++) {
                const struct bus_option *o = &options[i];
                if (!o->type || strchr(o->type, '|'))
                        continue;
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", o->key);
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', o->type);
                if (r >= 0)
                        r = o->append ? o->append(m, o, src, userdata) : append_scalar(m, o, src);
                for (int k = 0; r >= 0 && k < 2; k++)
                        r = sd_bus_message_close_container(m);
        }
        return r;
}

int bus_dict_open_array(sd_bus_message *m, const char *key, const char *signature)
{
        int r = sd_bus_message_open_container(m, 'e', "sv");

        if (r >= 0)
                r = sd_bus_message_append(m, "s", key);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', signature);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', signature + 1);
        return r;
}

int bus_dict_close_array(sd_bus_message *m)
{
        int r = 0;

        for (int i = 0; r >= 0 && i < 3; i++)
                r = sd_bus_message_close_container(m);
        return r;
}
