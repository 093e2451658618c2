/* mqtt.h: one libmosquitto connection driven by an sd-event loop (no thread), reconnecting with backoff. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "util.h"

struct mqtt_client;

/* A user name or password the broker refuses this many times in a row ends the event loop with -EACCES. */
#define MQTT_AUTH_REFUSALS_MAX 5

struct mqtt_options {
        const char *client_id;
        const char *host;
        int port;
        bool tls;
        const char *username, *password; /* borrowed */
        const char *ca_file, *cert_file, *key_file;
        const char *will_topic, *will_payload; /* the last will, retained; will_topic NULL: none */
        unsigned keepalive_sec;
        usec_t reconnect_min_usec, reconnect_max_usec;
};

struct mqtt_callbacks {
        /* The broker accepted the connection (again): subscribe and publish every retained topic. */
        void (*connected)(struct mqtt_client *m, void *userdata);
        /* A message on a subscribed topic. response_topic and correlation are the MQTT 5 properties, or
         * NULL. */
        void (*message)(struct mqtt_client *m, const char *topic, const void *payload, size_t size,
                        const char *response_topic, const void *correlation, size_t correlation_size,
                        void *userdata);
};

/* Creates the client; it connects at mqtt_client_start(). The options' strings are copied. */
int mqtt_client_new(sd_event *event, const struct mqtt_options *o, const struct mqtt_callbacks *cb,
                    void *userdata, struct mqtt_client **ret);
/* Starts connecting; a broker that is not there is retried with backoff (each failure's reason logged once
 * per change, and in the unit's STATUS). Returns 0 or a negative errno for a setting libmosquitto refuses
 * (e.g. a CA file it cannot read). */
int mqtt_client_start(struct mqtt_client *m);
bool mqtt_client_connected(const struct mqtt_client *m);

/* Publishes at QoS 1. Returns 0, -ENOTCONN while disconnected (the caller republishes its retained topics
 * at the next connection), or another negative errno. */
int mqtt_publish(struct mqtt_client *m, const char *topic, const char *payload, bool retain,
                 const void *correlation, size_t correlation_size);
int mqtt_subscribe(struct mqtt_client *m, const char *topic);

/* Publishes the will's topic with goodbye (a clean goodbye; NULL: none) and disconnects. */
void mqtt_client_stop(struct mqtt_client *m, const char *goodbye);

struct mqtt_client *mqtt_client_free(struct mqtt_client *m);
static inline void mqtt_client_freep(struct mqtt_client **m)
{
        mqtt_client_free(*m);
}

/* Once before any client, once at the end. */
int mqtt_lib_init(void);
void mqtt_lib_cleanup(void);
