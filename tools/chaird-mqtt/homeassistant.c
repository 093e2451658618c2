/* homeassistant.c: Home Assistant MQTT discovery payloads (filled in later). */
#include "homeassistant.h"

void homeassistant_publish(struct mqtt_client *m, const struct bridge_config *c, json_object *state,
                           json_object *programs)
{
}
