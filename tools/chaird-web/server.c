/* server.c: libwebsockets on a libuv loop inside sd-event; the page from memory, the bridges' JSON at
 * /api. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "busjson.h"
#include "command.h"
#include "pairing.h"
#include "plot-route.h"
#include "schema.h"
#include "server.h"
#include "util.h"

#define PAGE_FILE_MAX    (1024 * 1024) /* a file of the page, at most */
#define PAGE_QUEUE_MAX   64            /* replies and events waiting for a page that reads slowly */
#define PAGE_CALLS_MAX   16            /* commands of one page under way at once */
#define HTTP_CHUNK_BYTES 4096
#define PAIR_BODY_MAX    1024 /* bytes of a phone's POST /pair */
#define TOKEN_COOKIE     "chaird-token"
#define TOKEN_MAX_AGE    "31536000" /* a year; the panel revokes sooner */

/* The page: every file it has, by the URL that serves it. Nothing else is served. A phone on the LAN that
 * is not paired gets only the pairing page (also as the body of every 401). */
#define PAIR_PAGE 3
static const struct {
        const char *url, *file, *type;
} page_files[] = {
        {"/", "index.html", "text/html; charset=utf-8"},
        {"/app.js", "app.js", "text/javascript; charset=utf-8"},
        {"/style.css", "style.css", "text/css; charset=utf-8"},
        [PAIR_PAGE] = {"/pair", "pair.html", "text/html; charset=utf-8"},
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
        bool lan;                                       /* came through the LAN listener: a paired phone */
        char phone[PAIRING_ID_CHARS + 1];               /* which, "" on the chair's own screen */
        bool want_web;                                  /* chaird-web's own news: LAN, paired phones */
        bool want_available, want_programs, want_state; /* the latest goes out, however often it changed */
        char *queue[PAGE_QUEUE_MAX];                    /* replies and events, in order */
        size_t n_queue;
        char *rx; /* a message coming in fragments */
        size_t rx_len;
        double tokens; /* the command rate's bucket */
        usec_t tokens_usec;
        struct pending *calls[PAGE_CALLS_MAX];
};

/* One HTTP request: for a file of the page, or a phone's POST /pair. */
struct http {
        const char *data; /* what is sent: a page file's body, or reply */
        size_t size, sent;
        char *reply;  /* an answer of its own (POST /pair), malloc'ed */
        bool pairing; /* a phone's POST /pair: its body is read */
        char body[PAIR_BODY_MAX + 1];
        size_t body_len;
        bool body_too_long;
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
        struct lws_vhost *local, *lan; /* the chair's own screen; phones (NULL without lan: true) */
        struct pairing *pairing;       /* NULL without lan: true */
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

static void web_server_phones_changed(struct web_server *s);

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

/* chaird-web's own commands, for the panel on the chair's screen: a pairing code, the paired phones, and
 * revoking one. A phone may use none of them. Returns whether q was one of them (and was answered). */
static bool page_own_command(struct page *p, struct command_request *q)
{
        struct web_server *s = p->server;
        json_object *name_o = NULL, *id_o = NULL;
        const char *name;

        if (q->command >= 0 || !q->root || !json_object_object_get_ex(q->root, "command", &name_o) ||
            !json_object_is_type(name_o, json_type_string))
                return false;
        name = json_object_get_string(name_o);
        if (!streq(name, "pair-code") && !streq(name, "phones") && !streq(name, "unpair"))
                return false;
        if (p->lan) {
                page_refuse(p, q->id, CHAIRD_ERROR_PREFIX "NotPermitted",
                            "only the chair's own screen pairs phones");
                return true;
        }
        if (!s->pairing) {
                page_refuse(p, q->id, CHAIRD_ERROR_PREFIX "NotSupported",
                            "phones are off: lan: true in web.yaml");
                return true;
        }
        _cleanup_json_ json_object *result = NULL, *reply = NULL;
        if (streq(name, "pair-code")) {
                char code[PAIRING_CODE_DIGITS + 1];
                usec_t now = now_usec(), expires;
                int r = pairing_new_code(s->pairing, now, code, &expires);
                if (r < 0) {
                        page_refuse(p, q->id, CHAIRD_ERROR_PREFIX "Failed", strerror(-r));
                        return true;
                }
                result = json_object_new_object();
                json_object_object_add(result, "code", json_object_new_string(code));
                json_object_object_add(result, "expires-in-usec",
                                       json_object_new_int64((int64_t) (expires - now)));
        } else if (streq(name, "phones")) {
                result = pairing_list(s->pairing);
        } else {
                if (!json_object_object_get_ex(q->root, "phone", &id_o) ||
                    !json_object_is_type(id_o, json_type_string)) {
                        page_refuse(p, q->id, CHAIRD_ERROR_PREFIX "InvalidArgument",
                                    "unpair needs \"phone\": its id (a string)");
                        return true;
                }
                const char *id = json_object_get_string(id_o);
                int r = pairing_revoke(s->pairing, id);
                if (r == -ENOENT) {
                        page_refuse(p, q->id, CHAIRD_ERROR_PREFIX "InvalidArgument",
                                    "no phone of that id is paired");
                        return true;
                }
                if (r < 0) {
                        page_refuse(p, q->id, CHAIRD_ERROR_PREFIX "Failed", strerror(-r));
                        return true;
                }
                /* Its pages go at once: the token is no longer good. */
                for (struct page *o = s->pages; o; o = o->next)
                        if (o->lan && streq(o->phone, id))
                                lws_set_timeout(o->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
                web_server_phones_changed(s);
        }
        reply = command_reply_new(q->id, NULL, NULL, result);
        if (reply)
                (void) queue_object(p, "reply", reply);
        return true;
}

/* The child lock holds for a phone whatever user chaird-web runs as (chaird lets root through): while the
 * chair is locked a phone may stop it, lock it and read, nothing else; unlocking is for the chair's
 * screen. */
static bool phone_locked_out(struct web_server *s, const struct command_request *q)
{
        json_object *state = chair_link_state(s->link), *locked = NULL, *value = NULL;

        if (!state || !json_object_object_get_ex(state, "Locked", &locked) ||
            !json_object_get_boolean(locked))
                return false;
        switch (q->command) {
        case COMMAND_STOP:
        case COMMAND_EMERGENCY_STOP:
        case COMMAND_GET_PROFILE:
        case COMMAND_HISTORY:
                return false;
        case COMMAND_LOCK:
                return !json_object_object_get_ex(q->root, "locked", &value) ||
                       !json_object_get_boolean(value);
        default:
                return true;
        }
}

static void page_command(struct page *p, const char *text, size_t size)
{
        _cleanup_(command_request_freep) struct command_request *q = NULL;
        struct pending *c;
        size_t slot;
        int r;

        if (command_parse(text, size, &q) < 0)
                return;
        if (page_own_command(p, q))
                return;
        /* Stop and emergency stop always go through: beyond the rate, and however many are under way. */
        bool urgent = q->command >= 0 && command_always_allowed(q->command);
        if (!take_token(p) && !urgent) {
                char message[96];
                snprintf(message, sizeof(message), "more than %u commands a second",
                         p->server->config->command_rate);
                page_refuse(p, q->id, CHAIRD_ERROR_PREFIX "Busy", message);
                return;
        }
        if (q->error) {
                page_refuse(p, q->id, q->error, q->message);
                return;
        }
        if (p->lan && phone_locked_out(p->server, q)) {
                page_refuse(p, q->id, CHAIRD_ERROR_PREFIX "Locked",
                            "the chair is locked (child lock): it is unlocked on the chair's own screen");
                return;
        }
        for (slot = 0; slot < PAGE_CALLS_MAX && p->calls[slot]; slot++)
                ;
        if (slot == PAGE_CALLS_MAX && !urgent) {
                page_refuse(p, q->id, CHAIRD_ERROR_PREFIX "Busy", "too many commands under way");
                return;
        }
        c = calloc(1, sizeof(*c));
        if (!c)
                return;
        c->page = p;
        r = chair_link_call(p->server->link, q, on_reply, pending_free, c, &c->call);
        if (r < 0) {
                free(c);
                page_refuse(p, q->id, CHAIRD_ERROR_PREFIX "Failed", strerror(-r));
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

        if (p->want_web) {
                p->want_web = false;
                m = json_object_new_object();
                json_object_object_add(m, "type", json_object_new_string("web"));
                json_object_object_add(m, "lan", json_object_new_boolean(s->pairing != NULL));
                json_object_object_add(m, "phone", json_object_new_boolean(p->lan));
                if (!p->lan && s->pairing)
                        json_object_object_add(m, "phones", pairing_list(s->pairing));
                return strdup(json_text(m));
        }
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
        if (p->want_web || p->want_available || p->want_programs || p->want_state || p->n_queue > 0)
                lws_callback_on_writable(p->wsi);
        return 0;
}

/* Whether a request came through the LAN listener (a phone), not the chair's own screen. */
static bool on_lan(struct web_server *s, struct lws *wsi)
{
        return s->lan && lws_get_vhost(wsi) == s->lan;
}

/* The paired phone a LAN request comes from, by its token cookie: its id (copied into id), or false. */
static bool request_phone(struct web_server *s, struct lws *wsi, char id[PAIRING_ID_CHARS + 1])
{
        char token[PAIRING_TOKEN_CHARS + 2];
        size_t max = sizeof(token);
        const char *found;

        if (!s->pairing || lws_http_cookie_get(wsi, TOKEN_COOKIE, token, &max) != 0)
                return false;
        token[sizeof(token) - 1] = '\0';
        found = pairing_check(s->pairing, token);
        explicit_bzero(token, sizeof(token));
        if (found && id)
                strcpy(id, found);
        return found != NULL;
}

/* A browser's Origin must name the scheme and host it asked (a page this server served). A client without
 * one (a script on the chair's own machine) is let in on the local listener only: a phone is a browser. */
static bool origin_allowed(struct web_server *s, struct lws *wsi, bool lan)
{
        char origin[256] = "", host[256] = "";
        const char *scheme = lan && s->config->tls_cert ? "https://" : "http://";

        if (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) <= 0)
                return !lan;
        if (lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) <= 0)
                return false;
        return strncmp(origin, scheme, strlen(scheme)) == 0 && streq(origin + strlen(scheme), host);
}

/* Only /api, from a page this server served, and on the LAN from a paired phone. */
static bool connection_allowed(struct web_server *s, struct lws *wsi)
{
        char uri[64] = "";
        bool lan = on_lan(s, wsi);

        if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 || !streq(uri, "/api"))
                return false;
        if (lan && !request_phone(s, wsi, NULL))
                return false;
        return origin_allowed(s, wsi, lan);
}

static int on_websocket(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
        struct web_server *s = lws_context_user(lws_get_context(wsi));
        struct page *p = user;

        switch (reason) {
        case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
                if (connection_allowed(s, wsi))
                        return 0;
                (void) lws_return_http_status(
                        wsi, on_lan(s, wsi) ? HTTP_STATUS_UNAUTHORIZED : HTTP_STATUS_FORBIDDEN, NULL);
                return 1;
        case LWS_CALLBACK_ESTABLISHED: {
                char phone[PAIRING_ID_CHARS + 1] = "";
                bool lan = on_lan(s, wsi);
                if (lan && !request_phone(s, wsi, phone))
                        return -1; /* checked before; revoked since */
                *p = (struct page){.server = s,
                                   .wsi = wsi,
                                   .next = s->pages,
                                   .lan = lan,
                                   .want_web = true,
                                   .want_available = true,
                                   .want_programs = true,
                                   .want_state = true,
                                   .tokens = s->config->command_rate,
                                   .tokens_usec = now_usec()};
                strcpy(p->phone, phone);
                s->pages = p;
                s->n_pages++;
                lws_callback_on_writable(wsi);
                return 0;
        }
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
                if (p->server) /* not a connection refused before it was established */
                        page_closed(p);
                return 0;
        default:
                return 0;
        }
}

/* --- the page's files, and pairing --- */

/* Answers a request with data (borrowed: it must outlive the request) and, when cookie, a Set-Cookie. */
static int http_send(struct lws *wsi, struct http *h, unsigned status, const char *type, const char *data,
                     size_t size, const char *cookie)
{
        uint8_t buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;

        h->data = data;
        h->size = size;
        h->sent = 0;
        if (lws_add_http_common_headers(wsi, status, type, size, &p, end) ||
            lws_add_http_header_by_name(wsi, (const unsigned char *) "cache-control:",
                                        (const unsigned char *) "no-cache", 8, &p, end) ||
            lws_add_http_header_by_name(wsi, (const unsigned char *) "x-content-type-options:",
                                        (const unsigned char *) "nosniff", 7, &p, end) ||
            (cookie && lws_add_http_header_by_name(
                               wsi, (const unsigned char *) "set-cookie:", (const unsigned char *) cookie,
                               (int) strlen(cookie), &p, end)) ||
            lws_finalize_write_http_header(wsi, start, &p, end))
                return 1;
        lws_callback_on_writable(wsi);
        return 0;
}

static int http_refuse(struct lws *wsi, unsigned status)
{
        if (lws_return_http_status(wsi, status, NULL) || lws_http_transaction_completed(wsi))
                return -1;
        return 0;
}

/* A phone's POST /pair, {"code":"123456","name":"Anna's phone"}: the token as a cookie, or why not. */
static int pair_answer(struct web_server *s, struct lws *wsi, struct http *h)
{
        _cleanup_json_ json_object *in = NULL, *out = json_object_new_object();
        char token[PAIRING_TOKEN_CHARS + 1], id[PAIRING_ID_CHARS + 1], cookie[192] = "";
        json_object *code = NULL, *name = NULL;
        const char *message = NULL;
        unsigned status = HTTP_STATUS_OK;
        int r;

        if (!out)
                return -1;
        h->body[h->body_len] = '\0';
        if (!h->body_too_long)
                in = json_tokener_parse(h->body);
        if (!in || !json_object_object_get_ex(in, "code", &code) ||
            !json_object_is_type(code, json_type_string) ||
            (json_object_object_get_ex(in, "name", &name) && !json_object_is_type(name, json_type_string))) {
                status = HTTP_STATUS_BAD_REQUEST;
                message = "send {\"code\": the six digits the chair's screen shows, \"name\": this phone's "
                          "name}";
        } else {
                r = pairing_pair(s->pairing, now_usec(), json_object_get_string(code),
                                 name ? json_object_get_string(name) : NULL, token, id);
                if (r == -EACCES) {
                        status = HTTP_STATUS_FORBIDDEN;
                        message = "that is not the code the chair's screen shows";
                } else if (r == -ETIME) {
                        status = HTTP_STATUS_FORBIDDEN;
                        message = "no code is open: ask the chair's screen for a new one";
                } else if (r == -ENOSPC) {
                        status = HTTP_STATUS_CONFLICT;
                        message = "the chair has as many phones as it keeps: remove one on its screen";
                } else if (r < 0) {
                        status = HTTP_STATUS_INTERNAL_SERVER_ERROR;
                        message = strerror(-r);
                } else {
                        snprintf(cookie, sizeof(cookie),
                                 TOKEN_COOKIE "=%s; Path=/; Max-Age=" TOKEN_MAX_AGE
                                              "; HttpOnly; SameSite=Strict%s",
                                 token, s->config->tls_cert ? "; Secure" : "");
                        explicit_bzero(token, sizeof(token));
                        fprintf(stderr, "chaird-web: a phone paired (id %s)\n", id);
                        web_server_phones_changed(s);
                }
        }
        json_object_object_add(out, "ok", json_object_new_boolean(status == HTTP_STATUS_OK));
        if (message)
                json_object_object_add(out, "message", json_object_new_string(message));
        h->reply = strdup(json_text(out));
        if (!h->reply)
                return -1;
        r = http_send(wsi, h, status, "application/json", h->reply, strlen(h->reply),
                      cookie[0] ? cookie : NULL);
        explicit_bzero(cookie, sizeof(cookie));
        return r;
}

static int on_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
        struct web_server *s = lws_context_user(lws_get_context(wsi));
        struct http *h = user;
        uint8_t buf[LWS_PRE + HTTP_CHUNK_BYTES], *start = buf + LWS_PRE;

        switch (reason) {
        case LWS_CALLBACK_HTTP: {
                const char *url = in;
                bool lan = on_lan(s, wsi);
                int file = -1;
                free(h->reply);
                *h = (struct http){};
                /* A phone not paired: the pairing page, as the answer to anything but pairing. */
                if (lan && !request_phone(s, wsi, NULL) && !streq(url, "/pair"))
                        return http_send(wsi, h, HTTP_STATUS_UNAUTHORIZED, page_files[PAIR_PAGE].type,
                                         s->body[PAIR_PAGE], s->size[PAIR_PAGE], NULL);
                if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0) {
                        /* The only POST: a phone pairing. Its body comes next. */
                        if (lan && streq(url, "/pair") && origin_allowed(s, wsi, true)) {
                                h->pairing = true;
                                return 0;
                        }
                        return http_refuse(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED);
                }
                if (plot_route_wants(url)) {
                        char *svg = NULL;
                        size_t size = 0;
                        /* h is not touched after an error status: completing the transaction may free it. */
                        int r = plot_route_http(s->plot, wsi, url, &svg, &size);
                        if (svg) { /* the headers are written: the picture follows */
                                h->reply = svg;
                                h->data = svg;
                                h->size = size;
                        }
                        return r;
                }
                for (size_t i = 0; i < ELEMENTSOF(page_files); i++)
                        if (streq(url, page_files[i].url))
                                file = (int) i;
                if (file < 0)
                        return http_refuse(wsi, HTTP_STATUS_NOT_FOUND);
                return http_send(wsi, h, HTTP_STATUS_OK, page_files[file].type, s->body[file], s->size[file],
                                 NULL);
        }
        case LWS_CALLBACK_HTTP_BODY:
                if (!h->pairing)
                        return 0; /* a body nobody asked for (its request was answered) */
                if (h->body_len + len > PAIR_BODY_MAX)
                        h->body_too_long = true;
                else {
                        memcpy(h->body + h->body_len, in, len);
                        h->body_len += len;
                }
                return 0;
        case LWS_CALLBACK_HTTP_BODY_COMPLETION:
                if (!h->pairing)
                        return 0;
                return pair_answer(s, wsi, h);
        case LWS_CALLBACK_HTTP_WRITEABLE: {
                if (!h->data)
                        return -1;
                size_t left = h->size - h->sent, n = left < HTTP_CHUNK_BYTES ? left : HTTP_CHUNK_BYTES;
                memcpy(start, h->data + h->sent, n);
                if (lws_write(wsi, start, n, n == left ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int) n)
                        return 1;
                h->sent += n;
                if (h->sent < h->size) {
                        lws_callback_on_writable(wsi);
                        return 0;
                }
                h->data = NULL;
                h->reply = mfree(h->reply);
                return lws_http_transaction_completed(wsi) ? -1 : 0;
        }
        case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        case LWS_CALLBACK_CLOSED_HTTP:
                if (h)
                        h->reply = mfree(h->reply);
                return lws_callback_http_dummy(wsi, reason, user, in, len);
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

/* A listener: the chair's own screen, or with tls the phones' (HTTPS when cert is given). */
static struct lws_vhost *listen_on(struct web_server *s, const char *name, const char *host, int port,
                                   const char *cert, const char *key)
{
        struct lws_context_creation_info info = {};
        struct lws_vhost *vh;

        info.vhost_name = name;
        info.port = port;
        info.iface = host;
        info.protocols = protocols;
        info.alpn = "http/1.1"; /* the WebSocket as a plain upgrade, not over HTTP/2 */
        if (!strchr(host, ':'))
                info.options |= LWS_SERVER_OPTION_DISABLE_IPV6; /* an IPv4 address to listen on */
        if (cert) /* libwebsockets 4.1 reads it per vhost: without it, the files are ignored and it speaks
                     HTTP */
                info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = cert;
        info.ssl_private_key_filepath = key;
        info.user = s;
        vh = lws_create_vhost(s->lws, &info);
        if (!vh)
                fprintf(stderr, "chaird-web: cannot listen on %s:%d%s\n", host, port,
                        cert ? " (or its tls-cert and tls-key cannot be read)" : "");
        return vh;
}

/* Whether addr is host:port (a numeric address, or localhost). */
static bool address_is(const struct sockaddr_storage *addr, const char *host, int port)
{
        struct in_addr a4;
        struct in6_addr a6;

        if (addr->ss_family == AF_INET) {
                const struct sockaddr_in *in = (const struct sockaddr_in *) addr;
                if (streq(host, "localhost"))
                        (void) inet_pton(AF_INET, "127.0.0.1", &a4);
                else if (inet_pton(AF_INET, host, &a4) != 1)
                        return false;
                return ntohs(in->sin_port) == port && in->sin_addr.s_addr == a4.s_addr;
        }
        if (addr->ss_family == AF_INET6) {
                const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) addr;
                if (inet_pton(AF_INET6, streq(host, "localhost") ? "::1" : host, &a6) != 1)
                        return false;
                return ntohs(in6->sin6_port) == port && memcmp(&in6->sin6_addr, &a6, sizeof(a6)) == 0;
        }
        return false;
}

/* Every socket this process listens on is one the config names: libwebsockets 4.1 finds a listen address
 * through getifaddrs(), and where that fails (a sandbox without AF_NETLINK) it listens on every address
 * instead, which would put the unpaired page on the network. 0, or -EADDRNOTAVAIL with the culprit said. */
static int check_listening(const struct web_config *config)
{
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        int r = 0;

        if (!d)
                return -errno;
        while (r == 0 && (de = readdir(d))) {
                struct sockaddr_storage addr = {};
                socklen_t len = sizeof(addr);
                unsigned long long n;
                int fd, listening = 0;
                socklen_t optlen = sizeof(listening);
                char shown[INET6_ADDRSTRLEN] = "?";
                struct stat st;

                if (parse_unsigned(de->d_name, &n) < 0 || n > INT_MAX || (fd = (int) n) == dirfd(d) ||
                    fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode) ||
                    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optlen) < 0 || !listening ||
                    getsockname(fd, (struct sockaddr *) &addr, &len) < 0 ||
                    (addr.ss_family != AF_INET && addr.ss_family != AF_INET6))
                        continue;
                if (address_is(&addr, config->host, config->port) ||
                    (config->lan && address_is(&addr, config->lan_host, config->lan_port)))
                        continue;
                if (addr.ss_family == AF_INET)
                        inet_ntop(AF_INET, &((struct sockaddr_in *) &addr)->sin_addr, shown, sizeof(shown));
                else
                        inet_ntop(AF_INET6, &((struct sockaddr_in6 *) &addr)->sin6_addr, shown,
                                  sizeof(shown));
                fprintf(stderr,
                        "chaird-web: libwebsockets listens on %s port %d, not where the config says "
                        "(%s:%d%s%s%s): not serving (can it list the network interfaces? AF_NETLINK)\n",
                        shown,
                        addr.ss_family == AF_INET ? ntohs(((struct sockaddr_in *) &addr)->sin_port)
                                                  : ntohs(((struct sockaddr_in6 *) &addr)->sin6_port),
                        config->host, config->port, config->lan ? ", " : "",
                        config->lan ? config->lan_host : "", config->lan ? " for phones" : "");
                r = -EADDRNOTAVAIL;
        }
        closedir(d);
        return r;
}

int web_server_new(sd_event *event, struct chair_link *link, const struct web_config *config,
                   struct pairing *pairing, const char *page_dir, struct web_server **ret)
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
        s->pairing = pairing;
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
        info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
        if (config->lan && config->tls_cert)
                info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.foreign_loops = loops;
        info.pcontext = &s->lws;
        info.user = s;
        info.timeout_secs = 10;
        s->lws = lws_create_context(&info);
        if (!s->lws) {
                fprintf(stderr, "chaird-web: cannot set up libwebsockets\n");
                web_server_free(s);
                return -EIO;
        }
        s->local = listen_on(s, "local", config->host, config->port, NULL, NULL);
        if (s->local && config->lan)
                s->lan = listen_on(s, "lan", config->lan_host, config->lan_port, config->tls_cert,
                                   config->tls_key);
        if (!s->local || (config->lan && !s->lan) || (r = check_listening(config)) < 0) {
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

/* The panels hear of a phone paired or revoked (their list of phones). */
static void web_server_phones_changed(struct web_server *s)
{
        for (struct page *p = s->pages; p; p = p->next)
                if (!p->lan) {
                        p->want_web = true;
                        lws_callback_on_writable(p->wsi);
                }
}

unsigned web_server_pages(const struct web_server *s)
{
        return s->n_pages;
}
