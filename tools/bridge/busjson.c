/* busjson.c: converts any D-Bus value the chair sends into json-c objects, by its signature. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "busjson.h"
#include "util.h"

/* A double as the shortest text that reads back as the same number: 21.3, not json-c's 21.300000000000001
 * (and 1.0, still a JSON number with a fraction). */
static json_object *new_double(double d)
{
        char text[40];
        size_t n;

        if (!isfinite(d))
                return json_object_new_double(d);
        for (int precision = 15;; precision++) {
                n = (size_t) snprintf(text, sizeof(text) - 2, "%.*g", precision, d);
                if (precision == 17 || strtod(text, NULL) == d)
                        break;
        }
        if (!strpbrk(text, ".e"))
                memcpy(text + n, ".0", 3);
        return json_object_new_double_s(d, text);
}

static int read_container(sd_bus_message *m, char type, const char *contents, json_object **ret)
{
        _cleanup_json_ json_object *o = NULL;
        int r;

        r = sd_bus_message_enter_container(m, type, contents);
        if (r < 0)
                return r;
        if (type == 'v') {
                r = bus_message_read_json(m, &o);
        } else if (type == 'a' && contents[0] == '{') {
                o = json_object_new_object();
                if (!o)
                        return -ENOMEM;
                char key_type = contents[1];
                if (key_type != 's' && key_type != 'o')
                        return -EINVAL; /* the chair's dictionaries are keyed by names or object paths */
                _cleanup_free_ char *entry = strndup(contents + 1, strlen(contents) - 2);
                if (!entry)
                        return -ENOMEM;
                while ((r = sd_bus_message_enter_container(m, 'e', entry)) > 0) {
                        const char *key;
                        json_object *v = NULL;

                        r = sd_bus_message_read_basic(m, key_type, &key);
                        if (r < 0)
                                return r;
                        r = bus_message_read_json(m, &v);
                        if (r < 0)
                                return r;
                        json_object_object_add(o, key, v);
                        r = sd_bus_message_exit_container(m);
                        if (r < 0)
                                return r;
                }
        } else { /* an array or a struct: a list */
                o = json_object_new_array();
                if (!o)
                        return -ENOMEM;
                while ((r = sd_bus_message_at_end(m, false)) == 0) {
                        json_object *v = NULL;
                        r = bus_message_read_json(m, &v);
                        if (r < 0)
                                return r;
                        json_object_array_add(o, v);
                }
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

int bus_message_read_json(sd_bus_message *m, json_object **ret)
{
        const char *contents;
        json_object *o;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENXIO;

        union {
                const char *s;
                int b;
                uint8_t y;
                int16_t n;
                uint16_t q;
                int32_t i;
                uint32_t u;
                int64_t x;
                uint64_t t;
                double d;
                int h;
        } v;

        switch (type) {
        case SD_BUS_TYPE_VARIANT:
        case SD_BUS_TYPE_ARRAY:
        case SD_BUS_TYPE_STRUCT:
                return read_container(m, type, contents, ret);
        default:
                break;
        }
        r = sd_bus_message_read_basic(m, type, &v);
        if (r < 0)
                return r;
        switch (type) {
        case 's':
        case 'o':
        case 'g':
                o = json_object_new_string(v.s);
                break;
        case 'b':
                o = json_object_new_boolean(v.b);
                break;
        case 'y':
                o = json_object_new_int64(v.y);
                break;
        case 'n':
                o = json_object_new_int64(v.n);
                break;
        case 'q':
                o = json_object_new_int64(v.q);
                break;
        case 'i':
                o = json_object_new_int64(v.i);
                break;
        case 'u':
                o = json_object_new_int64(v.u);
                break;
        case 'x':
                o = json_object_new_int64(v.x);
                break;
        case 't':
                o = json_object_new_uint64(v.t);
                break;
        case 'd':
                o = new_double(v.d);
                break;
        default: /* file descriptors: the chair sends none */
                return -EINVAL;
        }
        if (!o)
                return -ENOMEM;
        *ret = o;
        return 0;
}
