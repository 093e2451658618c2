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

int web_config_finish(struct web_config *c, const char **ret_why)
{
        const char *listen = c->listen ?: WEB_DEFAULT_LISTEN, *colon = strrchr(listen, ':');
        unsigned long long port;

        if (!colon || colon == listen || parse_unsigned(colon + 1, &port) < 0 || port == 0 || port > 65535) {
                *ret_why = "listen must be ADDRESS:PORT, e.g. 127.0.0.1:8700";
                return -EINVAL;
        }
        free(c->host);
        c->host = strndup(listen, (size_t) (colon - listen));
        if (!c->host)
                return -ENOMEM;
        c->port = (int) port;
        return 0;
}
