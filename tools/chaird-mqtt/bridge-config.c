/* bridge-config.c: parses mqtt.yaml through schema tables (file:line:col errors) and checks the result. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bridge-config.h"
#include "schema.h"
#include "yamltree.h"

static const struct field bridge_fields[] = {
        {"broker", field_string, offsetof(struct bridge_config, broker)},
        {"chair-id", field_string, offsetof(struct bridge_config, chair_id)},
        {"username", field_string, offsetof(struct bridge_config, username)},
        {"password-file", field_string, offsetof(struct bridge_config, password_file)},
        {"ca-file", field_string, offsetof(struct bridge_config, ca_file)},
        {"cert-file", field_string, offsetof(struct bridge_config, cert_file)},
        {"key-file", field_string, offsetof(struct bridge_config, key_file)},
        {"commands", field_name_list, offsetof(struct bridge_config, commands), .names = command_names,
         .what = "command"},
        {"home-assistant", field_bool, offsetof(struct bridge_config, home_assistant)},
        {"topic-prefix", field_string, offsetof(struct bridge_config, topic_prefix)},
        {"command-rate", field_uint, offsetof(struct bridge_config, command_rate), 0, 1, 1000},
        {"max-payload", field_uint, offsetof(struct bridge_config, max_payload), 0, 1024, 64 * 1024 * 1024},
        {"keepalive", field_uint, offsetof(struct bridge_config, keepalive_sec), 0, 5, 3600},
        {"reconnect-max", field_uint, offsetof(struct bridge_config, reconnect_max_sec), 0, 1, 3600},
        {},
};

void bridge_config_init(struct bridge_config *c)
{
        *c = (struct bridge_config){
                .command_rate = BRIDGE_DEFAULT_COMMAND_RATE,
                .max_payload = BRIDGE_DEFAULT_MAX_PAYLOAD,
                .keepalive_sec = BRIDGE_DEFAULT_KEEPALIVE,
                .reconnect_max_sec = BRIDGE_DEFAULT_RECONNECT_MAX,
        };
}

void bridge_config_done(struct bridge_config *c)
{
        free(c->broker);
        free(c->chair_id);
        free(c->username);
        free(c->password_file);
        free(c->ca_file);
        free(c->cert_file);
        free(c->key_file);
        strv_free(c->commands);
        free(c->topic_prefix);
        free(c->host);
        bridge_config_init(c);
}

int bridge_config_load(struct bridge_config *c, const char *path, struct diag_list *diags)
{
        _cleanup_(ydoc_freep) struct ydoc *doc = NULL;
        int r;

        r = ydoc_load_file(path, &yload_config_limits, diags, &doc);
        if (r < 0)
                return r;
        struct parse_ctx ctx = {.file = path, .diags = diags};
        return parse_mapping(&ctx, ydoc_root(doc), "mqtt config", bridge_fields, c, NULL);
}

int broker_url_parse(const char *url, char **ret_host, int *ret_port, bool *ret_tls)
{
        const char *rest;
        bool tls;

        if (strncmp(url, "mqtt://", 7) == 0) {
                rest = url + 7;
                tls = false;
        } else if (strncmp(url, "mqtts://", 8) == 0) {
                rest = url + 8;
                tls = true;
        } else
                return -EINVAL;

        int port = tls ? 8883 : 1883;
        const char *end = rest + strcspn(rest, "/");
        if (*end == '/' && end[1] != '\0')
                return -EINVAL; /* no path */
        const char *colon;
        if (rest[0] == '[') { /* [IPv6]:port */
                const char *close = memchr(rest, ']', end - rest);
                if (!close)
                        return -EINVAL;
                colon = close[1] == ':' ? close + 1 : NULL;
                if (!colon && close + 1 != end)
                        return -EINVAL;
        } else
                colon = memchr(rest, ':', end - rest);
        const char *host_end = colon ?: end;
        if (colon) {
                unsigned long long p;
                _cleanup_free_ char *digits = strndup(colon + 1, end - colon - 1);
                if (!digits)
                        return -ENOMEM;
                if (parse_unsigned(digits, &p) < 0 || p == 0 || p > 65535)
                        return -EINVAL;
                port = (int) p;
        }
        if (rest[0] == '[') {
                rest++;
                host_end--;
        }
        if (host_end <= rest)
                return -EINVAL;
        char *host = strndup(rest, host_end - rest);
        if (!host)
                return -ENOMEM;
        *ret_host = host;
        *ret_port = port;
        *ret_tls = tls;
        return 0;
}

/* A topic level: no wildcards, no separator, not empty. */
static bool topic_level_valid(const char *s, bool allow_slash)
{
        if (!s || !*s || strlen(s) > 256)
                return false;
        for (const char *p = s; *p; p++)
                if (*p == '+' || *p == '#' || (*p == '/' && !allow_slash) || (unsigned char) *p < 0x20)
                        return false;
        return s[0] != '/' && s[strlen(s) - 1] != '/';
}

/* A chair-id is what MQTT topic levels, Home Assistant's node ids ([a-zA-Z0-9_-]) and a mosquitto ACL's %u
 * (no '+', '#', '/') all take: letters, digits, '-' and '_'. */
static bool chair_id_valid(const char *s)
{
        size_t n = strlen(s);
        return n >= 1 && n <= BRIDGE_CHAIR_ID_MAX && strspn(s, CHAIR_ID_CHARS) == n;
}

/* The host name as a chair-id: every other character ('.' of a domain, most often) becomes '-'. */
static void chair_id_from_host(char *s)
{
        for (char *p = s; *p; p++)
                if (!strchr(CHAIR_ID_CHARS, *p))
                        *p = '-';
        s[strnlen(s, BRIDGE_CHAIR_ID_MAX)] = '\0';
}

int bridge_config_finish(struct bridge_config *c, const char **ret_error)
{
        int r;

        if (!c->broker && !(c->broker = strdup(BRIDGE_DEFAULT_BROKER)))
                return -ENOMEM;
        if (!c->topic_prefix && !(c->topic_prefix = strdup(BRIDGE_DEFAULT_TOPIC_PREFIX)))
                return -ENOMEM;
        if (!c->chair_id) {
                char host[HOST_NAME_MAX + 1] = {};
                if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
                        strcpy(host, "chair");
                chair_id_from_host(host);
                if (!(c->chair_id = strdup(host)))
                        return -ENOMEM;
        }
        free(c->host);
        c->host = NULL;
        r = broker_url_parse(c->broker, &c->host, &c->port, &c->tls);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                *ret_error = "broker must be mqtt://HOST[:PORT] or mqtts://HOST[:PORT]";
                return -EINVAL;
        }
        if (!chair_id_valid(c->chair_id)) {
                *ret_error =
                        "chair-id must be 1-64 letters, digits, '-' or '_' (the characters MQTT topics, "
                        "Home Assistant's node ids and a broker ACL's %u share: a host name's '.' is not "
                        "one of them; write it as '-')";
                return -EINVAL;
        }
        if (!topic_level_valid(c->topic_prefix, true)) {
                *ret_error = "topic-prefix must be a topic without wildcards ('+', '#') or a leading or "
                             "trailing '/'";
                return -EINVAL;
        }
        if ((c->cert_file != NULL) != (c->key_file != NULL)) {
                *ret_error = "cert-file and key-file go together";
                return -EINVAL;
        }
        if ((c->ca_file || c->cert_file) && !c->tls) {
                *ret_error = "ca-file, cert-file and key-file need an mqtts:// broker";
                return -EINVAL;
        }
        if (c->password_file && !c->username) {
                *ret_error = "password-file needs a username";
                return -EINVAL;
        }
        for (int i = 0; i < _COMMAND_MAX; i++)
                c->allowed[i] = c->commands
                                        ? strv_contains((const char *const *) c->commands, command_names[i])
                                        : i != COMMAND_INSTALL;
        c->allowed[COMMAND_STOP] = c->allowed[COMMAND_EMERGENCY_STOP] = true;
        return 0;
}

int password_file_read(const char *path, char **ret)
{
        _cleanup_free_ char *line = NULL;
        struct stat st;
        size_t n = 0;

        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        FILE *f = fdopen(fd, "r");
        if (!f) {
                int e = errno;
                close(fd);
                return -e;
        }
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                fclose(f);
                return -EINVAL;
        }
        if (st.st_mode & 0077) {
                fclose(f);
                return -EPERM;
        }
        ssize_t len = getline(&line, &n, f);
        fclose(f);
        if (len <= 0)
                return -EINVAL;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
                return -EINVAL;
        *ret = TAKE_PTR(line);
        return 0;
}
