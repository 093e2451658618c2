/* mqtt.c: libmosquitto on sd-event: an io source on mosquitto_socket(), writes when it wants to write, a
 * timer for its keep-alive, and a reconnect timer with exponential backoff. */
#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netdb.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <systemd/sd-daemon.h>

#include "mqtt.h"

struct mqtt_client {
        sd_event *event;
        struct mosquitto *mosq;
        struct mqtt_callbacks cb;
        void *userdata;

        char *host, *will_topic;
        int port;
        unsigned keepalive_sec;
        usec_t backoff_min, backoff_max, backoff;

        sd_event_source *io, *misc, *retry;
        int io_fd;
        bool connected, started, stopping, tls;

        /* Why the last attempt failed, as logged (once per change); what the broker or TLS said of it. */
        char failure[512];
        char tls_error[256];
        int refused_rc;         /* the CONNACK's reason code when the broker refused, or 0 */
        unsigned auth_refusals; /* user name or password refused, in a row */
        unsigned disconnects;   /* on_disconnect calls, to tell a failure libmosquitto did not report */

        /* The topics of the last publishes by message id, to name the one a broker refuses (its ACL). */
        struct {
                int mid;
                char topic[160];
        } recent[32];
        unsigned denied; /* refused publishes and subscriptions since the last one accepted */
};

int mqtt_lib_init(void)
{
        return mosquitto_lib_init() == MOSQ_ERR_SUCCESS ? 0 : -EIO;
}

void mqtt_lib_cleanup(void)
{
        mosquitto_lib_cleanup();
}

static int errno_of(int rc)
{
        switch (rc) {
        case MOSQ_ERR_SUCCESS:
                return 0;
        case MOSQ_ERR_NOMEM:
                return -ENOMEM;
        case MOSQ_ERR_NO_CONN:
        case MOSQ_ERR_CONN_LOST:
                return -ENOTCONN;
        case MOSQ_ERR_INVAL:
        case MOSQ_ERR_PAYLOAD_SIZE:
        case MOSQ_ERR_MALFORMED_UTF8:
                return -EINVAL;
        case MOSQ_ERR_ERRNO:
                return errno > 0 ? -errno : -EIO;
        default:
                return -EIO;
        }
}

static void schedule_reconnect(struct mqtt_client *m);
static void update_io(struct mqtt_client *m);

/* The reason in words of a failed attempt: rc from libmosquitto, err the errno that came with it. */
static void failure_reason(struct mqtt_client *m, int rc, int err, char *buf, size_t size)
{
        if (m->refused_rc)
                snprintf(buf, size, "the broker refused the connection: %s",
                         mosquitto_reason_string(m->refused_rc));
        else if (m->tls_error[0])
                snprintf(buf, size, "TLS failed: %s", m->tls_error);
        else if (rc == MOSQ_ERR_EAI)
                snprintf(buf, size, "cannot resolve the host name %s: %s", m->host, gai_strerror(err));
        else if (rc == MOSQ_ERR_ERRNO && err == ECONNREFUSED)
                snprintf(buf, size, "connection refused (nothing listens on port %d)", m->port);
        else if (rc == MOSQ_ERR_ERRNO)
                snprintf(buf, size, "%s", strerror(err));
        else if (rc == MOSQ_ERR_CONN_LOST)
                snprintf(buf, size,
                         "the broker closed the connection before accepting it (a TLS port spoken "
                         "to without TLS? then the broker is mqtts://)");
        else
                snprintf(buf, size, "%s", mosquitto_strerror(rc));
}

/* A failed attempt: its reason goes to the journal and to systemctl status when it is not the last one's. A
 * user name or password the broker refuses AUTH_REFUSALS_MAX times in a row ends the bridge with a failure:
 * no retry would help. */
static void attempt_failed(struct mqtt_client *m, int rc, int err)
{
        char reason[sizeof(m->failure)];
        bool auth =
                m->refused_rc == MQTT_RC_BAD_USERNAME_OR_PASSWORD || m->refused_rc == MQTT_RC_NOT_AUTHORIZED;

        failure_reason(m, rc, err, reason, sizeof(reason));
        m->refused_rc = 0;
        m->tls_error[0] = '\0';
        m->auth_refusals = auth ? m->auth_refusals + 1 : 0;
        if (auth && m->auth_refusals >= MQTT_AUTH_REFUSALS_MAX) {
                fprintf(stderr,
                        "Giving up: the broker %s:%d refused the user name or password %u times in a "
                        "row (%s).\n",
                        m->host, m->port, m->auth_refusals, reason);
                (void) sd_notifyf(false, "STATUS=Gave up: the broker %s:%d refused the credentials: %s",
                                  m->host, m->port, reason);
                m->stopping = true;
                (void) sd_event_exit(m->event, -EACCES);
                return;
        }
        if (streq(reason, m->failure))
                return;
        snprintf(m->failure, sizeof(m->failure), "%s", reason);
        fprintf(stderr, "Cannot connect to the broker %s:%d: %s; retrying, at most %llu s apart.\n", m->host,
                m->port, reason, (unsigned long long) (m->backoff_max / USEC_PER_SEC));
        (void) sd_notifyf(false, "STATUS=Cannot connect to the broker %s:%d: %s", m->host, m->port, reason);
}

/* libmosquitto's log: OpenSSL's reason for a failed handshake, and the certificate check's own words. */
static void on_log(struct mosquitto *mosq, void *userdata, int level, const char *text)
{
        struct mqtt_client *m = userdata;
        const char *prefix = "OpenSSL Error[0]: ";

        if (!(level & MOSQ_LOG_ERR) || strncmp(text, prefix, strlen(prefix)) != 0 || m->tls_error[0])
                return;
        const char *what = strstr(text, "::"); /* "error:0A000086:SSL routines::certificate verify failed" */
        what = what ? what + 2 : text + strlen(prefix);
        SSL *ssl = mosquitto_ssl_get(mosq);
        long verify = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
        if (verify == X509_V_ERR_UNSPECIFIED)
                /* The chain was good, and libmosquitto's own check refused it: that one compares the host
                 * name. */
                snprintf(m->tls_error, sizeof(m->tls_error),
                         "%s: host name mismatch (the certificate is not for %s)", what, m->host);
        else if (verify != X509_V_OK)
                snprintf(m->tls_error, sizeof(m->tls_error), "%s: %s", what,
                         X509_verify_cert_error_string(verify));
        else
                snprintf(m->tls_error, sizeof(m->tls_error), "%s", what);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct mqtt_client *m = userdata;
        int rc = MOSQ_ERR_SUCCESS;

        /* During a TLS handshake that waits for the socket to be writable (the TCP connection still under
         * way when it began), libmosquitto goes on with it in its read step, as its own loop does on
         * writability: without this, the handshake would wait for a reply to a hello never sent. */
        bool handshake = m->tls && !m->connected && (revents & EPOLLOUT);
        unsigned disconnects = m->disconnects;
        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR) || handshake)
                rc = mosquitto_loop_read(m->mosq, 1);
        if (rc == MOSQ_ERR_SUCCESS && (revents & EPOLLOUT))
                rc = mosquitto_loop_write(m->mosq, 1);
        if (rc != MOSQ_ERR_SUCCESS && !m->connected) { /* on_disconnect ran, or the connection never came */
                /* A failed attempt libmosquitto closed without calling on_disconnect is said here: a bridge
                 * that cannot connect always says why. */
                if (m->disconnects == disconnects && !m->stopping)
                        attempt_failed(m, rc, errno);
                schedule_reconnect(m);
        }
        update_io(m);
        return 0;
}

/* Follows libmosquitto's socket: a new connection is a new fd; it wants EPOLLOUT only while it has
 * something to write. */
static void update_io(struct mqtt_client *m)
{
        int fd = mosquitto_socket(m->mosq);

        if (fd != m->io_fd) {
                m->io = sd_event_source_disable_unref(m->io);
                m->io_fd = -1;
                if (fd < 0)
                        return;
                if (sd_event_add_io(m->event, &m->io, fd, EPOLLIN, on_io, m) < 0) {
                        fprintf(stderr, "Failed to watch the broker's socket.\n");
                        return;
                }
                m->io_fd = fd;
        }
        if (m->io)
                (void) sd_event_source_set_io_events(
                        m->io, EPOLLIN | (mosquitto_want_write(m->mosq) ? EPOLLOUT : 0));
}

static int on_misc(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct mqtt_client *m = userdata;

        (void) mosquitto_loop_misc(
                m->mosq); /* sends the keep-alive's PINGREQ, notices a broker gone quiet */
        update_io(m);
        (void) sd_event_source_set_time_relative(s, (usec_t) m->keepalive_sec * USEC_PER_SEC / 4);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ON);
        return 0;
}

static void try_connect(struct mqtt_client *m)
{
        int rc;

        if (m->stopping)
                return;
        rc = m->started ? mosquitto_reconnect_async(m->mosq)
                        : mosquitto_connect_async(m->mosq, m->host, m->port, (int) m->keepalive_sec);
        m->started = true;
        if (rc != MOSQ_ERR_SUCCESS) {
                attempt_failed(m, rc, errno);
                schedule_reconnect(m);
        }
        update_io(m);
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
        try_connect(userdata);
        return 0;
}

static void schedule_reconnect(struct mqtt_client *m)
{
        int enabled = SD_EVENT_OFF;

        if (m->stopping)
                return;
        if (m->retry && sd_event_source_get_enabled(m->retry, &enabled) >= 0 && enabled != SD_EVENT_OFF)
                return; /* already planned */
        usec_t wait = m->backoff;
        m->backoff = m->backoff * 2 > m->backoff_max ? m->backoff_max : m->backoff * 2;
        if (!m->retry) {
                if (sd_event_add_time_relative(m->event, &m->retry, CLOCK_MONOTONIC, wait, 0, on_retry, m) <
                    0) {
                        fprintf(stderr, "Failed to plan a reconnection.\n");
                        return;
                }
        } else {
                (void) sd_event_source_set_time_relative(m->retry, wait);
        }
        (void) sd_event_source_set_enabled(m->retry, SD_EVENT_ONESHOT);
}

static void on_connect(struct mosquitto *mosq, void *userdata, int rc, int flags,
                       const mosquitto_property *props)
{
        struct mqtt_client *m = userdata;

        if (rc != 0) {
                /* libmosquitto closes the socket after a refusal; on_disconnect says why and plans the next
                 * attempt. */
                m->refused_rc = rc;
                return;
        }
        fprintf(stderr, "Connected to the broker %s:%d.\n", m->host, m->port);
        (void) sd_notifyf(false, "STATUS=Connected to the broker %s:%d", m->host, m->port);
        m->failure[0] = '\0';
        m->auth_refusals = 0;
        m->connected = true;
        m->backoff = m->backoff_min;
        if (m->cb.connected)
                m->cb.connected(m, m->userdata);
}

static void on_disconnect(struct mosquitto *mosq, void *userdata, int rc, const mosquitto_property *props)
{
        struct mqtt_client *m = userdata;
        int err = errno;

        m->disconnects++;
        if (m->connected) {
                fprintf(stderr, "Lost the broker %s:%d: %s\n", m->host, m->port,
                        rc == MOSQ_ERR_ERRNO ? strerror(err) : mosquitto_strerror(rc));
                (void) sd_notifyf(false, "STATUS=Lost the broker %s:%d; reconnecting", m->host, m->port);
        } else if (!m->stopping)
                attempt_failed(m, rc, err);
        m->connected = false;
        schedule_reconnect(m);
}

static void on_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
        struct mqtt_client *m = userdata;
        _cleanup_free_ char *response_topic = NULL;
        _cleanup_free_ void *correlation = NULL;
        uint16_t correlation_size = 0;

        (void) mosquitto_property_read_string(props, MQTT_PROP_RESPONSE_TOPIC, &response_topic, false);
        (void) mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &correlation,
                                              &correlation_size, false);
        if (m->cb.message)
                m->cb.message(m, msg->topic, msg->payload, (size_t) msg->payloadlen, response_topic,
                              correlation, correlation_size, m->userdata);
}

/* A broker's ACL refuses without closing the connection: MQTT 5 says so in the PUBACK or the SUBACK, and
 * the bridge says it in the journal (the first of a run of refusals, with the topic; then how many). */
static void refused(struct mqtt_client *m, const char *what, const char *topic, int reason)
{
        if (m->denied++ == 0)
                fprintf(stderr,
                        "The broker refused to let this client %s %s: %s (check the broker's ACL for this "
                        "user).\n",
                        what, topic, mosquitto_reason_string(reason));
}

static void on_publish(struct mosquitto *mosq, void *userdata, int mid, int reason,
                       const mosquitto_property *props)
{
        struct mqtt_client *m = userdata;
        const char *topic = "a topic";

        if (reason < 0x80) {
                if (m->denied > 1)
                        fprintf(stderr, "The broker refused %u messages.\n", m->denied);
                m->denied = 0;
                return;
        }
        for (size_t i = 0; i < ELEMENTSOF(m->recent); i++)
                if (m->recent[i].mid == mid && m->recent[i].topic[0])
                        topic = m->recent[i].topic;
        refused(m, "publish on", topic, reason);
}

static void on_subscribe(struct mosquitto *mosq, void *userdata, int mid, int count, const int *granted,
                         const mosquitto_property *props)
{
        struct mqtt_client *m = userdata;

        for (int i = 0; i < count; i++)
                if (granted[i] >= 0x80) {
                        const char *topic = "a topic";
                        for (size_t j = 0; j < ELEMENTSOF(m->recent); j++)
                                if (m->recent[j].mid == mid && m->recent[j].topic[0])
                                        topic = m->recent[j].topic;
                        refused(m, "subscribe to", topic, granted[i]);
                }
}

static void remember(struct mqtt_client *m, int mid, const char *topic)
{
        size_t i = (size_t) mid % ELEMENTSOF(m->recent);
        m->recent[i].mid = mid;
        snprintf(m->recent[i].topic, sizeof(m->recent[i].topic), "%s", topic);
}

int mqtt_client_new(sd_event *event, const struct mqtt_options *o, const struct mqtt_callbacks *cb,
                    void *userdata, struct mqtt_client **ret)
{
        _cleanup_(mqtt_client_freep) struct mqtt_client *m = NULL;
        int rc;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(event);
        m->io_fd = -1;
        m->cb = *cb;
        m->userdata = userdata;
        m->port = o->port;
        m->keepalive_sec = o->keepalive_sec;
        m->backoff = m->backoff_min = o->reconnect_min_usec;
        m->backoff_max = o->reconnect_max_usec;
        m->host = strdup(o->host);
        m->will_topic = o->will_topic ? strdup(o->will_topic) : NULL;
        if (!m->host || (o->will_topic && !m->will_topic))
                return -ENOMEM;

        m->mosq = mosquitto_new(o->client_id, true, m);
        if (!m->mosq)
                return errno > 0 ? -errno : -ENOMEM;
        mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
        mosquitto_connect_v5_callback_set(m->mosq, on_connect);
        mosquitto_disconnect_v5_callback_set(m->mosq, on_disconnect);
        mosquitto_message_v5_callback_set(m->mosq, on_message);
        mosquitto_log_callback_set(m->mosq, on_log);
        mosquitto_publish_v5_callback_set(m->mosq, on_publish);
        mosquitto_subscribe_v5_callback_set(m->mosq, on_subscribe);

        rc = o->will_topic ? mosquitto_will_set_v5(m->mosq, o->will_topic, (int) strlen(o->will_payload),
                                                   o->will_payload, 1, true, NULL)
                           : MOSQ_ERR_SUCCESS;
        if (rc != MOSQ_ERR_SUCCESS)
                return errno_of(rc);
        if (o->username) {
                rc = mosquitto_username_pw_set(m->mosq, o->username, o->password);
                if (rc != MOSQ_ERR_SUCCESS)
                        return errno_of(rc);
        }
        m->tls = o->tls;
        if (o->tls) {
                /* Without a CA file, the system's trusted certificates. */
                rc = mosquitto_tls_set(m->mosq, o->ca_file, o->ca_file ? NULL : "/etc/ssl/certs",
                                       o->cert_file, o->key_file, NULL);
                if (rc != MOSQ_ERR_SUCCESS)
                        return errno_of(rc);
        }
        *ret = TAKE_PTR(m);
        return 0;
}

int mqtt_client_start(struct mqtt_client *m)
{
        int r = sd_event_add_time_relative(m->event, &m->misc, CLOCK_MONOTONIC,
                                           (usec_t) m->keepalive_sec * USEC_PER_SEC / 4, USEC_PER_SEC,
                                           on_misc, m);
        if (r < 0)
                return r;
        try_connect(m);
        return 0;
}

bool mqtt_client_connected(const struct mqtt_client *m)
{
        return m->connected;
}

int mqtt_publish(struct mqtt_client *m, const char *topic, const char *payload, bool retain,
                 const void *correlation, size_t correlation_size)
{
        mosquitto_property *props = NULL;
        int rc;

        if (!m->connected)
                return -ENOTCONN;
        if (correlation && correlation_size > 0 && correlation_size <= UINT16_MAX) {
                rc = mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, correlation,
                                                   (uint16_t) correlation_size);
                if (rc != MOSQ_ERR_SUCCESS)
                        return errno_of(rc);
        }
        int mid = 0;
        rc = mosquitto_publish_v5(m->mosq, &mid, topic, (int) strlen(payload), payload, 1, retain, props);
        mosquitto_property_free_all(&props);
        if (rc == MOSQ_ERR_SUCCESS)
                remember(m, mid, topic);
        update_io(m);
        return errno_of(rc);
}

int mqtt_subscribe(struct mqtt_client *m, const char *topic)
{
        int mid = 0;
        int rc = mosquitto_subscribe_v5(m->mosq, &mid, topic, 1, 0, NULL);
        if (rc == MOSQ_ERR_SUCCESS)
                remember(m, mid, topic);
        update_io(m);
        return errno_of(rc);
}

void mqtt_client_stop(struct mqtt_client *m, const char *goodbye)
{
        m->stopping = true;
        m->retry = sd_event_source_disable_unref(m->retry);
        if (!m->connected)
                return;
        if (goodbye && m->will_topic)
                (void) mosquitto_publish_v5(m->mosq, NULL, m->will_topic, (int) strlen(goodbye), goodbye, 1,
                                            true, NULL);
        /* A clean disconnect (reason 0) tells the broker not to send the will: the goodbye says it
         * already. */
        (void) mosquitto_disconnect_v5(m->mosq, 0, NULL);
        for (int i = 0; i < 10 && mosquitto_want_write(m->mosq); i++)
                if (mosquitto_loop_write(m->mosq, 1) != MOSQ_ERR_SUCCESS)
                        break;
        m->connected = false;
}

struct mqtt_client *mqtt_client_free(struct mqtt_client *m)
{
        if (!m)
                return NULL;
        sd_event_source_disable_unref(m->io);
        sd_event_source_disable_unref(m->misc);
        sd_event_source_disable_unref(m->retry);
        if (m->mosq)
                mosquitto_destroy(m->mosq);
        sd_event_unref(m->event);
        free(m->host);
        free(m->will_topic);
        free(m);
        return NULL;
}
