/* bridge.c: chaird-mqtt's transport: the chair link's state, programs, availability and events on retained
 * and plain topics; payloads of the command topic checked, rate-limited and run through the chair link,
 * whose reply goes to the reply topic (or the MQTT 5 response topic). */
#include <errno.h>
#include <stdio.h>
#include <systemd/sd-event.h>

#include "bridge.h"
#include "busjson.h"
#include "chair-link.h"
#include "command.h"
#include "homeassistant.h"
#include "mqtt.h"
#include "state-filter.h"

/* The state's exact (rounded) values go out this long after a value was last held back by its deadband. */
#define STATE_SETTLE_USEC (2 * USEC_PER_SEC)
/* A chair left alone still gets its state published this often (retained), with the exact values: Home
 * Assistant's sensors expire (expire_after) when it stops. */
#define STATE_REFRESH_USEC (300 * USEC_PER_SEC)

/* D-Bus calls waiting for chaird's answer at once; more commands are dropped like a flood. */
#define MAX_IN_FLIGHT 32

struct bridge {
        sd_event *event;
        sd_bus *bus;
        const struct bridge_config *config;
        struct mqtt_client *mqtt;
        struct chair_link *link;
        struct ha *ha;       /* NULL without home-assistant: true */
        bool programs_fresh; /* the programs were read since chaird's state was */
        char *profiles_text; /* the Profiles the discovery offers */

        char *topic_availability, *topic_state, *topic_programs, *topic_event, *topic_command, *topic_reply,
                *topic_refusal;

        /* The state topic: its analog values rounded and deadbanded, the text last sent, the timers that
         * send the exact values once they are still, and again while nothing changes. */
        struct state_filter filter;
        char *state_sent;
        sd_event_source *settle, *refresh;

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
        int urgent;  /* a stop or emergency-stop beyond the rate: no reply (enum command), or -1 */
        int command; /* enum command, or -1 when the payload names none */
        char *response_topic;
        void *correlation;
        size_t correlation_size;
};

static struct request *request_free(struct request *r)
{
        if (!r)
                return NULL;
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

static void publish_availability(struct bridge *b)
{
        publish(b, b->topic_availability, chair_link_available(b->link) ? "online" : "offline", true);
}

static void publish_home_assistant(struct bridge *b, bool force)
{
        /* Only from what chaird says now: after a restart of chaird, its state and its programs read afresh
         * (its config may have lost a heat zone, its program directory a program). */
        if (b->ha && chair_link_available(b->link) && b->programs_fresh)
                homeassistant_publish(b->ha, chair_link_state(b->link), chair_link_programs(b->link), force);
}

/* The profile select's options follow Profiles. */
static void profiles_follow(struct bridge *b, json_object *state)
{
        json_object *profiles;

        if (!b->ha || !json_object_object_get_ex(state, "Profiles", &profiles))
                return;
        const char *text = json_text(profiles);
        if (streq_ptr(text, b->profiles_text))
                return;
        free(b->profiles_text);
        b->profiles_text = strdup(text);
        publish_home_assistant(b, false);
}

static void arm(struct bridge *b, sd_event_source **s, usec_t usec, sd_event_time_handler_t handler)
{
        if (!*s) {
                if (sd_event_add_time_relative(b->event, s, CLOCK_MONOTONIC, usec, USEC_PER_SEC / 10,
                                               handler, b) < 0)
                        fprintf(stderr, "Failed to plan a state refresh.\n");
                return;
        }
        (void) sd_event_source_set_time_relative(*s, usec);
        (void) sd_event_source_set_enabled(*s, SD_EVENT_ONESHOT);
}

static int on_settle(sd_event_source *s, uint64_t usec, void *userdata);
static int on_refresh(sd_event_source *s, uint64_t usec, void *userdata);

/* The state topic: sent when its (filtered) text changed, or always when exact (the values as they are). */
static void publish_state(struct bridge *b, bool exact)
{
        json_object *state = chair_link_state(b->link);
        bool held = false;

        if (!state)
                return;
        _cleanup_json_ json_object *out = state_filter_apply(&b->filter, state, exact, &held);
        if (!out)
                return;
        const char *text = json_text(out);
        if (held)
                arm(b, &b->settle, STATE_SETTLE_USEC, on_settle); /* again after the last held change */
        if (!exact && b->state_sent && streq(text, b->state_sent))
                return;
        free(b->state_sent);
        b->state_sent = strdup(text);
        if (mqtt_client_connected(b->mqtt))
                arm(b, &b->refresh, STATE_REFRESH_USEC, on_refresh);
        publish(b, b->topic_state, text, true);
}

static int on_settle(sd_event_source *s, uint64_t usec, void *userdata)
{
        publish_state(userdata, true);
        return 0;
}

static int on_refresh(sd_event_source *s, uint64_t usec, void *userdata)
{
        publish_state(userdata, true);
        return 0;
}

static void on_state_changed(struct chair_link *l, json_object *state, void *userdata)
{
        struct bridge *b = userdata;

        publish_state(b, false);
        profiles_follow(b, state);
}

static void on_programs_changed(struct chair_link *l, json_object *programs, void *userdata)
{
        struct bridge *b = userdata;

        publish(b, b->topic_programs, json_text(programs), true);
        b->programs_fresh = true;
        publish_home_assistant(b, false);
}

static void on_event(struct chair_link *l, json_object *event, void *userdata)
{
        struct bridge *b = userdata;

        publish(b, b->topic_event, json_text(event), false);
}

static void on_availability(struct chair_link *l, bool available, void *userdata)
{
        struct bridge *b = userdata;

        publish_availability(b);
        /* The state read afresh may name other zones or presets than before; it goes out even when it is
         * the same as before chaird left. The programs are read again too (a restarted chaird). */
        if (available)
                publish_state(b, true);
        else
                b->programs_fresh = false;
        publish_home_assistant(b, false);
}

/* Commands. */

/* A refused command, whoever sent it: an event ("refused", for Home Assistant's event entity) and the
 * retained last refusal (its state sensor's attributes). */
static void publish_refusal(struct bridge *b, int command, json_object *reply)
{
        json_object *error, *message, *id;

        if (!reply || !json_object_object_get_ex(reply, "error", &error))
                return;
        _cleanup_json_ json_object *o = json_object_new_object();
        if (!o)
                return;
        json_object_object_add(o, "event", json_object_new_string("refused"));
        json_object_object_add(o, "command",
                               command >= 0 && command < _COMMAND_MAX
                                       ? json_object_new_string(command_names[command])
                                       : NULL);
        json_object_object_add(o, "error", json_object_get(error));
        if (json_object_object_get_ex(reply, "message", &message))
                json_object_object_add(o, "message", json_object_get(message));
        if (json_object_object_get_ex(reply, "id", &id))
                json_object_object_add(o, "id", json_object_get(id));
        publish(b, b->topic_event, json_text(o), false);
        json_object_object_del(o, "event");
        publish(b, b->topic_refusal, json_text(o), true);
}

static void reply(struct bridge *b, const struct request *req, json_object *o)
{
        publish_refusal(b, req->command, o);
        if (req->urgent >= 0 || !o)
                return; /* beyond the rate: sent, not answered */
        int r = mqtt_publish(b->mqtt, req->response_topic ?: b->topic_reply, json_text(o), false,
                             req->correlation, req->correlation_size);
        if (r < 0)
                fprintf(stderr, "Failed to publish a reply on %s: %s\n",
                        req->response_topic ?: b->topic_reply, strerror(-r));
}

static void reply_error(struct bridge *b, const struct request *req, json_object *id, const char *error,
                        const char *message)
{
        _cleanup_json_ json_object *o = command_reply_new(id, error, message, NULL);

        reply(b, req, o);
}

static void on_call_done(struct chair_link *l, json_object *o, void *userdata)
{
        reply(((struct request *) userdata)->bridge, userdata, o);
}

/* After the reply, or when the bridge is freed with the call under way. */
static void on_call_over(void *userdata)
{
        struct request *req = userdata;
        struct bridge *b = req->bridge;

        if (req->urgent >= 0)
                b->urgent_in_flight[req->urgent]--;
        else
                b->in_flight--;
        request_free(req);
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
        req->command = _COMMAND_INVALID;
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
        int c = req->command = q->command;

        /* stop and emergency-stop go through whatever else comes: beyond the rate they are still sent to
         * chaird, one of each kind at a time and without a reply, so that a flood of them stays bounded
         * too. */
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
                reply_error(b, req, q->id, CHAIRD_ERROR_PREFIX "NotPermitted", message);
                return;
        }
        if (q->error) {
                reply_error(b, req, q->id, q->error, q->message);
                return;
        }
        r = chair_link_call(b->link, q, on_call_done, on_call_over, req, NULL);
        if (r < 0) {
                reply_error(b, req, q->id, CHAIRD_ERROR_PREFIX "Failed", strerror(-r));
                return;
        }
        if (req->urgent >= 0)
                b->urgent_in_flight[c]++;
        else
                b->in_flight++;
        TAKE_PTR(req); /* on_call_done replies, on_call_over frees it */
}

static void on_mqtt_message(struct mqtt_client *m, const char *topic, const void *payload, size_t size,
                            const char *response_topic, const void *correlation, size_t correlation_size,
                            void *userdata)
{
        struct bridge *b = userdata;

        if (streq(topic, b->topic_command)) {
                on_command(b, payload, size, response_topic, correlation, correlation_size);
                return;
        }
        if (b->ha) {
                _cleanup_free_ char *command = NULL;
                bool republish;
                if (!homeassistant_message(b->ha, topic, payload, size, &republish, &command))
                        return;
                if (republish) {
                        fprintf(stderr, "Home Assistant came online: publishing the discovery again.\n");
                        publish_home_assistant(b, true);
                }
                if (command)
                        on_command(b, command, strlen(command), NULL, NULL, 0);
        }
}

static void on_mqtt_connected(struct mqtt_client *m, void *userdata)
{
        struct bridge *b = userdata;
        int r;

        r = mqtt_subscribe(m, b->topic_command);
        if (r < 0)
                fprintf(stderr, "Failed to subscribe to %s: %s\n", b->topic_command, strerror(-r));
        publish_availability(b);
        publish_state(b, true);
        if (chair_link_programs(b->link))
                publish(b, b->topic_programs, json_text(chair_link_programs(b->link)), true);
        if (b->ha)
                homeassistant_connected(b->ha);
        publish_home_assistant(b, true);
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
        if (!(b->topic_availability = topic(config, "availability")) ||
            !(b->topic_state = topic(config, "state")) || !(b->topic_programs = topic(config, "programs")) ||
            !(b->topic_event = topic(config, "event")) || !(b->topic_command = topic(config, "command")) ||
            !(b->topic_reply = topic(config, "reply")) || !(b->topic_refusal = topic(config, "refusal")))
                return -ENOMEM;
        if (asprintf(&client_id, "chaird-mqtt-%s", config->chair_id) < 0)
                return -ENOMEM;

        struct chair_link_callbacks lcb = {
                .state_changed = on_state_changed,
                .programs_changed = on_programs_changed,
                .event = on_event,
                .availability = on_availability,
        };
        r = chair_link_new(event, bus, &lcb, b, &b->link);
        if (r < 0)
                return r;

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
        if (config->home_assistant) {
                r = homeassistant_new(b->mqtt, config, &b->ha);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(b);
        return 0;
}

int bridge_start(struct bridge *b)
{
        int r;

        r = chair_link_start(b->link);
        if (r < 0)
                return r;
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
        chair_link_free(b->link); /* its calls under way are cancelled: their requests freed */
        homeassistant_free(b->ha);
        free(b->profiles_text);
        mqtt_client_free(b->mqtt);
        free(b->topic_availability);
        free(b->topic_state);
        free(b->topic_programs);
        free(b->topic_event);
        free(b->topic_command);
        free(b->topic_reply);
        free(b->topic_refusal);
        sd_event_source_disable_unref(b->settle);
        sd_event_source_disable_unref(b->refresh);
        state_filter_done(&b->filter);
        free(b->state_sent);
        sd_bus_unref(b->bus);
        sd_event_unref(b->event);
        free(b);
        return NULL;
}
