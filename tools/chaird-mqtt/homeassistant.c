/* homeassistant.c: Home Assistant's MQTT discovery: one device per chair whose entities read the state topic
 * through value templates and send JSON commands on the command topic. Retained, under homeassistant/. */
#include <errno.h>
#include <stdio.h>

#include "build-config.h"
#include "busjson.h"
#include "config.h" /* HEAT_LEVELS */
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

/* The keys every entity shares: its unique id, the device, availability, and the state topic when it reads.
 */
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
        int r = mqtt_publish(h->mqtt, topic, json_text(o), true, NULL, 0);
        if (r < 0 && r != -ENOTCONN)
                fprintf(stderr, "Failed to publish %s: %s\n", topic, strerror(-r));
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

/* The event entity: finished, fault and refused, from the event topic; the event's keys are its attributes.
 */
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

static json_object *keys_of(json_object *state, const char *property)
{
        json_object *map, *list = json_object_new_array();

        if (!list || !json_object_object_get_ex(state, property, &map) ||
            !json_object_is_type(map, json_type_object))
                return list;
        json_object_object_foreach(map, key, value)
        {
                (void) value;
                json_object_array_add(list, json_object_new_string(key));
        }
        return list;
}

void homeassistant_publish(struct mqtt_client *m, const struct bridge_config *c, json_object *state,
                           json_object *programs)
{
        _cleanup_json_ json_object *zones = keys_of(state, "Heat"),
                                   *sensors = keys_of(state, "Temperatures"),
                                   *axes = keys_of(state, "Positions");
        struct ha h = {.mqtt = m, .config = c};
        char id[257], object[300], name[300], tmpl[700];

        if (!mqtt_client_connected(m) || !zones || !sensors || !axes)
                return;
        sanitize(id, sizeof(id), c->chair_id);
        snprintf(h.node, sizeof(h.node), "chaird_%s", id);
        snprintf(h.base, sizeof(h.base), "%s/%s", c->topic_prefix, c->chair_id);
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
        if (c->allowed[COMMAND_START]) {
                json_object *ids_list = json_object_new_array();
                for (size_t i = 0; ids_list && programs && i < json_object_array_length(programs); i++) {
                        json_object *v;
                        if (json_object_object_get_ex(json_object_array_get_idx(programs, i), "id", &v))
                                json_object_array_add(ids_list, json_object_get(v));
                }
                if (ids_list)
                        select_entity(&h, "program", "Program", ids_list,
                                      "{{ value_json.Program or 'None' }}",
                                      "{\"command\":\"start\",\"program\":\"{{ value }}\"}");
        }
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
                json_object_object_add(o, "min", json_object_new_int(1));
                json_object_object_add(o, "max", json_object_new_int(5));
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
}
