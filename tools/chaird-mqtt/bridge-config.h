/* bridge-config.h: chaird-mqtt's configuration (/etc/chaird/mqtt.yaml), its defaults and the broker URL. */
#pragma once

#include <stdbool.h>

#include "command.h"
#include "diag.h"

struct bridge_config {
        char *broker; /* mqtt://host[:port] or mqtts://host[:port] */
        char *chair_id;
        char *username;
        char *password_file;
        char *ca_file;
        char *cert_file;
        char *key_file;
        char **commands; /* NULL: the default (every command but install) */
        bool home_assistant;
        char *topic_prefix;
        unsigned command_rate;      /* commands a second a remote client may send (a burst of twice that) */
        unsigned max_payload;       /* bytes; a larger command is dropped */
        unsigned keepalive_sec;     /* the MQTT keep-alive */
        unsigned reconnect_max_sec; /* the longest wait between reconnection attempts */

        /* Derived by bridge_config_finish(). */
        char *host;
        int port;
        bool tls;
        bool allowed[_COMMAND_MAX];
};

#define BRIDGE_DEFAULT_BROKER        "mqtt://localhost"
#define BRIDGE_DEFAULT_TOPIC_PREFIX  "chaird"
#define BRIDGE_DEFAULT_COMMAND_RATE  10
#define BRIDGE_DEFAULT_MAX_PAYLOAD   (2u * 1024u * 1024u)
#define BRIDGE_DEFAULT_KEEPALIVE     60
#define BRIDGE_DEFAULT_RECONNECT_MAX 30
#define BRIDGE_CHAIR_ID_MAX          64
#define CHAIR_ID_CHARS               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"

void bridge_config_init(struct bridge_config *c);
void bridge_config_done(struct bridge_config *c);

/* Reads path into c. Returns 0; -EINVAL with diagnostics in diags; -errno when the file cannot be read. */
int bridge_config_load(struct bridge_config *c, const char *path, struct diag_list *diags);

/* Fills in what was not given (chair id from the host name, its characters other than a chair-id's made '-')
 * and checks and splits the broker URL. Returns 0, or -EINVAL with a message in *ret_error (static text or
 * NULL). */
int bridge_config_finish(struct bridge_config *c, const char **ret_error);

/* Parses "mqtt://host[:port]" or "mqtts://host[:port]"; *ret_host is newly allocated. -EINVAL when bad. */
int broker_url_parse(const char *url, char **ret_host, int *ret_port, bool *ret_tls);

/* Reads the password (its first line) from path, which must not be readable by group or others. -EPERM when
 * it is, -errno when it cannot be read, -EINVAL when empty. */
int password_file_read(const char *path, char **ret);
