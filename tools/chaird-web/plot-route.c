/* plot-route.c: GET /programs/ID.svg, a program's timeline drawn for this chair (see plot-route.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "build-config.h"
#include "diag.h"
#include "files.h"
#include "plot-route.h"
#include "plot.h"
#include "program.h"
#include "timeline.h"
#include "util.h"

#define ROUTE_PREFIX "/programs/"
#define ROUTE_SUFFIX ".svg"
#define SVG_TYPE     "image/svg+xml"
/* The picture may not fetch or run anything, even opened on its own: its own inline style only. */
#define SVG_POLICY "default-src 'none'; style-src 'unsafe-inline'"

/* Pictures drawn lately, each with what it was drawn from: drawing one takes milliseconds (the config, the
 * patterns and the program parsed, the timeline compiled), checking that nothing changed microseconds. */
#define CACHE_MAX 8

struct cached {
        char *id, *fingerprint, *svg;
        size_t size;
};

struct plot_route {
        struct chair_link *link;
        const struct web_config *config;
        struct cached cache[CACHE_MAX];
        unsigned next_evicted;
};

static void cached_clear(struct cached *c)
{
        free(c->id);
        free(c->fingerprint);
        free(c->svg);
        *c = (struct cached){};
}

int plot_route_new(struct chair_link *link, const struct web_config *config, struct plot_route **ret)
{
        struct plot_route *r = calloc(1, sizeof(*r));

        if (!r)
                return -ENOMEM;
        r->link = link;
        r->config = config;
        *ret = r;
        return 0;
}

struct plot_route *plot_route_free(struct plot_route *r)
{
        if (!r)
                return NULL;
        for (size_t i = 0; i < CACHE_MAX; i++)
                cached_clear(&r->cache[i]);
        free(r);
        return NULL;
}

bool plot_route_wants(const char *url)
{
        return strncmp(url, ROUTE_PREFIX, strlen(ROUTE_PREFIX)) == 0;
}

/* The program id that url names, into id (of size ID_MAX): only ROUTE_PREFIX ID ROUTE_SUFFIX with a valid
 * id, nothing else (no '/', no '.', no '%': lws has decoded the URL already). */
#define ID_MAX 65
static bool url_id(const char *url, char id[static ID_MAX])
{
        const char *start = url + strlen(ROUTE_PREFIX);
        size_t n = strlen(start), suffix = strlen(ROUTE_SUFFIX);

        if (n <= suffix || n - suffix >= ID_MAX || !streq(start + n - suffix, ROUTE_SUFFIX))
                return false;
        memcpy(id, start, n - suffix);
        id[n - suffix] = '\0';
        return program_id_is_valid(id);
}

/* The first error of diags, for the log; or why in plain words. */
static void log_failure(const char *id, const char *what, const struct diag_list *diags, int r)
{
        for (size_t i = 0; i < diags->n; i++)
                if (diags->items[i].severity == SEVERITY_ERROR) {
                        _cleanup_free_ char *line = diag_format(&diags->items[i]);
                        fprintf(stderr, "chaird-web: /programs/%s.svg: %s\n", id, line ?: "out of memory");
                        return;
                }
        fprintf(stderr, "chaird-web: /programs/%s.svg: cannot read %s: %s\n", id, what, file_error_words(r));
}

/* The shared patterns as chaird loads them: each programs folder's patterns/, a later folder's hiding an
 * earlier one's (loaded highest priority first). A folder without patterns is no error. */
static int load_patterns(char *const *dirs, struct pattern_library *lib, struct diag_list *diags)
{
        for (size_t i = strv_length(dirs); i-- > 0;) {
                _cleanup_free_ char *path = NULL;
                int r;

                if (asprintf(&path, "%s/patterns", dirs[i]) < 0) {
                        path = NULL;
                        return -ENOMEM;
                }
                r = pattern_library_load_dir(lib, path, diags);
                if (r < 0 && r != -ENOENT)
                        return r;
        }
        return 0;
}

static char *const default_dirs[] = {(char *) STOCK_PROGRAMS_DIR, (char *) LOCAL_PROGRAMS_DIR, NULL};

/* One file as it stands: device, inode, type, size, modification and change time (a link not followed
 * unless follow; nothing opened, so a FIFO does not wait). */
static void stamp(FILE *f, const char *path, bool follow)
{
        struct stat st;

        fprintf(f, "%s=", path);
        if (fstatat(AT_FDCWD, path, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) < 0)
                fprintf(f, "-%d\n", errno);
        else
                fprintf(f, "%llu:%llu:%o:%lld:%lld.%09ld:%lld.%09ld\n", (unsigned long long) st.st_dev,
                        (unsigned long long) st.st_ino, (unsigned) st.st_mode, (long long) st.st_size,
                        (long long) st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (long long) st.st_ctim.tv_sec,
                        st.st_ctim.tv_nsec);
}

/* What a picture is drawn from, as it stands now: the program's file, the config and every pattern file. A
 * file edited, replaced, added or removed changes it. malloc'ed; NULL when out of memory. */
static char *fingerprint(const char *path, const char *config_path, char *const *dirs)
{
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                return NULL;
        stamp(f, path, false);
        stamp(f, config_path, true); /* a config is named by root: a link to it is followed */
        for (char *const *d = dirs; *d; d++) {
                _cleanup_(strv_freep) char **files = NULL;
                _cleanup_free_ char *patterns = NULL;

                if (asprintf(&patterns, "%s/patterns", *d) < 0) {
                        patterns = NULL;
                        break;
                }
                stamp(f, patterns, false);
                if (list_yaml_files(patterns, &files) >= 0)
                        for (char **p = files; *p; p++)
                                stamp(f, *p, false);
        }
        if (fclose(f) != 0)
                return mfree(text);
        return text;
}

/* Draws program id from path for the chair: the SVG in *ret (malloc'ed), 0; or -errno after logging why. */
static int draw(const struct plot_route *r, const char *id, const char *path, const char *config_path,
                char *const *dirs, char **ret, size_t *ret_size)
{
        _cleanup_(chair_config_freep) struct chair_config *config = NULL;
        _cleanup_(program_freep) struct program *p = NULL;
        _cleanup_(timeline_freep) struct timeline *t = NULL;
        struct pattern_library lib = {};
        struct diag_list diags = {};
        char *svg = NULL;
        size_t size = 0;
        FILE *f;
        int k;

        k = chair_config_load_file(config_path, &diags, &config);
        if (k < 0) {
                log_failure(id, config_path, &diags, k);
                k = -EIO; /* not the program's fault: never a 404 */
                goto done;
        }
        k = load_patterns(dirs, &lib, &diags);
        if (k < 0) {
                log_failure(id, "the patterns", &diags, k);
                k = -EIO;
                goto done;
        }
        diag_list_clear(&diags); /* a broken pattern file: chaird leaves it out too */
        k = program_load_file(path, config, &lib, &diags, &p);
        if (k < 0) {
                log_failure(id, path, &diags, k);
                goto done;
        }
        if (!streq(p->id, id)) { /* the file changed since chaird read it */
                fprintf(stderr, "chaird-web: /programs/%s.svg: %s holds another program now\n", id, path);
                k = -ENOENT;
                goto done;
        }
        k = timeline_compile(p, 0, config, &t);
        if (k < 0) {
                fprintf(stderr, "chaird-web: /programs/%s.svg: cannot compile it: %s\n", id, strerror(-k));
                goto done;
        }
        f = open_memstream(&svg, &size);
        if (!f) {
                k = -ENOMEM;
                goto done;
        }
        k = plot_svg(f, p, t, config);
        if (fclose(f) != 0 && k >= 0)
                k = -ENOMEM;
        if (k < 0) {
                svg = mfree(svg);
                fprintf(stderr, "chaird-web: /programs/%s.svg: cannot draw it: %s\n", id, strerror(-k));
                goto done;
        }
        *ret = svg;
        *ret_size = size;
done:
        pattern_library_clear(&lib);
        diag_list_clear(&diags);
        return k < 0 ? k : 0;
}

static int status(struct lws *wsi, unsigned code)
{
        if (lws_return_http_status(wsi, code, NULL) || lws_http_transaction_completed(wsi))
                return -1;
        return 0;
}

int plot_route_http(struct plot_route *r, struct lws *wsi, const char *url, char **ret_body,
                    size_t *ret_size)
{
        uint8_t buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
        const char *config_path = r->config->chair_config ?: DEFAULT_CONFIG_FILE;
        char *const *dirs = r->config->programs ?: default_dirs;
        _cleanup_free_ char *svg = NULL, *print = NULL;
        struct cached *c = NULL;
        const char *path;
        char id[ID_MAX];
        size_t size = 0;
        int k;

        *ret_body = NULL;
        *ret_size = 0;
        if (!url_id(url, id) || !(path = chair_link_program_path(r->link, id)))
                return status(wsi, HTTP_STATUS_NOT_FOUND);
        print = fingerprint(path, config_path, dirs);
        for (size_t i = 0; i < CACHE_MAX && !c; i++)
                if (streq_ptr(r->cache[i].id, id))
                        c = &r->cache[i];
        if (c && print && streq(c->fingerprint, print)) {
                svg = malloc(c->size);
                if (!svg)
                        return status(wsi, HTTP_STATUS_INTERNAL_SERVER_ERROR);
                memcpy(svg, c->svg, c->size);
                size = c->size;
        } else {
                if (c)
                        cached_clear(c);
                k = draw(r, id, path, config_path, dirs, &svg, &size);
                if (k == -ENOENT)
                        return status(wsi, HTTP_STATUS_NOT_FOUND); /* gone since chaird listed it */
                if (k < 0)
                        return status(wsi, HTTP_STATUS_INTERNAL_SERVER_ERROR);
                if (print) {
                        if (!c) {
                                c = &r->cache[r->next_evicted];
                                r->next_evicted = (r->next_evicted + 1) % CACHE_MAX;
                                cached_clear(c);
                        }
                        c->id = strdup(id);
                        c->svg = malloc(size);
                        if (c->id && c->svg) {
                                memcpy(c->svg, svg, size);
                                c->size = size;
                                c->fingerprint = TAKE_PTR(print);
                        } else
                                cached_clear(c);
                }
        }
        if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, SVG_TYPE, size, &p, end) ||
            lws_add_http_header_by_name(wsi, (const unsigned char *) "cache-control:",
                                        (const unsigned char *) "no-cache", 8, &p, end) ||
            lws_add_http_header_by_name(wsi, (const unsigned char *) "x-content-type-options:",
                                        (const unsigned char *) "nosniff", 7, &p, end) ||
            lws_add_http_header_by_name(wsi, (const unsigned char *) "content-security-policy:",
                                        (const unsigned char *) SVG_POLICY, strlen(SVG_POLICY), &p, end) ||
            lws_finalize_write_http_header(wsi, start, &p, end))
                return 1;
        *ret_body = TAKE_PTR(svg);
        *ret_size = size;
        lws_callback_on_writable(wsi);
        return 0;
}
