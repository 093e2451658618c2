/* web-config.c: web.yaml through schema tables, with file:line:col errors. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"
#include "web-config.h"
#include "yamltree.h"

static const struct field web_fields[] = {
        {"listen", field_string, offsetof(struct web_config, listen)},
        {"command-rate", field_uint, offsetof(struct web_config, command_rate), 0, 1, 1000},
        {"max-message", field_uint, offsetof(struct web_config, max_message), 0, 1024, 1024 * 1024},
        {"lan", field_bool, offsetof(struct web_config, lan)},
        {"lan-listen", field_string, offsetof(struct web_config, lan_listen)},
        {"tls-cert", field_string, offsetof(struct web_config, tls_cert)},
        {"tls-key", field_string, offsetof(struct web_config, tls_key)},
        {"chair-config", field_string, offsetof(struct web_config, chair_config)},
        {},
};

void web_config_init(struct web_config *c)
{
        *c = (struct web_config){.command_rate = WEB_DEFAULT_COMMAND_RATE,
                                 .max_message = WEB_DEFAULT_MAX_MESSAGE};
}

void web_config_done(struct web_config *c)
{
        free(c->listen);
        free(c->host);
        free(c->lan_listen);
        free(c->lan_host);
        free(c->tls_cert);
        free(c->tls_key);
        free(c->chair_config);
        strv_free(c->programs);
        web_config_init(c);
}

int web_config_load(struct web_config *c, const char *path, struct diag_list *diags)
{
        _cleanup_(ydoc_freep) struct ydoc *doc = NULL;
        int r = ydoc_load_file(path, &yload_config_limits, diags, &doc);

        if (r < 0)
                return r;
        struct parse_ctx ctx = {.file = path, .diags = diags};
        return parse_mapping(&ctx, ydoc_root(doc), "web config", web_fields, c, NULL);
}

/* ADDR:PORT into its parts. */
static int split_listen(const char *listen, char **ret_host, int *ret_port)
{
        const char *colon = strrchr(listen, ':');
        unsigned long long port;

        if (!colon || colon == listen || parse_unsigned(colon + 1, &port) < 0 || port == 0 || port > 65535)
                return -EINVAL;
        free(*ret_host);
        *ret_host = strndup(listen, (size_t) (colon - listen));
        if (!*ret_host)
                return -ENOMEM;
        *ret_port = (int) port;
        return 0;
}

static bool is_loopback(const char *host)
{
        return streq(host, "localhost") || streq(host, "::1") || strncmp(host, "127.", 4) == 0;
}

int web_config_finish(struct web_config *c, const char **ret_why)
{
        int r = split_listen(c->listen ?: WEB_DEFAULT_LISTEN, &c->host, &c->port);

        if (r < 0) {
                *ret_why = "listen must be ADDRESS:PORT, e.g. 127.0.0.1:8700";
                return r;
        }
        if (!is_loopback(c->host)) {
                *ret_why = "listen is for the chair's own screen and must be a loopback address "
                           "(127.0.0.1:8700); phones on the network come through lan: true and lan-listen, "
                           "paired";
                return -EINVAL;
        }
        if (!c->tls_cert != !c->tls_key) {
                *ret_why = "tls-cert and tls-key go together: give both or neither";
                return -EINVAL;
        }
        if (!c->lan)
                return 0;
        r = split_listen(c->lan_listen ?: WEB_DEFAULT_LAN_LISTEN, &c->lan_host, &c->lan_port);
        if (r < 0) {
                *ret_why = "lan-listen must be ADDRESS:PORT, e.g. 0.0.0.0:8701";
                return r;
        }
        if (streq(c->lan_host, c->host) && c->lan_port == c->port) {
                *ret_why = "lan-listen must differ from listen";
                return -EINVAL;
        }
        return 0;
}
