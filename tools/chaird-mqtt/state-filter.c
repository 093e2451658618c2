/* state-filter.c: rounding and a deadband for the state topic's temperatures and positions. */
#include <math.h>
#include <stdio.h>

#include "state-filter.h"
#include "util.h"

struct analog {
        const char *property;
        double step, deadband;
        int decimals;
};

static const struct analog analogs[] = {
        {"Temperatures", STATE_TEMPERATURE_STEP, STATE_TEMPERATURE_DEADBAND, 1},
        {"Positions", STATE_POSITION_STEP, STATE_POSITION_DEADBAND, 2},
};

/* A double that prints as its rounded text ("31.4", not json-c's 31.399999999999999). */
static json_object *rounded(double v, int decimals)
{
        char text[64];

        if (v == 0)
                v = 0; /* no "-0.0" */
        snprintf(text, sizeof(text), "%.*f", decimals, v);
        return json_object_new_double_s(v, text);
}

static json_object *filter_map(struct state_filter *f, const struct analog *a, json_object *map, bool exact,
                               bool *held)
{
        json_object *out = json_object_new_object(), *sent;

        if (!out)
                return NULL;
        if (!json_object_object_get_ex(f->sent, a->property, &sent)) {
                sent = json_object_new_object();
                if (!sent || json_object_object_add(f->sent, a->property, sent) < 0) {
                        json_object_put(out);
                        return NULL;
                }
        }
        json_object_object_foreach(map, name, v)
        {
                json_object *last, *n;
                if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int)) {
                        json_object_object_add(out, name, json_object_get(v));
                        continue;
                }
                double r = round(json_object_get_double(v) / a->step) * a->step;
                if (json_object_object_get_ex(sent, name, &last) && !exact) {
                        double before = json_object_get_double(last);
                        if (fabs(r - before) < a->deadband - a->step / 2) {
                                if (fabs(r - before) > a->step / 2)
                                        *held = true;
                                r = before;
                        }
                }
                n = rounded(r, a->decimals);
                if (!n || json_object_object_add(out, name, n) < 0 ||
                    json_object_object_add(sent, name, rounded(r, a->decimals)) < 0) {
                        json_object_put(out);
                        return NULL;
                }
        }
        return out;
}

json_object *state_filter_apply(struct state_filter *f, json_object *state, bool exact, bool *ret_held)
{
        json_object *out = json_object_new_object();
        bool held = false;

        if (!out || (!f->sent && !(f->sent = json_object_new_object()))) {
                json_object_put(out);
                return NULL;
        }
        json_object_object_foreach(state, key, value)
        {
                json_object *v = NULL;
                for (size_t i = 0; i < ELEMENTSOF(analogs); i++)
                        if (streq(key, analogs[i].property) &&
                            json_object_is_type(value, json_type_object)) {
                                v = filter_map(f, &analogs[i], value, exact, &held);
                                if (!v) {
                                        json_object_put(out);
                                        return NULL;
                                }
                        }
                if (json_object_object_add(out, key, v ?: json_object_get(value)) < 0) {
                        json_object_put(out);
                        return NULL;
                }
        }
        *ret_held = held;
        return out;
}

void state_filter_done(struct state_filter *f)
{
        json_object_put(f->sent);
        f->sent = NULL;
}
