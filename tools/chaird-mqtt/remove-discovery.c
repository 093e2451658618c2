/* remove-discovery.c: the retained configs under homeassistant/+/chaird_<id>/+/config come at the
 * subscription, before a message published afterwards comes back on the same connection (a broker keeps one
 * connection's messages in order): that marker says all of them are in. A second marker, after the clears,
 * says the broker has them all. */
#include <errno.h>
#include <mosquitto.h>
#include <stdio.h>

#include "mqtt.h"
#include "remove-discovery.h"

struct remover {
        sd_event *event;
        struct mqtt_client *mqtt;
        char filter[400], marker[600], manual[600];
        const struct bridge_config *config;
        int cleared;
        bool done;
};

static void clear(struct remover *x, const char *topic)
{
        if (mqtt_publish(x->mqtt, topic, "", true, NULL, 0) >= 0)
                x->cleared++;
}

static void on_connected(struct mqtt_client *m, void *userdata)
{
        struct remover *x = userdata;
        const char *topics[] = {x->filter, x->manual, x->marker};

        for (size_t i = 0; i < ELEMENTSOF(topics); i++)
                (void) mqtt_subscribe(m, topics[i]);
        (void) mqtt_publish(m, x->marker, "retained", false, NULL, 0);
}

static void on_message(struct mqtt_client *m, const char *topic, const void *payload, size_t size,
                       const char *response_topic, const void *correlation, size_t correlation_size,
                       void *userdata)
{
        struct remover *x = userdata;
        bool match = false;

        if (streq(topic, x->marker)) {
                if (size == 8 && memcmp(payload, "retained", 8) == 0) {
                        /* The chair's own retained topics: known by name. */
                        static const char *const leaves[] = {"availability", "state", "programs", "refusal"};
                        for (size_t i = 0; i < ELEMENTSOF(leaves); i++) {
                                char t[600];
                                snprintf(t, sizeof(t), "%s/%s/%s", x->config->topic_prefix,
                                         x->config->chair_id, leaves[i]);
                                clear(x, t);
                        }
                        (void) mqtt_publish(m, x->marker, "cleared", false, NULL, 0);
                } else if (size == 7 && memcmp(payload, "cleared", 7) == 0) {
                        x->done = true;
                        (void) sd_event_exit(x->event, 0);
                }
                return;
        }
        if (size == 0)
                return; /* already clear (or our own clear coming back) */
        if (streq(topic, x->manual) ||
            (mosquitto_topic_matches_sub(x->filter, topic, &match) == MOSQ_ERR_SUCCESS && match)) {
                clear(x, topic);
                fprintf(stderr, "Cleared %s.\n", topic);
        }
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        return sd_event_exit(sd_event_source_get_event(s), -ETIMEDOUT);
}

int remove_discovery(sd_event *event, const struct bridge_config *c, const char *password,
                     unsigned timeout_sec)
{
        struct remover x = {.event = event, .config = c};
        _cleanup_(mqtt_client_freep) struct mqtt_client *m = NULL;
        _cleanup_(sd_event_source_unrefp) sd_event_source *timer = NULL;
        _cleanup_free_ char *client_id = NULL;
        int r;

        snprintf(x.filter, sizeof(x.filter), "homeassistant/+/chaird_%s/+/config", c->chair_id);
        snprintf(x.marker, sizeof(x.marker), "%s/%s/reply/chaird-mqtt-remove-discovery", c->topic_prefix,
                 c->chair_id);
        snprintf(x.manual, sizeof(x.manual), "%s/%s/ha/manual", c->topic_prefix, c->chair_id);
        if (asprintf(&client_id, "chaird-mqtt-%s-remove", c->chair_id) < 0)
                return -ENOMEM;
        struct mqtt_options o = {
                .client_id = client_id,
                .host = c->host,
                .port = c->port,
                .tls = c->tls,
                .username = c->username,
                .password = password,
                .ca_file = c->ca_file,
                .cert_file = c->cert_file,
                .key_file = c->key_file,
                .keepalive_sec = c->keepalive_sec,
                .reconnect_min_usec = USEC_PER_SEC / 2,
                .reconnect_max_usec = 2 * USEC_PER_SEC,
        };
        struct mqtt_callbacks cb = {.connected = on_connected, .message = on_message};
        r = mqtt_client_new(event, &o, &cb, &x, &m);
        if (r < 0)
                return r;
        x.mqtt = m;
        r = sd_event_add_time_relative(event, &timer, CLOCK_MONOTONIC, (usec_t) timeout_sec * USEC_PER_SEC,
                                       0, on_timeout, NULL);
        if (r < 0)
                return r;
        r = mqtt_client_start(m);
        if (r < 0)
                return r;
        r = sd_event_loop(event);
        mqtt_client_stop(m, NULL);
        if (r < 0)
                return r;
        return x.done ? x.cleared : -ETIMEDOUT;
}
