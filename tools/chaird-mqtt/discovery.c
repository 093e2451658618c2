/* discovery.c: the set of discovery configs this chair has retained. The broker tells what earlier runs
 * left (the retained configs under the chair's node id, read through a subscription at each connection);
 * each round of publishing names what exists now; the rest is cleared with an empty retained message. */
#include <errno.h>
#include <mosquitto.h>
#include <stdio.h>
#include <string.h>

#include "busjson.h"
#include "discovery.h"

struct discovery {
        struct mqtt_client *mqtt;
        char *filter;
        json_object *published; /* topic -> payload of the last round (or the one under way) */
        json_object *previous;  /* during a round: the round before's */
        json_object *seen;      /* retained configs the broker has that no round has published yet */
        bool rounded;           /* a round has ended: what it did not publish is stale */
        bool in_round, force;
};

int discovery_new(struct mqtt_client *m, const char *node, struct discovery **ret)
{
        struct discovery *d = calloc(1, sizeof(*d));

        if (!d)
                return -ENOMEM;
        d->mqtt = m;
        d->published = json_object_new_object();
        d->seen = json_object_new_object();
        if (asprintf(&d->filter, "homeassistant/+/%s/+/config", node) < 0)
                d->filter = NULL;
        if (!d->published || !d->seen || !d->filter) {
                discovery_free(d);
                return -ENOMEM;
        }
        *ret = d;
        return 0;
}

struct discovery *discovery_free(struct discovery *d)
{
        if (!d)
                return NULL;
        json_object_put(d->published);
        json_object_put(d->previous);
        json_object_put(d->seen);
        free(d->filter);
        free(d);
        return NULL;
}

const char *discovery_filter(const struct discovery *d)
{
        return d->filter;
}

static void clear(struct discovery *d, const char *topic)
{
        int r = mqtt_publish(d->mqtt, topic, "", true, NULL, 0);
        if (r < 0 && r != -ENOTCONN)
                fprintf(stderr, "Failed to clear %s: %s\n", topic, strerror(-r));
        else if (r >= 0)
                fprintf(stderr, "Cleared %s: its entity no longer exists.\n", topic);
}

void discovery_begin(struct discovery *d, bool force)
{
        json_object_put(d->previous);
        d->previous = d->published;
        d->published = json_object_new_object();
        d->in_round = true;
        d->force = force;
}

void discovery_publish(struct discovery *d, const char *topic, const char *payload)
{
        json_object *old = NULL;

        if (!d->in_round || !d->published)
                return;
        bool same = !d->force && d->previous && json_object_object_get_ex(d->previous, topic, &old) &&
                    streq(json_object_get_string(old), payload);
        int r = same ? 0 : mqtt_publish(d->mqtt, topic, payload, true, NULL, 0);
        if (r < 0 && r != -ENOTCONN)
                fprintf(stderr, "Failed to publish %s: %s\n", topic, strerror(-r));
        if (r >= 0)
                json_object_object_add(d->published, topic, json_object_new_string(payload));
}

void discovery_end(struct discovery *d)
{
        if (!d->in_round)
                return;
        d->in_round = false;
        if (!d->published) { /* out of memory: nothing is known to be stale */
                d->published = d->previous;
                d->previous = NULL;
                return;
        }
        d->rounded = true;
        for (json_object *set = d->previous; set; set = set == d->previous ? d->seen : NULL) {
                json_object_object_foreach(set, topic, payload)
                {
                        (void) payload;
                        if (!json_object_object_get_ex(d->published, topic, NULL))
                                clear(d, topic);
                }
        }
        json_object_put(d->previous);
        d->previous = NULL;
        json_object_put(d->seen);
        d->seen = json_object_new_object();
}

void discovery_reset(struct discovery *d)
{
        /* Keep what was published as "seen": if the broker still has it and the next round does not
         * publish it, it is cleared. */
        json_object_object_foreach(d->published, topic, payload)
        {
                (void) payload;
                if (d->seen)
                        json_object_object_add(d->seen, topic, json_object_new_boolean(true));
        }
        json_object_put(d->published);
        d->published = json_object_new_object();
        d->rounded = false;
}

bool discovery_message(struct discovery *d, const char *topic, const void *payload, size_t size)
{
        bool match = false;

        if (mosquitto_topic_matches_sub(d->filter, topic, &match) != MOSQ_ERR_SUCCESS || !match)
                return false;
        if (size == 0) { /* cleared: by us, or by Home Assistant when its user deleted the device */
                if (d->seen)
                        json_object_object_del(d->seen, topic);
                return true;
        }
        if (d->published && json_object_object_get_ex(d->published, topic, NULL))
                return true; /* ours, as published (or on its way) */
        if (d->rounded && !d->in_round)
                clear(d, topic);
        else if (d->seen)
                json_object_object_add(d->seen, topic, json_object_new_boolean(true));
        return true;
}
