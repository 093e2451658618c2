/* bridge.c: the D-Bus side of chaird-mqtt. State comes from PropertiesChanged (GetAll once, and again when
 * chaird's name reappears), programs from the ObjectManager, events from Finished and the Fault property;
 * commands from the command topic become D-Bus calls whose outcome is the reply. */
#include <errno.h>
#include <stdio.h>

#include "bridge.h"
#include "busjson.h"
#include "command.h"
#include "homeassistant.h"
#include "mqtt.h"

#define CHAIR_NAME    "io.chaird.Chair1"
#define CHAIR_PATH    "/io/chaird/Chair1"
#define CHAIR_IFACE   "io.chaird.Chair1"
#define PROGRAM_IFACE "io.chaird.Chair1.Program"

/* D-Bus calls waiting for chaird's answer at once; more commands are dropped like a flood. */
#define MAX_IN_FLIGHT 32

struct bridge {
        sd_event *event;
        sd_bus *bus;
        const struct bridge_config *config;
        struct mqtt_client *mqtt;

        char *topic_availability, *topic_state, *topic_programs, *topic_event, *topic_command, *topic_reply;

        json_object *state;    /* every property of the chair, keys as on D-Bus */
        json_object *programs; /* the list published on the programs topic */
        char *fault;           /* the last Fault seen, to publish a fault event once per fault */
        bool chaird_present, state_known;

        sd_event_source *publish_state; /* coalesces the changes of one loop iteration into one message */
        sd_bus_slot *match_signals, *match_owner, *get_all, *get_objects;

        /* The command rate: a token bucket of config->command_rate a second, twice that deep. */
        double tokens;
        usec_t tokens_usec;
        unsigned in_flight;
        unsigned urgent_in_flight[_COMMAND_MAX]; /* stop and emergency-stop calls beyond the rate, per
                                                    command */
        unsigned long long dropped;
};

struct request {
        struct bridge *bridge;
        int urgent;      /* a stop or emergency-stop beyond the rate: no reply (enum command), or -1 */
        json_object *id; /* echoed, or NULL */
        char *response_topic;
        void *correlation;
        size_t correlation_size;
};

static struct request *request_free(struct request *r)
{
        if (!r)
                return NULL;
        json_object_put(r->id);
        free(r->response_topic);
        free(r->correlation);
        free(r);
        return NULL;
}
static void request_freep(struct request **r)
{
        request_free(*r);
}

static void publish(struct bridge *b, const char *topic, const char *payload, bool retain)
{
        int r = mqtt_publish(b->mqtt, topic, payload, retain, NULL, 0);
        if (r < 0 &&
            r != -ENOTCONN) /* while disconnected, every retained topic goes out at the reconnection */
                fprintf(stderr, "Failed to publish on %s: %s\n", topic, strerror(-r));
}

/* What a D-Bus error says: its message, or its name when it has none (sd-bus allows a NULL message). */
static const char *bus_error_text(const sd_bus_error *e)
{
        return e->message ?: e->name;
}

static void publish_availability(struct bridge *b)
{
        publish(b, b->topic_availability, b->chaird_present && b->state_known ? "online" : "offline", true);
}

static void publish_programs(struct bridge *b)
{
        if (b->programs)
                publish(b, b->topic_programs, json_text(b->programs), true);
}

static int on_publish_state(sd_event_source *s, void *userdata)
{
        struct bridge *b = userdata;

        if (b->state_known)
                publish(b, b->topic_state, json_text(b->state), true);
        return sd_event_source_set_enabled(s, SD_EVENT_OFF);
}

static void state_changed(struct bridge *b)
{
        (void) sd_event_source_set_enabled(b->publish_state, SD_EVENT_ONESHOT);
}

static void publish_event(struct bridge *b, json_object *event)
{
        publish(b, b->topic_event, json_text(event), false);
}

/* A new latched fault is an event of its own: PropertiesChanged brings Fault and FaultMessage together. The
 * fault found in the very first state is not new (the bridge just started); one found after chaird came back
 * is (e.g. "interrupted" after chaird ended uncleanly). */
static void check_fault(struct bridge *b)
{
        json_object *f = NULL, *msg = NULL;
        const char *fault = "";

        if (json_object_object_get_ex(b->state, "Fault", &f) && json_object_is_type(f, json_type_string))
                fault = json_object_get_string(f);
        if (b->fault && streq(fault, b->fault))
                return;
        bool first = !b->fault;
        free(b->fault);
        b->fault = strdup(fault);
        if (first || !fault[0])
                return;
        _cleanup_json_ json_object *e = json_object_new_object();
        if (!e)
                return;
        json_object_object_get_ex(b->state, "FaultMessage", &msg);
        json_object_object_add(e, "event", json_object_new_string("fault"));
        json_object_object_add(e, "name", json_object_new_string(fault));
        json_object_object_add(e, "message", json_object_new_string(msg ? json_object_get_string(msg) : ""));
        publish_event(b, e);
}

static int on_get_all(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        struct bridge *b = userdata;
        _cleanup_json_ json_object *state = NULL;
        int r;

        b->get_all = sd_bus_slot_unref(b->get_all);
        if (sd_bus_message_is_method_error(m, NULL)) {
                fprintf(stderr, "Cannot read chaird's properties: %s\n",
                        bus_error_text(sd_bus_message_get_error(m)));
                return 0;
        }
        r = bus_message_read_json(m, &state);
        if (r < 0) {
                fprintf(stderr, "Cannot read chaird's properties: %s\n", strerror(-r));
                return 0;
        }
        /* Usage changes on every tick of a session without a signal: in the state it would be stale at once.
         * It is read on D-Bus (or chairctl usage) when wanted. */
        json_object_object_del(state, "Usage");
        json_object_put(b->state);
        b->state = TAKE_PTR(state);
        b->state_known = true;
        check_fault(b);
        publish_availability(b);
        state_changed(b);
        if (b->config->home_assistant)
                homeassistant_publish(b->mqtt, b->config, b->state, b->programs);
        return 0;
}

static int cmp_program(const void *a, const void *b)
{
        json_object *x = *(json_object *const *) a, *y = *(json_object *const *) b, *xi, *yi;

        json_object_object_get_ex(x, "id", &xi);
        json_object_object_get_ex(y, "id", &yi);
        return strcmp(json_object_get_string(xi), json_object_get_string(yi));
}

static int on_get_objects(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        struct bridge *b = userdata;
        _cleanup_json_ json_object *objects = NULL, *list = NULL;
        int r;

        b->get_objects = sd_bus_slot_unref(b->get_objects);
        if (sd_bus_message_is_method_error(m, NULL)) {
                fprintf(stderr, "Cannot list chaird's programs: %s\n",
                        bus_error_text(sd_bus_message_get_error(m)));
                return 0;
        }
        r = bus_message_read_json(m, &objects);
        if (r < 0) {
                fprintf(stderr, "Cannot list chaird's programs: %s\n", strerror(-r));
                return 0;
        }
        list = json_object_new_array();
        if (!list)
                return -ENOMEM;
        json_object_object_foreach(objects, path, ifaces)
        {
                json_object *p, *v;
                (void) path;
                if (!json_object_object_get_ex(ifaces, PROGRAM_IFACE, &p))
                        continue;
                json_object *item = json_object_new_object();
                if (!item)
                        return -ENOMEM;
                static const char *const keys[][2] = {
                        {"Id", "id"},
                        {"Name", "name"},
                        {"Description", "description"},
                        {"DurationUSec", "duration-usec"},
                };
                for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                        if (json_object_object_get_ex(p, keys[i][0], &v))
                                json_object_object_add(item, keys[i][1], json_object_get(v));
                if (!json_object_object_get_ex(item, "id", &v)) {
                        json_object_put(item);
                        continue;
                }
                json_object_array_add(list, item);
        }
        json_object_array_sort(list, cmp_program);
        json_object_put(b->programs);
        b->programs = TAKE_PTR(list);
        publish_programs(b);
        if (b->config->home_assistant && b->state_known)
                homeassistant_publish(b->mqtt, b->config, b->state, b->programs);
        return 0;
}

static void refresh_programs(struct bridge *b)
{
        b->get_objects = sd_bus_slot_unref(b->get_objects);
        int r = sd_bus_call_method_async(b->bus, &b->get_objects, CHAIR_NAME, CHAIR_PATH,
                                         "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                                         on_get_objects, b, NULL);
        if (r < 0)
                fprintf(stderr, "Failed to ask chaird for its programs: %s\n", strerror(-r));
}

static void refresh(struct bridge *b)
{
        b->get_all = sd_bus_slot_unref(b->get_all);
        int r = sd_bus_call_method_async(b->bus, &b->get_all, CHAIR_NAME, CHAIR_PATH,
                                         "org.freedesktop.DBus.Properties", "GetAll", on_get_all, b, "s",
                                         CHAIR_IFACE);
        if (r < 0)
                fprintf(stderr, "Failed to ask chaird for its state: %s\n", strerror(-r));
        refresh_programs(b);
}

static int on_properties_changed(struct bridge *b, sd_bus_message *m)
{
        _cleanup_json_ json_object *changed = NULL;
        const char *iface;
        int r;

        r = sd_bus_message_read_basic(m, 's', &iface);
        if (r < 0)
                return r;
        if (streq(iface, PROGRAM_IFACE)) {
                refresh_programs(b);
                return 0;
        }
        if (!streq(iface, CHAIR_IFACE) || !streq_ptr(sd_bus_message_get_path(m), CHAIR_PATH))
                return 0;
        r = bus_message_read_json(m, &changed);
        if (r < 0)
                return r;
        if (!b->state_known)
                return 0; /* GetAll is on its way and brings all of it */
        json_object_object_foreach(changed, key, value)
                json_object_object_add(b->state, key, json_object_get(value));
        check_fault(b);
        state_changed(b);
        return 0;
}

static int on_finished(struct bridge *b, sd_bus_message *m)
{
        const char *program, *reason;
        int r;

        r = sd_bus_message_read(m, "ss", &program, &reason);
        if (r < 0)
                return r;
        /* The properties that changed with it come first: they go out before the event. */
        on_publish_state(b->publish_state, b);
        _cleanup_json_ json_object *e = json_object_new_object();
        if (!e)
                return -ENOMEM;
        json_object_object_add(e, "event", json_object_new_string("finished"));
        json_object_object_add(e, "program", json_object_new_string(program));
        json_object_object_add(e, "reason", json_object_new_string(reason));
        publish_event(b, e);
        return 0;
}

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        struct bridge *b = userdata;
        const char *member = sd_bus_message_get_member(m), *iface = sd_bus_message_get_interface(m);
        int r = 0;

        if (streq_ptr(iface, "org.freedesktop.DBus.Properties") && streq_ptr(member, "PropertiesChanged"))
                r = on_properties_changed(b, m);
        else if (streq_ptr(iface, CHAIR_IFACE) && streq_ptr(member, "Finished"))
                r = on_finished(b, m);
        else if (streq_ptr(iface, "org.freedesktop.DBus.ObjectManager"))
                refresh_programs(b); /* InterfacesAdded, InterfacesRemoved: a reload changed the programs */
        if (r < 0)
                fprintf(stderr, "Cannot read chaird's signal %s: %s\n", member ?: "?", strerror(-r));
        return 0;
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        struct bridge *b = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || !streq(name, CHAIR_NAME))
                return 0;
        if (new_owner[0]) {
                fprintf(stderr, "chaird is on the bus (%s).\n", new_owner);
                b->chaird_present = true;
                b->state_known = false;
                refresh(b);
        } else {
                fprintf(stderr, "chaird left the bus.\n");
                b->chaird_present = false;
                b->state_known = false;
                publish_availability(b);
        }
        return 0;
}

/* Commands. */

static void reply(struct bridge *b, const struct request *req, const char *error, const char *message)
{
        _cleanup_json_ json_object *o = NULL;

        if (req->urgent >= 0)
                return; /* beyond the rate: sent, not answered */
        o = json_object_new_object();
        if (!o)
                return;
        if (req->id)
                json_object_object_add(o, "id", json_object_get(req->id));
        json_object_object_add(o, "ok", json_object_new_boolean(!error));
        if (error) {
                json_object_object_add(o, "error", json_object_new_string(error));
                json_object_object_add(o, "message", json_object_new_string(message ?: ""));
        }
        int r = mqtt_publish(b->mqtt, req->response_topic ?: b->topic_reply, json_text(o), false,
                             req->correlation, req->correlation_size);
        if (r < 0)
                fprintf(stderr, "Failed to publish a reply on %s: %s\n",
                        req->response_topic ?: b->topic_reply, strerror(-r));
}

static int on_call_done(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        _cleanup_(request_freep) struct request *req = userdata;
        struct bridge *b = req->bridge;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        if (req->urgent >= 0) {
                b->urgent_in_flight[req->urgent]--;
                return 0;
        }
        b->in_flight--;
        reply(b, req, e ? e->name : NULL, e ? bus_error_text(e) : NULL);
        return 0;
}

static int append_value(sd_bus_message *m, enum arg_type type, const struct command_value *v)
{
        switch (type) {
        case ARG_STRING:
                return sd_bus_message_append_basic(m, 's', v->string);
        case ARG_BOOL: {
                int x = v->boolean;
                return sd_bus_message_append_basic(m, 'b', &x);
        }
        case ARG_UINT32: {
                uint32_t x = (uint32_t) v->number;
                return sd_bus_message_append_basic(m, 'u', &x);
        }
        case ARG_UINT64:
                return sd_bus_message_append_basic(m, 't', &v->number);
        }
        return -EINVAL;
}

/* The D-Bus call of a checked command. Fails only as sd-bus does (a negative errno): what the payload could
 * get wrong, command_parse() has refused already. */
static int build_call(struct bridge *b, const struct command_request *q, sd_bus_message **ret)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        const struct command_spec *spec = &command_specs[q->command];
        int r;

        if (!spec->method) {
                r = sd_bus_message_new_method_call(b->bus, &m, CHAIR_NAME, CHAIR_PATH,
                                                   "org.freedesktop.DBus.Properties", "Set");
                if (r < 0)
                        return r;
                r = sd_bus_message_append(m, "ssv", CHAIR_IFACE, "Locked", "b", (int) q->values[0].boolean);
                if (r < 0)
                        return r;
                *ret = TAKE_PTR(m);
                return 0;
        }
        r = sd_bus_message_new_method_call(b->bus, &m, CHAIR_NAME, CHAIR_PATH, CHAIR_IFACE, spec->method);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(spec->args) && spec->args[i].key; i++) {
                if (spec->args[i].optional)
                        continue;
                r = append_value(m, spec->args[i].type, &q->values[i]);
                if (r < 0)
                        return r;
        }
        if (spec->options) {
                r = sd_bus_message_open_container(m, 'a', "{sv}");
                if (r < 0)
                        return r;
                for (size_t i = 0; i < ELEMENTSOF(spec->args) && spec->args[i].key; i++) {
                        const struct command_arg *a = &spec->args[i];
                        char sig[2] = {arg_signatures[a->type], 0};
                        if (!a->optional || !q->values[i].present)
                                continue;
                        if ((r = sd_bus_message_open_container(m, 'e', "sv")) < 0 ||
                            (r = sd_bus_message_append_basic(m, 's', a->option)) < 0 ||
                            (r = sd_bus_message_open_container(m, 'v', sig)) < 0 ||
                            (r = append_value(m, a->type, &q->values[i])) < 0 ||
                            (r = sd_bus_message_close_container(m)) < 0 ||
                            (r = sd_bus_message_close_container(m)) < 0)
                                return r;
                }
                r = sd_bus_message_close_container(m);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(m);
        return 0;
}

/* True when a command may go on now: a token bucket refilled at command_rate, twice that deep. */
static bool take_token(struct bridge *b)
{
        usec_t now = now_usec();
        double rate = b->config->command_rate, depth = 2.0 * rate;

        b->tokens += (double) (now - b->tokens_usec) * rate / (double) USEC_PER_SEC;
        if (b->tokens > depth)
                b->tokens = depth;
        b->tokens_usec = now;
        if (b->tokens < 1.0 || b->in_flight >= MAX_IN_FLIGHT)
                return false;
        b->tokens -= 1.0;
        return true;
}

static void drop(struct bridge *b, const char *why)
{
        /* The first of a run of dropped commands is logged; the count when they end: a flood never floods
         * the journal. */
        if (b->dropped++ == 0)
                fprintf(stderr, "Dropping commands: %s.\n", why);
}

static void on_command(struct bridge *b, const void *payload, size_t size, const char *response_topic,
                       const void *correlation, size_t correlation_size)
{
        _cleanup_(request_freep) struct request *req = NULL;
        _cleanup_(command_request_freep) struct command_request *q = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        if (size > b->config->max_payload) {
                drop(b, "a command larger than max-payload");
                return;
        }
        req = calloc(1, sizeof(*req));
        if (!req)
                return;
        req->bridge = b;
        req->urgent = -1;
        if (response_topic && !(req->response_topic = strdup(response_topic)))
                return;
        if (correlation && correlation_size > 0) {
                req->correlation = malloc(correlation_size);
                if (!req->correlation)
                        return;
                memcpy(req->correlation, correlation, correlation_size);
                req->correlation_size = correlation_size;
        }
        if (command_parse(payload, size, &q) < 0)
                return;
        req->id = json_object_get(q->id);
        int c = q->command;

        /* stop and emergency-stop go through whatever else comes: beyond the rate they are still sent to
         * chaird, one of each kind at a time and without a reply, so that a flood of them stays bounded too.
         */
        bool urgent = c >= 0 && command_always_allowed(c);
        if (!take_token(b)) {
                if (!urgent || b->urgent_in_flight[c] > 0) {
                        drop(b, "more than command-rate a second");
                        return;
                }
                req->urgent = c;
        }
        if (b->dropped > 1)
                fprintf(stderr, "Dropped %llu commands.\n", b->dropped);
        b->dropped = 0;

        if (c >= 0 && !b->config->allowed[c]) {
                char message[128];
                snprintf(message, sizeof(message), "%s is not among the commands this bridge accepts",
                         command_names[c]);
                reply(b, req, CHAIR_ERROR "NotPermitted", message);
                return;
        }
        if (q->error) {
                reply(b, req, q->error, q->message);
                return;
        }
        r = build_call(b, q, &m);
        if (r >= 0)
                r = sd_bus_call_async(b->bus, NULL, m, on_call_done, req, 0);
        if (r < 0) {
                reply(b, req, CHAIR_ERROR "Failed", strerror(-r));
                return;
        }
        if (req->urgent >= 0)
                b->urgent_in_flight[c]++;
        else
                b->in_flight++;
        TAKE_PTR(req); /* on_call_done replies and frees it */
}

static void on_mqtt_message(struct mqtt_client *m, const char *topic, const void *payload, size_t size,
                            const char *response_topic, const void *correlation, size_t correlation_size,
                            void *userdata)
{
        struct bridge *b = userdata;

        if (streq(topic, b->topic_command))
                on_command(b, payload, size, response_topic, correlation, correlation_size);
}

static void on_mqtt_connected(struct mqtt_client *m, void *userdata)
{
        struct bridge *b = userdata;
        int r;

        r = mqtt_subscribe(m, b->topic_command);
        if (r < 0)
                fprintf(stderr, "Failed to subscribe to %s: %s\n", b->topic_command, strerror(-r));
        publish_availability(b);
        if (b->state_known)
                publish(b, b->topic_state, json_text(b->state), true);
        publish_programs(b);
        if (b->config->home_assistant && b->state_known)
                homeassistant_publish(b->mqtt, b->config, b->state, b->programs);
}

static char *topic(const struct bridge_config *c, const char *leaf)
{
        char *t;
        if (asprintf(&t, "%s/%s/%s", c->topic_prefix, c->chair_id, leaf) < 0)
                return NULL;
        return t;
}

int bridge_new(sd_event *event, sd_bus *bus, const struct bridge_config *config, const char *password,
               struct bridge **ret)
{
        _cleanup_(bridge_freep) struct bridge *b = NULL;
        _cleanup_free_ char *client_id = NULL;
        int r;

        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->event = sd_event_ref(event);
        b->bus = sd_bus_ref(bus);
        b->config = config;
        b->tokens = 2.0 * config->command_rate;
        b->tokens_usec = now_usec();
        b->state = json_object_new_object();
        if (!b->state || !(b->topic_availability = topic(config, "availability")) ||
            !(b->topic_state = topic(config, "state")) || !(b->topic_programs = topic(config, "programs")) ||
            !(b->topic_event = topic(config, "event")) || !(b->topic_command = topic(config, "command")) ||
            !(b->topic_reply = topic(config, "reply")))
                return -ENOMEM;
        if (asprintf(&client_id, "chaird-mqtt-%s", config->chair_id) < 0)
                return -ENOMEM;

        r = sd_event_add_defer(event, &b->publish_state, on_publish_state, b);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(b->publish_state, SD_EVENT_OFF);

        struct mqtt_options o = {
                .client_id = client_id,
                .host = config->host,
                .port = config->port,
                .tls = config->tls,
                .username = config->username,
                .password = password,
                .ca_file = config->ca_file,
                .cert_file = config->cert_file,
                .key_file = config->key_file,
                .will_topic = b->topic_availability,
                .will_payload = "offline",
                .keepalive_sec = config->keepalive_sec,
                .reconnect_min_usec = USEC_PER_SEC / 2,
                .reconnect_max_usec = (usec_t) config->reconnect_max_sec * USEC_PER_SEC,
        };
        struct mqtt_callbacks cb = {.connected = on_mqtt_connected, .message = on_mqtt_message};
        r = mqtt_client_new(event, &o, &cb, b, &b->mqtt);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(b);
        return 0;
}

int bridge_start(struct bridge *b)
{
        int r;

        r = sd_bus_add_match(b->bus, &b->match_signals, "type='signal',sender='" CHAIR_NAME "'", on_signal,
                             b);
        if (r < 0)
                return r;
        r = sd_bus_add_match(b->bus, &b->match_owner,
                             "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
                             "member='NameOwnerChanged',arg0='" CHAIR_NAME "'",
                             on_owner_changed, b);
        if (r < 0)
                return r;
        /* The matches above are in place before the first GetAll: no change can fall between them. */
        b->chaird_present = true;
        refresh(b);
        return mqtt_client_start(b->mqtt);
}

void bridge_stop(struct bridge *b)
{
        mqtt_client_stop(b->mqtt, "offline");
}

struct bridge *bridge_free(struct bridge *b)
{
        if (!b)
                return NULL;
        mqtt_client_free(b->mqtt);
        sd_event_source_disable_unref(b->publish_state);
        sd_bus_slot_unref(b->match_signals);
        sd_bus_slot_unref(b->match_owner);
        sd_bus_slot_unref(b->get_all);
        sd_bus_slot_unref(b->get_objects);
        json_object_put(b->state);
        json_object_put(b->programs);
        free(b->fault);
        free(b->topic_availability);
        free(b->topic_state);
        free(b->topic_programs);
        free(b->topic_event);
        free(b->topic_command);
        free(b->topic_reply);
        sd_bus_unref(b->bus);
        sd_event_unref(b->event);
        free(b);
        return NULL;
}
