/* server.c: libwebsockets on a libuv loop inside sd-event; the page from memory, the bridges' JSON at /api.
 */
#include <errno.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "busjson.h"
#include "command.h"
#include "plot-route.h"
#include "server.h"
#include "util.h"

#define PAGE_FILE_MAX    (1024 * 1024) /* a file of the page, at most */
#define PAGE_QUEUE_MAX   64            /* replies and events waiting for a page that reads slowly */
#define PAGE_CALLS_MAX   16            /* commands of one page under way at once */
#define HTTP_CHUNK_BYTES 4096

/* The page: every file it has, by the URL that serves it. Nothing else is served. */
static const struct {
        const char *url, *file, *type;
} page_files[] = {
        {"/", "index.html", "text/html; charset=utf-8"},
        {"/app.js", "app.js", "text/javascript; charset=utf-8"},
        {"/style.css", "style.css", "text/css; charset=utf-8"},
};

struct page;

/* A command of a page under way: the page may close before chaird answers. */
struct pending {
        struct page *page;
        struct chair_call *call;
};

/* One WebSocket connection (libwebsockets' per-session data). */
struct page {
        struct web_server *server;
        struct lws *wsi;
        struct page *next;
        bool want_available, want_programs, want_state; /* the latest goes out, however often it changed */
        char *queue[PAGE_QUEUE_MAX];                    /* replies and events, in order */
        size_t n_queue;
        char *rx; /* a message coming in fragments */
        size_t rx_len;
        double tokens; /* the command rate's bucket */
        usec_t tokens_usec;
        struct pending *calls[PAGE_CALLS_MAX];
};

/* One HTTP request for a file of the page, or for a body made for it (plot-route.c's picture). */
struct http {
        int file;   /* index into page_files */
        char *made; /* or this, of made_size bytes */
        size_t made_size;
        size_t sent;
};

struct web_server {
        sd_event *event;
        struct chair_link *link;
        const struct web_config *config;
        char *body[ELEMENTSOF(page_files)];
        size_t size[ELEMENTSOF(page_files)];
        uv_loop_t uv;
        bool uv_ready;
        sd_event_source *uv_io, *uv_timer, *uv_post;
        struct lws_context *lws;
        struct page *pages;
        unsigned n_pages;
        struct plot_route *plot; /* /programs/ID.svg */
};

/* --- libuv inside sd-event: its backend fd and its next timeout --- */

static void uv_rearm(struct web_server *s)
{
        int timeout = uv_backend_timeout(&s->uv);
        uint64_t now;

        if (timeout < 0 || sd_event_now(s->event, CLOCK_MONOTONIC, &now) < 0) {
                (void) sd_event_source_set_enabled(s->uv_timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time(s->uv_timer, now + (uint64_t) timeout * USEC_PER_MSEC);
        (void) sd_event_source_set_enabled(s->uv_timer, SD_EVENT_ONESHOT);
}

static void uv_turn(struct web_server *s)
{
        uv_run(&s->uv, UV_RUN_NOWAIT);
        uv_rearm(s);
}

static int on_uv_io(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
        uv_turn(userdata);
        return 0;
}

static int on_uv_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
        uv_turn(userdata);
        return 0;
}

/* After anything else the loop did (a D-Bus signal that asked a page to be written): libuv applies the
 * changes of interest it queued and services what is ready, without waiting. */
static int on_uv_post(sd_event_source *source, void *userdata)
{
        uv_turn(userdata);
        return 0;
}

/* --- pages --- */

static int queue_text(struct page *p, const char *text)
{
        if (p->n_queue == PAGE_QUEUE_MAX)
                return -ENOBUFS;
        p->queue[p->n_queue] = strdup(text);
        if (!p->queue[p->n_queue])
                return -ENOMEM;
        p->n_queue++;
        lws_callback_on_writable(p->wsi);
        return 0;
}

/* A reply or an event: its own keys, with "type". */
static int queue_object(struct page *p, const char *type, json_object *o)
{
        _cleanup_json_ json_object *m = json_object_new_object();

        if (!m)
                return -ENOMEM;
        json_object_object_add(m, "type", json_object_new_string(type));
        json_object_object_foreach(o, key, value) json_object_object_add(m, key, json_object_get(value));
        return queue_text(p, json_text(m));
}

static void page_refuse(struct page *p, json_object *id, const char *error, const char *message)
{
        _cleanup_json_ json_object *reply = command_reply_new(id, error, message, NULL);

        if (reply && queue_object(p, "reply", reply) == -ENOBUFS)
                lws_set_timeout(p->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC); /* not reading: gone */
}

static void on_reply(struct chair_link *l, json_object *reply, void *userdata)
{
        struct pending *c = userdata;

        if (queue_object(c->page, "reply", reply) == -ENOBUFS)
                lws_set_timeout(c->page->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

static void pending_free(void *userdata)
{
        struct pending *c = userdata;

        for (size_t i = 0; i < PAGE_CALLS_MAX; i++)
                if (c->page->calls[i] == c)
                        c->page->calls[i] = NULL;
        free(c);
}

static bool take_token(struct page *p)
{
        usec_t now = now_usec();
        double rate = p->server->config->command_rate;

        p->tokens += (double) (now - p->tokens_usec) / USEC_PER_SEC * rate;
        if (p->tokens > rate)
                p->tokens = rate;
        p->tokens_usec = now;
        if (p->tokens < 1.0)
                return false;
        p->tokens -= 1.0;
        return true;
}

static void page_command(struct page *p, const char *text, size_t size)
{
        _cleanup_(command_request_freep) struct command_request *q = NULL;
        struct pending *c;
        size_t slot;
        int r;

        if (command_parse(text, size, &q) < 0)
                return;
        /* Stop and emergency stop always go through: beyond the rate, and however many are under way. */
        bool urgent = q->command >= 0 && command_always_allowed(q->command);
        if (!take_token(p) && !urgent) {
                char message[96];
                snprintf(message, sizeof(message), "more than %u commands a second",
                         p->server->config->command_rate);
                page_refuse(p, q->id, CHAIR_ERROR "Busy", message);
                return;
        }
        if (q->error) {
                page_refuse(p, q->id, q->error, q->message);
                return;
        }
        for (slot = 0; slot < PAGE_CALLS_MAX && p->calls[slot]; slot++)
                ;
        if (slot == PAGE_CALLS_MAX && !urgent) {
                page_refuse(p, q->id, CHAIR_ERROR "Busy", "too many commands under way");
                return;
        }
        c = calloc(1, sizeof(*c));
        if (!c)
                return;
        c->page = p;
        r = chair_link_call(p->server->link, q, on_reply, pending_free, c, &c->call);
        if (r < 0) {
                free(c);
                page_refuse(p, q->id, CHAIR_ERROR "Failed", strerror(-r));
                return;
        }
        if (slot < PAGE_CALLS_MAX)
                p->calls[slot] = c;
}

static void page_closed(struct page *p)
{
        struct web_server *s = p->server;

        for (struct page **pp = &s->pages; *pp; pp = &(*pp)->next)
                if (*pp == p) {
                        *pp = p->next;
                        s->n_pages--;
                        break;
                }
        /* What it asked is still done; nobody hears the answer. */
        for (size_t i = 0; i < PAGE_CALLS_MAX; i++)
                if (p->calls[i])
                        chair_call_cancel(p->calls[i]->call); /* pending_free clears the slot */
        for (size_t i = 0; i < p->n_queue; i++)
                free(p->queue[i]);
        p->n_queue = 0;
        p->rx = mfree(p->rx);
}

/* The next message for a page, most urgent first: whether chaird is there, the programs, the state, then
 * replies and events in order. malloc'ed, or NULL when there is none. */
static char *page_next(struct page *p)
{
        struct web_server *s = p->server;
        _cleanup_json_ json_object *m = NULL;

        if (p->want_available) {
                p->want_available = false;
                m = json_object_new_object();
                json_object_object_add(m, "type", json_object_new_string("availability"));
                json_object_object_add(m, "available",
                                       json_object_new_boolean(chair_link_available(s->link)));
                return strdup(json_text(m));
        }
        if (p->want_programs && chair_link_programs(s->link)) {
                p->want_programs = false;
                m = json_object_new_object();
                json_object_object_add(m, "type", json_object_new_string("programs"));
                json_object_object_add(m, "programs", json_object_get(chair_link_programs(s->link)));
                return strdup(json_text(m));
        }
        if (p->want_state && chair_link_state(s->link)) {
                p->want_state = false;
                m = json_object_new_object();
                json_object_object_add(m, "type", json_object_new_string("state"));
                json_object_object_add(m, "state", json_object_get(chair_link_state(s->link)));
                return strdup(json_text(m));
        }
        if (p->n_queue == 0)
                return NULL;
        char *text = p->queue[0];
        memmove(p->queue, p->queue + 1, (--p->n_queue) * sizeof(*p->queue));
        return text;
}

static int page_write(struct page *p)
{
        _cleanup_free_ char *text = page_next(p);
        _cleanup_free_ unsigned char *buf = NULL;
        size_t len;

        if (!text)
                return 0;
        len = strlen(text);
        buf = malloc(LWS_PRE + len);
        if (!buf)
                return -1;
        memcpy(buf + LWS_PRE, text, len);
        if (lws_write(p->wsi, buf + LWS_PRE, len, LWS_WRITE_TEXT) < (int) len)
                return -1;
        if (p->want_available || p->want_programs || p->want_state || p->n_queue > 0)
                lws_callback_on_writable(p->wsi);
        return 0;
}

/* Only /api, and from a page this server served: a browser's Origin must name the host it asked. */
static bool connection_allowed(struct lws *wsi)
{
        char uri[64] = "", origin[256] = "", host[256] = "";

        if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 || !streq(uri, "/api"))
                return false;
        if (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) <= 0)
                return true; /* not a browser (a local script): the chair's own machine is trusted */
        if (lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) <= 0)
                return false;
        const char *rest = strncmp(origin, "http://", 7) == 0 ? origin + 7 : NULL;
        return rest && streq(rest, host);
}

static int on_websocket(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
        struct web_server *s = lws_context_user(lws_get_context(wsi));
        struct page *p = user;

        switch (reason) {
        case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
                return connection_allowed(wsi) ? 0 : 1;
        case LWS_CALLBACK_ESTABLISHED:
                *p = (struct page){.server = s,
                                   .wsi = wsi,
                                   .next = s->pages,
                                   .want_available = true,
                                   .want_programs = true,
                                   .want_state = true,
                                   .tokens = s->config->command_rate,
                                   .tokens_usec = now_usec()};
                s->pages = p;
                s->n_pages++;
                lws_callback_on_writable(wsi);
                return 0;
        case LWS_CALLBACK_RECEIVE: {
                if (p->rx_len + len > s->config->max_message) {
                        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
                        return -1;
                }
                char *rx = realloc(p->rx, p->rx_len + len + 1);
                if (!rx)
                        return -1;
                p->rx = rx;
                memcpy(p->rx + p->rx_len, in, len);
                p->rx_len += len;
                if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0)
                        return 0;
                page_command(p, p->rx, p->rx_len);
                p->rx = mfree(p->rx);
                p->rx_len = 0;
                return 0;
        }
        case LWS_CALLBACK_SERVER_WRITEABLE:
                return page_write(p);
        case LWS_CALLBACK_CLOSED:
                page_closed(p);
                return 0;
        default:
                return 0;
        }
}

/* --- the page's files --- */

static int on_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
        struct web_server *s = lws_context_user(lws_get_context(wsi));
        struct http *h = user;
        uint8_t buf[LWS_PRE + HTTP_CHUNK_BYTES], *start = buf + LWS_PRE, *p = start,
                                                 *end = buf + sizeof(buf) - 1;

        switch (reason) {
        case LWS_CALLBACK_HTTP: {
                const char *url = in;
                h->file = -1;
                h->made = mfree(h->made);
                h->sent = 0;
                if (plot_route_wants(url))
                        return plot_route_http(s->plot, wsi, url, &h->made, &h->made_size);
                for (size_t i = 0; i < ELEMENTSOF(page_files); i++)
                        if (streq(url, page_files[i].url))
                                h->file = (int) i;
                if (h->file < 0) {
                        if (lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL) ||
                            lws_http_transaction_completed(wsi))
                                return -1;
                        return 0;
                }
                h->sent = 0;
                if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, page_files[h->file].type,
                                                s->size[h->file], &p, end) ||
                    lws_add_http_header_by_name(wsi, (const unsigned char *) "cache-control:",
                                                (const unsigned char *) "no-cache", 8, &p, end) ||
                    lws_add_http_header_by_name(wsi, (const unsigned char *) "x-content-type-options:",
                                                (const unsigned char *) "nosniff", 7, &p, end) ||
                    lws_finalize_write_http_header(wsi, start, &p, end))
                        return 1;
                lws_callback_on_writable(wsi);
                return 0;
        }
        case LWS_CALLBACK_HTTP_WRITEABLE: {
                if (h->file < 0 && !h->made)
                        return -1;
                const char *body = h->made ?: s->body[h->file];
                size_t size = h->made ? h->made_size : s->size[h->file];
                size_t left = size - h->sent, n = left < HTTP_CHUNK_BYTES ? left : HTTP_CHUNK_BYTES;
                memcpy(start, body + h->sent, n);
                if (lws_write(wsi, start, n, n == left ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int) n)
                        return 1;
                h->sent += n;
                if (h->sent < size) {
                        lws_callback_on_writable(wsi);
                        return 0;
                }
                h->made = mfree(h->made);
                return lws_http_transaction_completed(wsi) ? -1 : 0;
        }
        case LWS_CALLBACK_CLOSED_HTTP:
                if (h)
                        h->made = mfree(h->made); /* closed before it was all sent */
                return 0;
        default:
                return lws_callback_http_dummy(wsi, reason, user, in, len);
        }
}

static const struct lws_protocols protocols[] = {
        {"http", on_http, sizeof(struct http), 0, 0, NULL, 0},
        {"chaird", on_websocket, sizeof(struct page), 0, 0, NULL, 0},
        {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void lws_log_line(int level, const char *line)
{
        fprintf(stderr, "libwebsockets: %s", line); /* the line ends with its own newline */
}

/* --- the server --- */

int web_server_new(sd_event *event, struct chair_link *link, const struct web_config *config,
                   const char *page_dir, struct web_server **ret)
{
        struct web_server *s = calloc(1, sizeof(*s));
        struct lws_context_creation_info info = {};
        void *loops[1];
        int r;

        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(event);
        s->link = link;
        s->config = config;
        r = plot_route_new(link, config, &s->plot);
        if (r < 0) {
                web_server_free(s);
                return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(page_files); i++) {
                _cleanup_free_ char *path = NULL;
                if (asprintf(&path, "%s/%s", page_dir, page_files[i].file) < 0) {
                        path = NULL;
                        web_server_free(s);
                        return -ENOMEM;
                }
                r = read_file(path, PAGE_FILE_MAX, &s->body[i]);
                if (r < 0) {
                        fprintf(stderr, "chaird-web: cannot read %s: %s\n", path, file_error_words(r));
                        web_server_free(s);
                        return r;
                }
                s->size[i] = (size_t) r;
        }
        r = uv_loop_init(&s->uv);
        if (r < 0) {
                web_server_free(s);
                return -EIO;
        }
        s->uv_ready = true;
        if ((r = sd_event_add_io(event, &s->uv_io, uv_backend_fd(&s->uv), EPOLLIN, on_uv_io, s)) < 0 ||
            (r = sd_event_add_time(event, &s->uv_timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_uv_timer, s)) <
                    0 ||
            (r = sd_event_add_post(event, &s->uv_post, on_uv_post, s)) < 0) {
                web_server_free(s);
                return r;
        }
        lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_line);
        loops[0] = &s->uv;
        info.port = config->port;
        info.iface = config->host;
        info.protocols = protocols;
        info.options = LWS_SERVER_OPTION_LIBUV;
        if (!strchr(config->host, ':'))
                info.options |= LWS_SERVER_OPTION_DISABLE_IPV6; /* an IPv4 address to listen on */
        info.foreign_loops = loops;
        info.pcontext = &s->lws;
        info.user = s;
        info.timeout_secs = 10;
        s->lws = lws_create_context(&info);
        if (!s->lws) {
                fprintf(stderr, "chaird-web: cannot listen on %s:%d\n", config->host, config->port);
                web_server_free(s);
                return -EADDRNOTAVAIL;
        }
        uv_rearm(s);
        *ret = s;
        return 0;
}

static void close_handle(uv_handle_t *h, void *userdata)
{
        if (!uv_is_closing(h))
                uv_close(h, NULL);
}

struct web_server *web_server_free(struct web_server *s)
{
        if (!s)
                return NULL;
        if (s->lws) {
                /* On a loop it was given, libwebsockets 4.1 goes in two calls: the first closes its libuv
                 * handles, the loop runs until they are closed, the second frees the rest (and clears s->lws
                 * through pcontext). */
                lws_context_destroy(s->lws);
                for (int i = 0; i < 100 && uv_run(&s->uv, UV_RUN_NOWAIT); i++)
                        ;
                if (s->lws)
                        lws_context_destroy(s->lws);
        }
        if (s->uv_ready) {
                uv_walk(&s->uv, close_handle, NULL); /* anything left */
                uv_run(&s->uv, UV_RUN_DEFAULT);
        }
        sd_event_source_disable_unref(s->uv_io);
        sd_event_source_disable_unref(s->uv_timer);
        sd_event_source_disable_unref(s->uv_post);
        if (s->uv_ready)
                (void) uv_loop_close(&s->uv);
        for (size_t i = 0; i < ELEMENTSOF(page_files); i++)
                free(s->body[i]);
        plot_route_free(s->plot);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

void web_server_state_changed(struct web_server *s)
{
        for (struct page *p = s->pages; p; p = p->next) {
                p->want_state = true;
                lws_callback_on_writable(p->wsi);
        }
}

void web_server_programs_changed(struct web_server *s)
{
        for (struct page *p = s->pages; p; p = p->next) {
                p->want_programs = true;
                lws_callback_on_writable(p->wsi);
        }
}

void web_server_event(struct web_server *s, json_object *event)
{
        for (struct page *p = s->pages; p; p = p->next)
                if (queue_object(p, "event", event) == -ENOBUFS)
                        lws_set_timeout(p->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

void web_server_availability(struct web_server *s)
{
        for (struct page *p = s->pages; p; p = p->next) {
                p->want_available = true;
                p->want_state = true;
                lws_callback_on_writable(p->wsi);
        }
}

unsigned web_server_pages(const struct web_server *s)
{
        return s->n_pages;
}
