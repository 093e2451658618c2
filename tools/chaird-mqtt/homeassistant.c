/* homeassistant.c: Home Assistant's MQTT discovery: one device per chair whose entities read the state topic
 * through value templates and send JSON commands on the command topic. Retained, under homeassistant/. */
#include <errno.h>
#include <stdio.h>

#include "build-config.h"
#include "busjson.h"
#include "config.h" /* HEAT_LEVELS, INTENSITY_MIN, INTENSITY_MAX */
#include "discovery.h"
#include "homeassistant.h"

#define DISCOVERY_PREFIX "homeassistant"
/* A sensor of an analog value unrefreshed this long shows as unavailable: the bridge republishes the state
 * at least every 300 s (STATE_REFRESH_USEC in bridge.c). */
#define EXPIRE_AFTER_SEC 900

struct ha {
        struct mqtt_client *mqtt;
        const struct bridge_config *config;
        char node[300]; /* chaird_<chair-id>, in the characters discovery topics allow */
        char base[600]; /* <prefix>/<chair-id> */
        json_object *device;
        struct discovery *discovery; /* what is retained under the node */
        json_object *manual;         /* the manual-mode draft: what "Start manual" starts */
        char topic_manual[700], topic_manual_set[700], topic_command[700];
};

/* Home Assistant's node and object ids: letters, digits, '_' and '-'. */
static void sanitize(char *out, size_t size, const char *in)
{
        size_t i = 0;
        for (; in[i] && i + 1 < size; i++) {
                char ch = in[i];
                bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                          ch == '_' || ch == '-';
                out[i] = ok ? ch : '_';
        }
        out[i] = '\0';
}

static void add_string(json_object *o, const char *key, const char *value)
{
        json_object_object_add(o, key, json_object_new_string(value));
}

/* Who publishes the discovery (Home Assistant logs it with each entity's config). */
static void add_origin(json_object *o)
{
        json_object *origin = json_object_new_object();

        if (!origin)
                return;
        add_string(origin, "name", "chaird-mqtt");
        add_string(origin, "sw_version", PACKAGE_VERSION);
        json_object_object_add(o, "origin", origin);
}

/* The keys every entity shares: its unique id, the device, availability, and the state topic when it
 * reads. */
static json_object *entity(struct ha *h, const char *object, const char *name)
{
        char buf[700];
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        add_string(o, "name", name);
        snprintf(buf, sizeof(buf), "%s_%s", h->node, object);
        add_string(o, "unique_id", buf);
        json_object_object_add(o, "device", json_object_get(h->device));
        snprintf(buf, sizeof(buf), "%s/availability", h->base);
        add_string(o, "availability_topic", buf);
        add_string(o, "payload_available", "online");
        add_string(o, "payload_not_available", "offline");
        add_origin(o);
        return o;
}

static void with_state(struct ha *h, json_object *o, const char *value_template)
{
        char buf[700];
        snprintf(buf, sizeof(buf), "%s/state", h->base);
        add_string(o, "state_topic", buf);
        add_string(o, "value_template", value_template);
}

static void with_command(struct ha *h, json_object *o)
{
        char buf[700];
        snprintf(buf, sizeof(buf), "%s/command", h->base);
        add_string(o, "command_topic", buf);
}

static void publish_entity(struct ha *h, const char *component, const char *object, json_object *o)
{
        char topic[1024];

        if (!o)
                return;
        snprintf(topic, sizeof(topic), DISCOVERY_PREFIX "/%s/%s/%s/config", component, h->node, object);
        discovery_publish(h->discovery, topic, json_text(o));
        json_object_put(o);
}

/* How a sensor's value is shown: the precision the state topic rounds it to (temperatures 0.1 °C, positions
 * 1 %), whether it is diagnostic, and when it counts as stale. */
static void sensor_display(json_object *o, const char *object)
{
        if (strncmp(object, "temperature_", 12) == 0) {
                json_object_object_add(o, "suggested_display_precision", json_object_new_int(1));
                json_object_object_add(o, "expire_after", json_object_new_int(EXPIRE_AFTER_SEC));
        } else if (strncmp(object, "position_", 9) == 0) {
                json_object_object_add(o, "suggested_display_precision", json_object_new_int(0));
                json_object_object_add(o, "expire_after", json_object_new_int(EXPIRE_AFTER_SEC));
                add_string(o, "entity_category", "diagnostic");
        } else if (streq(object, "remaining")) {
                json_object_object_add(o, "suggested_display_precision", json_object_new_int(0));
        } else if (streq(object, "phase")) {
                add_string(o, "entity_category", "diagnostic");
        }
}

/* The state sensor, with the last refused command as its attributes (the retained <prefix>/<id>/refusal). */
static void state_sensor(struct ha *h)
{
        char buf[700];
        json_object *o = entity(h, "state", "State");

        if (!o)
                return;
        with_state(h, o, "{{ value_json.State }}");
        snprintf(buf, sizeof(buf), "%s/refusal", h->base);
        add_string(o, "json_attributes_topic", buf);
        add_string(o, "json_attributes_template",
                   "{{ {'last_refusal_command': value_json.command, 'last_refusal_error': value_json.error, "
                   "'last_refusal_message': value_json.message} | tojson }}");
        publish_entity(h, "sensor", "state", o);
}

/* The event entity: finished, fault, refused and profile-changed, from the event topic; the event's keys
 * are its attributes. */
static void event_entity(struct ha *h)
{
        char buf[700];
        json_object *types = json_object_new_array(), *o = entity(h, "event", "Event");

        if (!o || !types) {
                json_object_put(types);
                json_object_put(o);
                return;
        }
        snprintf(buf, sizeof(buf), "%s/event", h->base);
        add_string(o, "state_topic", buf);
        add_string(o, "value_template", "{{ dict(value_json, event_type=value_json.event) | tojson }}");
        json_object_array_add(types, json_object_new_string("finished"));
        json_object_array_add(types, json_object_new_string("fault"));
        json_object_array_add(types, json_object_new_string("refused"));
        json_object_array_add(types, json_object_new_string("profile-changed"));
        json_object_object_add(o, "event_types", types);
        publish_entity(h, "event", "event", o);
}

static void sensor(struct ha *h, const char *object, const char *name, const char *value_template,
                   const char *device_class, const char *unit)
{
        json_object *o = entity(h, object, name);
        if (!o)
                return;
        with_state(h, o, value_template);
        if (device_class)
                add_string(o, "device_class", device_class);
        if (unit) {
                add_string(o, "unit_of_measurement", unit);
                add_string(o, "state_class", "measurement");
        }
        sensor_display(o, object);
        publish_entity(h, "sensor", object, o);
}

static void button(struct ha *h, enum command c, const char *name)
{
        char object[64], payload[128];

        if (!h->config->allowed[c])
                return;
        sanitize(object, sizeof(object), command_names[c]);
        json_object *o = entity(h, object, name);
        if (!o)
                return;
        with_command(h, o);
        snprintf(payload, sizeof(payload), "{\"command\":\"%s\"}", command_names[c]);
        add_string(o, "payload_press", payload);
        publish_entity(h, "button", object, o);
}

/* A select of options; command_template's JSON takes the chosen one as {{ value }}. */
static void select_entity(struct ha *h, const char *object, const char *name, json_object *options,
                          const char *value_template, const char *command_template)
{
        json_object *o = entity(h, object, name);
        if (!o) {
                json_object_put(options);
                return;
        }
        with_state(h, o, value_template);
        with_command(h, o);
        add_string(o, "command_template", command_template);
        json_object_object_add(o, "options", options);
        publish_entity(h, "select", object, o);
}

static bool list_has(json_object *list, const char *name)
{
        for (size_t i = 0; i < json_object_array_length(list); i++)
                if (streq(json_object_get_string(json_object_array_get_idx(list, i)), name))
                        return true;
        return false;
}

static void list_add(json_object *list, const char *name)
{
        if (!list_has(list, name))
                json_object_array_add(list, json_object_new_string(name));
}

/* The names an entity is made for: those the chair's Capabilities lists under caps_key (the config's, known
 * from the start), and the keys of the state's property. A sensor not read yet is left out of Temperatures
 * and Positions; taken from those alone its entity would be cleared as stale and come back at the next
 * reading. */
static json_object *names_of(json_object *state, const char *caps_key, const char *property)
{
        json_object *caps, *names, *map, *list = json_object_new_array();

        if (!list)
                return NULL;
        if (caps_key && json_object_object_get_ex(state, "Capabilities", &caps) &&
            json_object_object_get_ex(caps, caps_key, &names) && json_object_is_type(names, json_type_array))
                for (size_t i = 0; i < json_object_array_length(names); i++)
                        list_add(list, json_object_get_string(json_object_array_get_idx(names, i)));
        if (json_object_object_get_ex(state, property, &map) && json_object_is_type(map, json_type_object)) {
                json_object_object_foreach(map, key, value)
                {
                        (void) value;
                        list_add(list, key);
                }
        }
        return list;
}

static void publish_program(struct ha *h, json_object *programs);
static void publish_remote(struct ha *h, json_object *state);
static bool capability_list(json_object *state, const char *key);

static void publish_all(struct ha *ha, json_object *state, json_object *programs)
{
        _cleanup_json_ json_object *zones = names_of(state, "heat-zones", "Heat"),
                                   *sensors = names_of(state, "heat-zones", "Temperatures"),
                                   *axes = names_of(state, "axes", "Positions");
        struct ha h = *ha;
        const struct bridge_config *c = ha->config;
        char object[300], name[300], tmpl[700];

        if (!zones || !sensors || !axes)
                return;
        if (capability_list(state, "techniques")) /* a roller: its motor has a position */
                list_add(axes, "roller");
        _cleanup_json_ json_object *device = json_object_new_object(), *ids = json_object_new_array();
        if (!device || !ids)
                return;
        json_object_array_add(ids, json_object_new_string(h.node));
        json_object_object_add(device, "identifiers", json_object_get(ids));
        snprintf(name, sizeof(name), "Massage chair %s", c->chair_id);
        add_string(device, "name", name);
        add_string(device, "manufacturer", "chaird");
        add_string(device, "model", "chaird massage chair");
        add_string(device, "sw_version", PACKAGE_VERSION);
        h.device = device;

        /* Sensors. */
        state_sensor(&h);
        event_entity(&h);
        sensor(&h, "phase", "Phase", "{{ value_json.Phase }}", NULL, NULL);
        sensor(&h, "remaining", "Remaining time",
               "{{ ((value_json.DurationUSec - value_json.ElapsedUSec) / 1000000) | round(0) | int "
               "if value_json.Program else 0 }}",
               "duration", "s");
        for (size_t i = 0; i < json_object_array_length(sensors); i++) {
                const char *zone = json_object_get_string(json_object_array_get_idx(sensors, i));
                char zid[128];
                sanitize(zid, sizeof(zid), zone);
                snprintf(object, sizeof(object), "temperature_%s", zid);
                snprintf(name, sizeof(name), "Temperature %s", zone);
                snprintf(tmpl, sizeof(tmpl), "{{ value_json.Temperatures['%s'] }}", zone);
                sensor(&h, object, name, tmpl, "temperature", "°C");
        }
        for (size_t i = 0; i < json_object_array_length(axes); i++) {
                const char *axis = json_object_get_string(json_object_array_get_idx(axes, i));
                char aid[128];
                sanitize(aid, sizeof(aid), axis);
                snprintf(object, sizeof(object), "position_%s", aid);
                snprintf(name, sizeof(name), "Position %s", axis);
                snprintf(tmpl, sizeof(tmpl), "{{ (value_json.Positions['%s'] * 100) | round(0) }}", axis);
                sensor(&h, object, name, tmpl, NULL, "%");
        }
        json_object *fault = entity(&h, "fault", "Fault");
        if (fault) {
                with_state(&h, fault, "{{ value_json.Fault if value_json.Fault else 'none' }}");
                snprintf(tmpl, sizeof(tmpl), "%s/state", h.base);
                add_string(fault, "json_attributes_topic", tmpl);
                add_string(fault, "json_attributes_template",
                           "{{ {'message': value_json.FaultMessage} | tojson }}");
                publish_entity(&h, "sensor", "fault", fault);
        }

        /* Buttons. */
        button(&h, COMMAND_STOP, "Stop");
        button(&h, COMMAND_EMERGENCY_STOP, "Emergency stop");
        button(&h, COMMAND_RELEASE, "Release");
        button(&h, COMMAND_RESET, "Reset fault");
        button(&h, COMMAND_PAUSE, "Pause");
        button(&h, COMMAND_RESUME, "Resume");

        /* The program, the recline preset and the heat of each zone: selects. Without a program or a preset,
         * the state is "None", which Home Assistant shows as unknown (any other text must be an option). */
        publish_program(&h, programs);
        json_object *presets;
        if (c->allowed[COMMAND_RECLINE] && json_object_object_get_ex(state, "Presets", &presets) &&
            json_object_array_length(presets) > 0)
                select_entity(&h, "recline", "Recline", json_object_get(presets),
                              "{{ value_json.Recline or 'None' }}",
                              "{\"command\":\"recline\",\"preset\":\"{{ value }}\"}");
        for (size_t i = 0; c->allowed[COMMAND_HEAT] && i < json_object_array_length(zones); i++) {
                const char *zone = json_object_get_string(json_object_array_get_idx(zones, i));
                char zid[128], cmd[300];
                json_object *levels = json_object_new_array();
                for (int l = 0; levels && l <= HEAT_LEVELS; l++) {
                        char s[8];
                        snprintf(s, sizeof(s), "%d", l);
                        json_object_array_add(levels, json_object_new_string(s));
                }
                if (!levels)
                        break;
                sanitize(zid, sizeof(zid), zone);
                snprintf(object, sizeof(object), "heat_%s", zid);
                snprintf(name, sizeof(name), "Heat %s", zone);
                snprintf(tmpl, sizeof(tmpl), "{{ value_json.Heat['%s'] | string }}", zone);
                snprintf(cmd, sizeof(cmd),
                         "{\"command\":\"heat\",\"zone\":\"%s\",\"level\":{{ value | int }}}", zone);
                select_entity(&h, object, name, levels, tmpl, cmd);
        }

        /* Intensity: a number; the child lock: a switch. */
        json_object *o;
        if (c->allowed[COMMAND_INTENSITY] && (o = entity(&h, "intensity", "Intensity"))) {
                with_state(&h, o, "{{ value_json.Intensity }}");
                with_command(&h, o);
                add_string(o, "command_template",
                           "{\"command\":\"intensity\",\"intensity\":{{ value | int }}}");
                json_object_object_add(o, "min", json_object_new_int(INTENSITY_MIN));
                json_object_object_add(o, "max", json_object_new_int(INTENSITY_MAX));
                json_object_object_add(o, "step", json_object_new_int(1));
                add_string(o, "mode", "slider");
                publish_entity(&h, "number", "intensity", o);
        }
        if (c->allowed[COMMAND_LOCK] && (o = entity(&h, "child_lock", "Child lock"))) {
                with_state(&h, o, "{{ 'ON' if value_json.Locked else 'OFF' }}");
                with_command(&h, o);
                add_string(o, "payload_on", "{\"command\":\"lock\",\"locked\":true}");
                add_string(o, "payload_off", "{\"command\":\"lock\",\"locked\":false}");
                add_string(o, "state_on", "ON");
                add_string(o, "state_off", "OFF");
                add_string(o, "entity_category", "config");
                publish_entity(&h, "switch", "child_lock", o);
        }
        publish_remote(&h, state);
}

/* A JSON text as a Jinja literal: JSON's strings and objects are Jinja's too. */
static const char *literal(json_object *o)
{
        return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* The program select offers the programs' names (a name programs share gets each one's id added) and maps
 * the chosen name back to the id in its command template. Without programs there is no select (never one
 * without options). */
static void publish_program(struct ha *h, json_object *programs)
{
        _cleanup_json_ json_object *names = json_object_new_array(), *to_id = json_object_new_object(),
                                   *to_name = json_object_new_object();
        _cleanup_free_ char *value_template = NULL, *command_template = NULL;

        if (!h->config->allowed[COMMAND_START] || !programs || !names || !to_id || !to_name)
                return;
        _cleanup_json_ json_object *count = json_object_new_object();
        if (!count)
                return;
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < json_object_array_length(programs); i++) {
                        json_object *p = json_object_array_get_idx(programs, i), *v;
                        if (!json_object_object_get_ex(p, "id", &v))
                                continue;
                        const char *id = json_object_get_string(v), *name = id;
                        if (json_object_object_get_ex(p, "name", &v) && json_object_get_string_len(v) > 0)
                                name = json_object_get_string(v);
                        if (pass == 0) {
                                int n = json_object_object_get_ex(count, name, &v) ? json_object_get_int(v)
                                                                                   : 0;
                                json_object_object_add(count, name, json_object_new_int(n + 1));
                                continue;
                        }
                        char label[600];
                        json_object_object_get_ex(count, name, &v);
                        if (json_object_get_int(v) > 1 || streq(name, "None"))
                                snprintf(label, sizeof(label), "%s (%s)", name, id);
                        else
                                snprintf(label, sizeof(label), "%s", name);
                        json_object_array_add(names, json_object_new_string(label));
                        json_object_object_add(to_id, label, json_object_new_string(id));
                        json_object_object_add(to_name, id, json_object_new_string(label));
                }
        if (json_object_array_length(names) == 0)
                return;
        if (asprintf(
                    &value_template,
                    "{%% set names = %s %%}{{ names[value_json.Program] if value_json.Program in names else "
                    "'None' }}",
                    literal(to_name)) < 0 ||
            asprintf(&command_template,
                     "{%% set ids = %s %%}{\"command\":\"start\",\"program\":{{ ids[value] | tojson }}}",
                     literal(to_id)) < 0)
                return;
        select_entity(h, "program", "Program", json_object_get(names), value_template, command_template);
}

/* The remote's features. Manual mode is a draft the bridge keeps (on <base>/ha/manual, set through
 * <base>/ha/manual/set): selects and numbers fill it in, a button starts it. The rest are commands. */

static json_object *capability(json_object *state, const char *key)
{
        json_object *caps, *v;
        if (!json_object_object_get_ex(state, "Capabilities", &caps) ||
            !json_object_object_get_ex(caps, key, &v))
                return NULL;
        return v;
}

static int capability_int(json_object *state, const char *key, size_t idx, int fallback)
{
        json_object *v = capability(state, key);
        if (v && json_object_is_type(v, json_type_array))
                v = json_object_array_get_idx(v, idx);
        return v && json_object_is_type(v, json_type_int) ? json_object_get_int(v) : fallback;
}

static bool capability_list(json_object *state, const char *key)
{
        json_object *v = capability(state, key);
        return v && json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0;
}

static json_object *entity_on(struct ha *h, const char *object, const char *name, const char *state_topic,
                              const char *value_template, const char *command_topic)
{
        json_object *o = entity(h, object, name);
        if (!o)
                return NULL;
        if (state_topic) {
                add_string(o, "state_topic", state_topic);
                add_string(o, "value_template", value_template);
        }
        add_string(o, "command_topic", command_topic);
        return o;
}

static void number_on(struct ha *h, const char *object, const char *name, const char *state_topic,
                      const char *value_template, const char *command_topic, const char *command_template,
                      int min, int max, const char *unit)
{
        if (min >= max)
                return;
        json_object *o = entity_on(h, object, name, state_topic, value_template, command_topic);
        if (!o)
                return;
        add_string(o, "command_template", command_template);
        json_object_object_add(o, "min", json_object_new_int(min));
        json_object_object_add(o, "max", json_object_new_int(max));
        json_object_object_add(o, "step", json_object_new_int(1));
        add_string(o, "mode", "slider");
        if (unit)
                add_string(o, "unit_of_measurement", unit);
        publish_entity(h, "number", object, o);
}

static void select_on(struct ha *h, const char *object, const char *name, const char *state_topic,
                      const char *value_template, const char *command_topic, const char *command_template,
                      json_object *options)
{
        if (!options || !json_object_is_type(options, json_type_array) ||
            json_object_array_length(options) == 0)
                return;
        json_object *o = entity_on(h, object, name, state_topic, value_template, command_topic);
        if (!o)
                return;
        add_string(o, "command_template", command_template);
        json_object_object_add(o, "options", json_object_get(options));
        publish_entity(h, "select", object, o);
}

static void button_on(struct ha *h, const char *object, const char *name, const char *command_topic,
                      const char *payload)
{
        json_object *o = entity_on(h, object, name, NULL, NULL, command_topic);
        if (!o)
                return;
        add_string(o, "payload_press", payload);
        publish_entity(h, "button", object, o);
}

#define SESSION_SETTING(track, key)                                                                         \
        "{{ value_json.Session.get('settings', {}).get('" track "', {}).get('" key "', 'None') }}"

/* The manual draft's values, each kept within what the chair offers. */
static void manual_draft_fit(struct ha *h, json_object *state)
{
        json_object *v, *list;
        int smin = capability_int(state, "speed", 0, 1), smax = capability_int(state, "speed", 1, 6);
        int mmax = (int) (capability_int(state, "manual-duration", 0, 1800000000) / 60000000);

        if (!h->manual)
                return;
        static const char *const lists[][3] = {{"technique", "techniques", NULL}, {"area", "areas", "back"}};
        for (size_t i = 0; i < ELEMENTSOF(lists); i++) {
                list = capability(state, lists[i][1]);
                if (!list || !json_object_is_type(list, json_type_array) ||
                    json_object_array_length(list) == 0)
                        continue;
                bool ok = false;
                if (json_object_object_get_ex(h->manual, lists[i][0], &v))
                        for (size_t j = 0; j < json_object_array_length(list); j++)
                                ok = ok || streq(json_object_get_string(json_object_array_get_idx(list, j)),
                                                 json_object_get_string(v));
                if (ok)
                        continue;
                json_object *pick = json_object_array_get_idx(list, 0);
                for (size_t j = 0; lists[i][2] && j < json_object_array_length(list); j++)
                        if (streq(json_object_get_string(json_object_array_get_idx(list, j)), lists[i][2]))
                                pick = json_object_array_get_idx(list, j);
                json_object_object_add(h->manual, lists[i][0], json_object_get(pick));
        }
        int speed = json_object_object_get_ex(h->manual, "speed", &v) ? json_object_get_int(v)
                                                                      : (smin + smax) / 2;
        json_object_object_add(h->manual, "speed",
                               json_object_new_int(speed < smin   ? smin
                                                   : speed > smax ? smax
                                                                  : speed));
        if (mmax < 1)
                mmax = 1;
        int minutes = json_object_object_get_ex(h->manual, "minutes", &v) ? json_object_get_int(v) : 15;
        json_object_object_add(h->manual, "minutes",
                               json_object_new_int(minutes < 1      ? 1
                                                   : minutes > mmax ? mmax
                                                                    : minutes));
        json_object_object_add(h->manual, "minutes-max", json_object_new_int(mmax));
}

static void publish_manual_draft(struct ha *h)
{
        if (!h->manual)
                return;
        int r = mqtt_publish(h->mqtt, h->topic_manual, json_text(h->manual), true, NULL, 0);
        if (r < 0 && r != -ENOTCONN)
                fprintf(stderr, "Failed to publish %s: %s\n", h->topic_manual, strerror(-r));
}

static void publish_remote(struct ha *h, json_object *state)
{
        const bool *allowed = h->config->allowed;
        bool roller = capability_list(state, "techniques");
        char object[300], name[300], payload[300];

        if (allowed[COMMAND_MANUAL] && roller) {
                manual_draft_fit(h, state);
                publish_manual_draft(h);
                select_on(h, "manual_technique", "Manual technique", h->topic_manual,
                          "{{ value_json.technique }}", h->topic_manual_set,
                          "{\"technique\":{{ value | tojson }}}", capability(state, "techniques"));
                select_on(h, "manual_area", "Manual area", h->topic_manual, "{{ value_json.area }}",
                          h->topic_manual_set, "{\"area\":{{ value | tojson }}}",
                          capability(state, "areas"));
                number_on(h, "manual_speed", "Manual speed", h->topic_manual, "{{ value_json.speed }}",
                          h->topic_manual_set, "{\"speed\":{{ value | int }}}",
                          capability_int(state, "speed", 0, 1), capability_int(state, "speed", 1, 6), NULL);
                json_object *v;
                int mmax = json_object_object_get_ex(h->manual, "minutes-max", &v) ? json_object_get_int(v)
                                                                                   : 30;
                number_on(h, "manual_minutes", "Manual minutes", h->topic_manual, "{{ value_json.minutes }}",
                          h->topic_manual_set, "{\"minutes\":{{ value | int }}}", 1, mmax, "min");
                button_on(h, "manual_start", "Start manual", h->topic_manual_set, "{\"start\":true}");
        }
        if (allowed[COMMAND_ADJUST] && roller) {
                char state_topic[700];
                snprintf(state_topic, sizeof(state_topic), "%s/state", h->base);
                number_on(h, "adjust_speed", "Speed", state_topic, SESSION_SETTING("roller", "speed"),
                          h->topic_command, "{\"command\":\"adjust\",\"speed\":{{ value | int }}}",
                          capability_int(state, "speed", 0, 1), capability_int(state, "speed", 1, 6), NULL);
                select_on(h, "adjust_width", "Width", state_topic, SESSION_SETTING("roller", "width"),
                          h->topic_command, "{\"command\":\"adjust\",\"width\":{{ value | tojson }}}",
                          capability(state, "widths"));
                number_on(h, "adjust_depth", "Depth", state_topic, SESSION_SETTING("roller", "depth"),
                          h->topic_command, "{\"command\":\"adjust\",\"depth\":{{ value | int }}}", 1,
                          capability_int(state, "depth-levels", 0, 1), NULL);
        }
        json_object *profiles;
        if (allowed[COMMAND_SELECT_PROFILE] && json_object_object_get_ex(state, "Profiles", &profiles) &&
            json_object_is_type(profiles, json_type_array)) {
                _cleanup_json_ json_object *options = json_object_new_array();
                char state_topic[700];
                snprintf(state_topic, sizeof(state_topic), "%s/state", h->base);
                if (options) {
                        json_object_array_add(options, json_object_new_string("(none)"));
                        for (size_t i = 0; i < json_object_array_length(profiles); i++)
                                json_object_array_add(
                                        options, json_object_get(json_object_array_get_idx(profiles, i)));
                        select_on(h, "profile", "Profile", state_topic,
                                  "{{ value_json.Profile or '(none)' }}", h->topic_command,
                                  "{\"command\":\"select-profile\",\"name\":{{ ('' if value == '(none)' "
                                  "else value) | tojson }}}",
                                  options);
                }
        }
        if (allowed[COMMAND_SHOULDERS] && roller) {
                button_on(h, "shoulders_up", "Shoulders up", h->topic_command,
                          "{\"command\":\"shoulders\",\"offset-mm\":-10}");
                button_on(h, "shoulders_down", "Shoulders down", h->topic_command,
                          "{\"command\":\"shoulders\",\"offset-mm\":10}");
                sensor(h, "shoulders", "Shoulders", "{{ value_json.Shoulders }}", "distance", "mm");
        }
        json_object *axes = capability(state, "axes");
        for (size_t i = 0; allowed[COMMAND_JOG] && axes && json_object_is_type(axes, json_type_array) &&
                           i < json_object_array_length(axes);
             i++) {
                const char *axis = json_object_get_string(json_object_array_get_idx(axes, i));
                char aid[128];
                sanitize(aid, sizeof(aid), axis);
                for (int dir = 1; dir >= -1; dir -= 2) {
                        snprintf(object, sizeof(object), "jog_%s_%s", aid, dir > 0 ? "plus" : "minus");
                        snprintf(name, sizeof(name), "Jog %s %s", axis, dir > 0 ? "+" : "-");
                        snprintf(payload, sizeof(payload),
                                 "{\"command\":\"jog\",\"axis\":\"%s\",\"direction\":%d}", axis, dir);
                        button_on(h, object, name, h->topic_command, payload);
                }
        }
}

/* The lasting part: the node, the topics, the discovery set and the manual draft. */

int homeassistant_new(struct mqtt_client *m, const struct bridge_config *c, struct ha **ret)
{
        struct ha *h = calloc(1, sizeof(*h));
        char id[257];
        int r;

        if (!h)
                return -ENOMEM;
        h->mqtt = m;
        h->config = c;
        sanitize(id, sizeof(id), c->chair_id);
        snprintf(h->node, sizeof(h->node), "chaird_%s", id);
        snprintf(h->base, sizeof(h->base), "%s/%s", c->topic_prefix, c->chair_id);
        snprintf(h->topic_manual, sizeof(h->topic_manual), "%s/ha/manual", h->base);
        snprintf(h->topic_manual_set, sizeof(h->topic_manual_set), "%s/ha/manual/set", h->base);
        snprintf(h->topic_command, sizeof(h->topic_command), "%s/command", h->base);
        h->manual = json_object_new_object(); /* shared by the copies publish_all() works on */
        r = h->manual ? discovery_new(m, h->node, &h->discovery) : -ENOMEM;
        if (r < 0) {
                json_object_put(h->manual);
                free(h);
                return r;
        }
        *ret = h;
        return 0;
}

struct ha *homeassistant_free(struct ha *h)
{
        if (!h)
                return NULL;
        discovery_free(h->discovery);
        json_object_put(h->manual);
        free(h);
        return NULL;
}

void homeassistant_connected(struct ha *h)
{
        const char *topics[] = {discovery_filter(h->discovery), HA_STATUS_TOPIC, h->topic_manual_set};

        discovery_reset(h->discovery);
        for (size_t i = 0; i < ELEMENTSOF(topics); i++) {
                int r = mqtt_subscribe(h->mqtt, topics[i]);
                if (r < 0)
                        fprintf(stderr, "Failed to subscribe to %s: %s\n", topics[i], strerror(-r));
        }
}

void homeassistant_publish(struct ha *h, json_object *state, json_object *programs, bool force)
{
        if (!mqtt_client_connected(h->mqtt) || !state || !programs)
                return;
        discovery_begin(h->discovery, force);
        _cleanup_json_ json_object *device = json_object_new_object(), *ids = json_object_new_array();
        if (device && ids) {
                char name[300];
                json_object_array_add(ids, json_object_new_string(h->node));
                json_object_object_add(device, "identifiers", json_object_get(ids));
                snprintf(name, sizeof(name), "Massage chair %s", h->config->chair_id);
                add_string(device, "name", name);
                add_string(device, "manufacturer", "chaird");
                add_string(device, "model", "chaird massage chair");
                add_string(device, "sw_version", PACKAGE_VERSION);
                h->device = device;
                publish_all(h, state, programs);
                h->device = NULL;
        }
        discovery_end(h->discovery);
}

/* A change of the manual draft: {"technique":...,"area":...,"speed":N,"minutes":N}, or {"start":true}, which
 * returns the manual command to run. */
static char *manual_set(struct ha *h, const void *payload, size_t size)
{
        _cleanup_json_ json_object *o = NULL;
        json_object *v;

        if (!h->manual || size > 4096)
                return NULL;
        _cleanup_free_ char *text = strndup(payload, size);
        if (!text || !(o = json_tokener_parse(text)) || !json_object_is_type(o, json_type_object))
                return NULL;
        static const char *const keys[] = {"technique", "area", "speed", "minutes"};
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (json_object_object_get_ex(o, keys[i], &v) &&
                    json_object_is_type(v, i < 2 ? json_type_string : json_type_int))
                        json_object_object_add(h->manual, keys[i], json_object_get(v));
        publish_manual_draft(h);
        if (!json_object_object_get_ex(o, "start", &v) || !json_object_get_boolean(v))
                return NULL;

        /* The command table checks it as any other: what the draft holds goes as it is. */
        _cleanup_json_ json_object *cmd = json_object_new_object(), *roller = json_object_new_object();
        if (!cmd || !roller)
                return NULL;
        add_string(cmd, "command", "manual");
        for (size_t i = 0; i < 3; i++)
                if (json_object_object_get_ex(h->manual, keys[i], &v))
                        json_object_object_add(roller, keys[i], json_object_get(v));
        json_object_object_add(cmd, "roller", json_object_get(roller));
        if (json_object_object_get_ex(h->manual, "minutes", &v))
                json_object_object_add(cmd, "duration-usec",
                                       json_object_new_int64((int64_t) json_object_get_int(v) * 60000000));
        add_string(cmd, "id", "home-assistant-manual");
        return strdup(json_text(cmd));
}

bool homeassistant_message(struct ha *h, const char *topic, const void *payload, size_t size,
                           bool *ret_republish, char **ret_command)
{
        *ret_republish = false;
        *ret_command = NULL;
        if (streq(topic, HA_STATUS_TOPIC)) {
                /* Home Assistant's birth message: it (re)started, and may have lost every entity. */
                *ret_republish = size == 6 && memcmp(payload, "online", 6) == 0;
                return true;
        }
        if (streq(topic, h->topic_manual_set)) {
                *ret_command = manual_set(h, payload, size);
                return true;
        }
        return discovery_message(h->discovery, topic, payload, size);
}
