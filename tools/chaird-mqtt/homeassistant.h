/* homeassistant.h: Home Assistant's MQTT discovery: one device per chair, its entities on the bridge's
 * topics; what no longer exists is cleared. */
#pragma once

#include <json-c/json.h>

#include "bridge-config.h"
#include "mqtt.h"

/* Home Assistant's birth (and last will) topic. */
#define HA_STATUS_TOPIC "homeassistant/status"

struct ha;

int homeassistant_new(struct mqtt_client *m, const struct bridge_config *c, struct ha **ret);
struct ha *homeassistant_free(struct ha *h);

/* After each connection: subscribes to the retained configs under the chair's node, to Home Assistant's
 * birth message and to the manual draft's topic. */
void homeassistant_connected(struct ha *h);

/* Publishes (retained) the discovery config of every entity under homeassistant/ and clears the configs
 * retained there that no longer name an entity. Waits for both state and programs (NULL: nothing yet).
 * Configs that did not change since the last round are not sent again, unless force. */
void homeassistant_publish(struct ha *h, json_object *state, json_object *programs, bool force);

/* A message on one of the subscribed topics. Returns false when it is not Home Assistant's. *ret_republish:
 * Home Assistant came online (publish again, forced); *ret_command: a command to run (the manual draft's
 * start), to be freed. */
bool homeassistant_message(struct ha *h, const char *topic, const void *payload, size_t size,
                           bool *ret_republish, char **ret_command);
