/* ws-echo: a bare WebSocket echo on libwebsockets' own loop, the floor of bench/web.py: what a message from
 * the browser to a server of the same library and back costs with nothing behind it. Each message is sent
 * back as it came (the browser sends the next only after the answer). Usage: ws-echo PORT (on 127.0.0.1);
 * it runs until it is killed. */
#include <libwebsockets.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ECHO_MAX 4096

struct echo {
        size_t len;
        bool pending;
        unsigned char buf[LWS_PRE + ECHO_MAX];
};

static int on_echo(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
        struct echo *e = user;

        switch (reason) {
        case LWS_CALLBACK_RECEIVE:
                if (e->pending || !lws_is_final_fragment(wsi) || len > ECHO_MAX)
                        return -1; /* the bench sends short messages one at a time */
                memcpy(e->buf + LWS_PRE, in, len);
                e->len = len;
                e->pending = true;
                lws_callback_on_writable(wsi);
                return 0;
        case LWS_CALLBACK_SERVER_WRITEABLE:
                if (!e->pending)
                        return 0;
                e->pending = false;
                return lws_write(wsi, e->buf + LWS_PRE, e->len, LWS_WRITE_TEXT) < (int) e->len ? -1 : 0;
        default:
                return 0;
        }
}

static const struct lws_protocols protocols[] = {
        {"echo", on_echo, sizeof(struct echo), ECHO_MAX, 0, NULL, 0},
        {NULL, NULL, 0, 0, 0, NULL, 0},
};

int main(int argc, char **argv)
{
        struct lws_context_creation_info info = {};
        struct lws_context *ctx;

        if (argc != 2 || atoi(argv[1]) <= 0 || atoi(argv[1]) > 65535) {
                fprintf(stderr, "Usage: ws-echo PORT\n");
                return 2;
        }
        lws_set_log_level(LLL_ERR, NULL);
        info.port = atoi(argv[1]);
        info.iface = "127.0.0.1";
        info.protocols = protocols;
        info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
        ctx = lws_create_context(&info);
        if (!ctx) {
                fprintf(stderr, "ws-echo: cannot listen on 127.0.0.1:%s\n", argv[1]);
                return 1;
        }
        while (lws_service(ctx, 0) >= 0)
                ;
        lws_context_destroy(ctx);
        return 0;
}
