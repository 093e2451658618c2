/* homeassistant.h: Home Assistant's MQTT discovery: one device per chair, its entities on the bridge's
 * topics. */
#pragma once

#include <json-c/json.h>

#include "bridge-config.h"
#include "mqtt.h"

/* Publishes (retained) the discovery config of every entity under homeassistant/. state and programs (may be
 * NULL) give the zones, presets and program ids the selects offer. */
void homeassistant_publish(struct mqtt_client *m, const struct bridge_config *c, json_object *state,
                           json_object *programs);
