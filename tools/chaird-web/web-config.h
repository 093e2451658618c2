/* web-config.h: chaird-web's config (/etc/chaird/web.yaml): where it listens and its limits. */
#pragma once

#include <stdbool.h>

#include "diag.h"

#define WEB_DEFAULT_LISTEN       "127.0.0.1:8700" /* the chair's own screen only */
#define WEB_DEFAULT_COMMAND_RATE 20    /* commands a second per page: a held jog repeats every 100 ms */
#define WEB_DEFAULT_MAX_MESSAGE  16384 /* bytes of one WebSocket message from a page */
#define WEB_DEFAULT_LAN_LISTEN   "0.0.0.0:8701"        /* phones on the network, when lan: true */
#define WEB_DEFAULT_STATE_DIR    "/var/lib/chaird-web" /* without $STATE_DIRECTORY */

struct web_config {
        char *listen;          /* ADDR:PORT */
        unsigned command_rate; /* per page, a second; more are answered Busy */
        unsigned max_message;  /* a longer message closes the page's connection */
        bool lan;              /* also listen for paired phones on lan_listen (off by default) */
        char *lan_listen;      /* ADDR:PORT */
        char *tls_cert;        /* PEM files: the LAN listener speaks HTTPS with them (both or neither) */
        char *tls_key;
        char *chair_config; /* chaird's config, for the programs' pictures; NULL: chaird's default */
        char **programs;    /* chaird's programs folders (their patterns/); NULL: chaird's defaults */
        /* From listen and lan-listen after parsing: */
        char *host, *lan_host;
        int port, lan_port;
};

void web_config_init(struct web_config *c);
void web_config_done(struct web_config *c);
/* Reads path over the defaults: file:line:col errors into diags, -EINVAL then; -ENOENT without the file. */
int web_config_load(struct web_config *c, const char *path, struct diag_list *diags);
/* Splits listen and lan-listen into host and port, and checks that listen is a loopback address (the chair's
 * own screen: phones come through the LAN listener, paired) and that the TLS files come as a pair; -EINVAL
 * with why. */
int web_config_finish(struct web_config *c, const char **ret_why);
