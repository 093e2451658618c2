/* test-gpio.c: how the GPIO driver requests its lines and runs its slow PWM, and how it compares an output
 * with its feedback line, on the virtual clock (unit/vclock.h) and a fake libgpiod (below): a chip whose
 * line levels the test sets, with edge events through a pipe. The real chip comes with the VM system test
 * and the kernel's gpio-sim. */
#include <errno.h>
#include <fcntl.h>
#include <gpiod.h>
#include <unistd.h>

#include "driver.h"
#include "gpio.h"
#include "helpers.h"
#include "vclock.h"

/* --- a fake libgpiod: one chip, FAKE_CHIP, whose lines are named in fake_names --- */

#define FAKE_CHIP  "/dev/chaird-test-fake-gpiochip"
#define FAKE_LINES 8

struct gpiod_chip {
        int unused;
};
struct gpiod_request_config {
        int unused;
};
struct gpiod_line_config {
        int unused;
};
struct gpiod_line_settings {
        bool output;
        bool edges;
};
struct gpiod_line_request {
        int unused;
};
struct gpiod_edge_event_buffer {
        int unused;
};
struct gpiod_edge_event {
        unsigned offset;
        enum gpiod_edge_event_type type;
};

static const char *const fake_names[FAKE_LINES] = {"ESTOP", "PUMP", "PUMP_SENSE", "INFLATE", "HOLD"};
static struct {
        struct gpiod_chip chip;
        struct gpiod_line_request request;
        struct gpiod_edge_event_buffer buffer;
        bool requested[FAKE_LINES], output[FAKE_LINES], edges[FAKE_LINES];
        bool level[FAKE_LINES]; /* logical: what an output was set to, what an input reads */
        struct gpiod_edge_event queue[64];
        size_t n_queued, n_read;
        int pipe[2]; /* readable while edges are queued: the request's fd */
} fk = {.pipe = {-1, -1}};

struct gpiod_chip *gpiod_chip_open(const char *path)
{
        if (!streq(path, FAKE_CHIP)) {
                errno = ENOENT;
                return NULL;
        }
        return &fk.chip;
}
void gpiod_chip_close(struct gpiod_chip *chip)
{
}
struct gpiod_chip_info *gpiod_chip_get_info(struct gpiod_chip *chip)
{
        errno = EIO;
        return NULL;
}
int gpiod_chip_get_line_offset_from_name(struct gpiod_chip *chip, const char *name)
{
        for (int i = 0; i < FAKE_LINES; i++)
                if (fake_names[i] && streq(fake_names[i], name))
                        return i;
        errno = ENOENT;
        return -1;
}
struct gpiod_request_config *gpiod_request_config_new(void)
{
        static struct gpiod_request_config rc;
        return &rc;
}
void gpiod_request_config_set_consumer(struct gpiod_request_config *config, const char *consumer)
{
}
void gpiod_request_config_free(struct gpiod_request_config *config)
{
}
struct gpiod_line_config *gpiod_line_config_new(void)
{
        static struct gpiod_line_config lc;
        return &lc;
}
void gpiod_line_config_free(struct gpiod_line_config *config)
{
}
struct gpiod_line_settings *gpiod_line_settings_new(void)
{
        return calloc(1, sizeof(struct gpiod_line_settings));
}
void gpiod_line_settings_free(struct gpiod_line_settings *settings)
{
        free(settings);
}
void gpiod_line_settings_set_active_low(struct gpiod_line_settings *settings, bool active_low)
{
}
int gpiod_line_settings_set_direction(struct gpiod_line_settings *settings,
                                      enum gpiod_line_direction direction)
{
        settings->output = direction == GPIOD_LINE_DIRECTION_OUTPUT;
        return 0;
}
int gpiod_line_settings_set_drive(struct gpiod_line_settings *settings, enum gpiod_line_drive drive)
{
        return 0;
}
int gpiod_line_settings_set_output_value(struct gpiod_line_settings *settings, enum gpiod_line_value value)
{
        return 0;
}
int gpiod_line_settings_set_bias(struct gpiod_line_settings *settings, enum gpiod_line_bias bias)
{
        return 0;
}
int gpiod_line_settings_set_edge_detection(struct gpiod_line_settings *settings, enum gpiod_line_edge edge)
{
        settings->edges = edge == GPIOD_LINE_EDGE_BOTH;
        return 0;
}
void gpiod_line_settings_set_debounce_period_us(struct gpiod_line_settings *settings, unsigned long period)
{
}
int gpiod_line_config_add_line_settings(struct gpiod_line_config *config, const unsigned int *offsets,
                                        size_t num_offsets, struct gpiod_line_settings *settings)
{
        for (size_t i = 0; i < num_offsets; i++) {
                fk.requested[offsets[i]] = true;
                fk.output[offsets[i]] = settings->output;
                fk.edges[offsets[i]] = settings->edges;
                if (settings->output)
                        fk.level[offsets[i]] = false; /* every output is requested inactive */
        }
        return 0;
}
struct gpiod_line_request *gpiod_chip_request_lines(struct gpiod_chip *chip,
                                                    struct gpiod_request_config *req_cfg,
                                                    struct gpiod_line_config *line_cfg)
{
        if (pipe2(fk.pipe, O_CLOEXEC | O_NONBLOCK) < 0)
                return NULL;
        return &fk.request;
}
void gpiod_line_request_release(struct gpiod_line_request *request)
{
        close(fk.pipe[0]);
        close(fk.pipe[1]);
        fk.pipe[0] = fk.pipe[1] = -1;
}
int gpiod_line_request_get_fd(struct gpiod_line_request *request)
{
        return fk.pipe[0];
}
int gpiod_line_request_set_value(struct gpiod_line_request *request, unsigned int offset,
                                 enum gpiod_line_value value)
{
        if (!fk.requested[offset] || !fk.output[offset]) {
                errno = EPERM;
                return -1;
        }
        fk.level[offset] = value == GPIOD_LINE_VALUE_ACTIVE;
        return 0;
}
enum gpiod_line_value gpiod_line_request_get_value(struct gpiod_line_request *request, unsigned int offset)
{
        return fk.level[offset] ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE;
}
struct gpiod_edge_event_buffer *gpiod_edge_event_buffer_new(size_t capacity)
{
        return &fk.buffer;
}
void gpiod_edge_event_buffer_free(struct gpiod_edge_event_buffer *buffer)
{
}
int gpiod_line_request_read_edge_events(struct gpiod_line_request *request,
                                        struct gpiod_edge_event_buffer *buffer, size_t max_events)
{
        char drain[64];
        size_t n = fk.n_queued < max_events ? fk.n_queued : max_events;

        while (read(fk.pipe[0], drain, sizeof(drain)) > 0)
                ;
        if (n == 0) {
                errno = EAGAIN;
                return -1;
        }
        fk.n_read = n;
        fk.n_queued = 0;
        return (int) n;
}
struct gpiod_edge_event *gpiod_edge_event_buffer_get_event(struct gpiod_edge_event_buffer *buffer,
                                                           unsigned long index)
{
        return &fk.queue[index];
}
unsigned int gpiod_edge_event_get_line_offset(struct gpiod_edge_event *event)
{
        return event->offset;
}
enum gpiod_edge_event_type gpiod_edge_event_get_event_type(struct gpiod_edge_event *event)
{
        return event->type;
}

static unsigned fake_offset(const char *name)
{
        return (unsigned) gpiod_chip_get_line_offset_from_name(&fk.chip, name);
}

/* An input line changes level, with its edge on the request's fd (edges: false, quietly: a change the
 * kernel saw no edge of, found only by reading the line). */
static void fake_input(const char *name, bool level, bool edges)
{
        unsigned offset = fake_offset(name);

        if (fk.level[offset] == level)
                return;
        fk.level[offset] = level;
        if (!edges || !fk.edges[offset] || fk.n_queued >= ELEMENTSOF(fk.queue))
                return;
        fk.queue[fk.n_queued++] = (struct gpiod_edge_event){offset, level ? GPIOD_EDGE_EVENT_RISING_EDGE
                                                                          : GPIOD_EDGE_EVENT_FALLING_EDGE};
        if (write(fk.pipe[1], "e", 1) < 0)
                abort();
}

static struct chair_config *rpi(void)
{
        struct chair_config *c = NULL;
        struct diag_list d = {};

        if (chair_config_load_file(SOURCE_ROOT "/config/example-rpi.yaml", &d, &c) < 0)
                diag_print(&d, stdout);
        diag_list_clear(&d);
        return c;
}

static void test_output_lines_start_inactive_whatever_their_polarity(void)
{
        _cleanup_(chair_config_freep) struct chair_config *c = rpi();
        struct gpio_line_setup s;

        if (!c) {
                CHECK(c != NULL);
                return;
        }
        /* The relay board is active low: inactive is the high level, relay open. */
        gpio_line_setup(&c->ios[c->pump], &s);
        CHECK(s.output && s.active_low && !s.initial_active && !s.edges);
        CHECK_EQ_U(s.drive, GPIO_DRIVE_PUSH_PULL);
        CHECK_EQ_U(s.debounce_usec, 0);
}

static void test_input_lines_get_bias_debounce_and_edges(void)
{
        _cleanup_(chair_config_freep) struct chair_config *c = rpi();
        struct gpio_line_setup s;

        if (!c) {
                CHECK(c != NULL);
                return;
        }
        gpio_line_setup(&c->ios[c->estop], &s);
        CHECK(!s.output && !s.active_low && s.edges);
        CHECK_EQ_U(s.bias, GPIO_BIAS_PULL_UP);
        CHECK_EQ_U(s.debounce_usec, 2 * USEC_PER_MSEC);
        gpio_line_setup(&c->ios[c->axes[AXIS_LEGREST].io[MOTOR_LIMIT_END]], &s);
        CHECK(!s.output && s.active_low && s.edges);
        CHECK_EQ_U(s.debounce_usec, 5 * USEC_PER_MSEC);
}

static void test_open_drain_output_keeps_its_drive(void)
{
        struct io_config io = {.role = IO_OUT_SWITCH,
                               .table = IO_LINE,
                               .drive = GPIO_DRIVE_OPEN_DRAIN,
                               .bias = GPIO_BIAS_PULL_UP,
                               .debounce_usec = 1000};
        struct gpio_line_setup s;

        gpio_line_setup(&io, &s);
        CHECK_EQ_U(s.drive, GPIO_DRIVE_OPEN_DRAIN);
        /* Input settings mean nothing to an output line and are not requested. */
        CHECK_EQ_U(s.bias, GPIO_BIAS_AS_IS);
        CHECK_EQ_U(s.debounce_usec, 0);
}

static void test_pwm_alternates_on_and_off_for_the_duty(void)
{
        bool active;
        usec_t hold = 0;

        CHECK(gpio_pwm_step(0.3, 10 * USEC_PER_SEC, false, &active, &hold));
        CHECK(active);
        CHECK_EQ_U(hold, 3 * USEC_PER_SEC);
        CHECK(gpio_pwm_step(0.3, 10 * USEC_PER_SEC, true, &active, &hold));
        CHECK(!active);
        CHECK_EQ_U(hold, 7 * USEC_PER_SEC);
}

static void test_pwm_extremes_hold_the_line_without_a_timer(void)
{
        bool active = true;
        usec_t hold = 0;

        CHECK(!gpio_pwm_step(0.0, 10 * USEC_PER_SEC, true, &active, &hold));
        CHECK(!active);
        CHECK(!gpio_pwm_step(1.0, 10 * USEC_PER_SEC, false, &active, &hold));
        CHECK(active);
        /* Pulses shorter than a relay should switch round to off or on. */
        CHECK(!gpio_pwm_step(0.01, 10 * USEC_PER_SEC, false, &active, &hold));
        CHECK(!active);
        CHECK(!gpio_pwm_step(0.99, 10 * USEC_PER_SEC, false, &active, &hold));
        CHECK(active);
        /* Out-of-range duties are clamped, never wrapped. */
        CHECK(!gpio_pwm_step(-1.0, 10 * USEC_PER_SEC, true, &active, &hold));
        CHECK(!active);
}

static void test_missing_chip_is_an_error_not_a_crash(void)
{
        _cleanup_(chair_config_freep) struct chair_config *c =
                load_config_text("buses:\n  pins: {type: gpio, chip: chaird-test-no-such-chip}\n"
                                 "inputs:\n  emergency-stop: {line: ESTOP}\n");
        _cleanup_(driver_freep) struct driver *d = NULL;
        sd_event *e = NULL;

        if (!c) {
                CHECK(c != NULL);
                return;
        }
        CHECK(sd_event_new(&e) >= 0);
        CHECK(driver_new(c, 0, e, NULL, NULL, &d) == -ENODEV);
        CHECK(d == NULL);
        sd_event_unref(e);
}

/* --- the driver on the fake chip --- */

/* A pump relay on a GPIO line with its monitoring contact wired back to PUMP_SENSE. */
#define FEEDBACK_CONFIG                                                                                     \
        "buses:\n  pins: {type: gpio, chip: " FAKE_CHIP "}\n"                                               \
        "airbags:\n"                                                                                        \
        "  pump: {line: PUMP, active-low: true, feedback: {line: PUMP_SENSE, active-low: true}}\n"          \
        "  zones:\n    feet: {inflate: {line: INFLATE}, hold: {line: HOLD}}\n"                              \
        "inputs:\n  emergency-stop: {line: ESTOP}\n"

#define MAX_EVENTS 32

static struct {
        struct driver_event ev[MAX_EVENTS];
        usec_t at[MAX_EVENTS];
        size_t n;
} heard;

static void on_event(struct driver *d, const struct driver_event *ev, void *userdata)
{
        if (heard.n < MAX_EVENTS) {
                heard.at[heard.n] = vnow;
                heard.ev[heard.n++] = *ev;
        }
}

/* How many events of type were heard (for io, unless IO_NONE), and the last one's index in *ret. */
static size_t count(enum driver_event_type type, int io, size_t *ret)
{
        size_t n = 0;

        for (size_t i = 0; i < heard.n; i++)
                if (heard.ev[i].type == type && (io == IO_NONE || heard.ev[i].io == io)) {
                        n++;
                        if (ret)
                                *ret = i;
                }
        return n;
}

struct bench {
        struct chair_config *config;
        struct driver *driver;
        int pump, sense;
};

/* Makes the driver for the config's GPIO bus; sense_at_start: the contact's level before it starts. */
static bool bench_open(struct bench *b, const char *yaml, bool sense_at_start)
{
        *b = (struct bench){};
        memset(&fk.requested, 0, sizeof(fk.requested));
        memset(&fk.level, 0, sizeof(fk.level));
        fk.level[fake_offset("PUMP_SENSE")] = sense_at_start;
        fk.n_queued = 0;
        heard.n = 0;
        b->config = load_config_text(yaml);
        if (!b->config)
                return false;
        CHECK(sd_event_new(&vclock_event) >= 0);
        b->pump = b->config->pump;
        b->sense = b->config->ios[b->pump].feedback;
        if (driver_new(b->config, 0, vclock_event, on_event, NULL, &b->driver) < 0)
                return false;
        dispatch(); /* the first reading of every input */
        return true;
}

static void bench_close(struct bench *b)
{
        driver_free(b->driver);
        chair_config_free(b->config);
        vclock_event = sd_event_unref(vclock_event);
}

/* Sets the pump relay's line as chaird's loop does: set, then flush. */
static void set_pump(struct bench *b, bool on)
{
        CHECK(driver_set(b->driver, b->pump, on) == 0);
        CHECK(driver_flush(b->driver) == 0);
}

static void test_feedback_config_names_its_line_and_takes_the_default_delay(void)
{
        struct bench b;

        if (!bench_open(&b, FEEDBACK_CONFIG, false)) {
                CHECK(false);
                bench_close(&b);
                return;
        }
        CHECK(b.sense != IO_NONE);
        CHECK_STREQ(b.config->ios[b.sense].name, "airbags.pump.feedback");
        CHECK_EQ_U(b.config->ios[b.sense].role, IO_IN_SWITCH);
        CHECK_EQ_U(b.config->ios[b.pump].feedback_delay_usec, 50 * USEC_PER_MSEC);
        CHECK(b.config->ios[b.config->estop].feedback == IO_NONE);
        /* The feedback line is requested as an input with edges, and is not reported as a chair input. */
        CHECK(fk.requested[fake_offset("PUMP_SENSE")] && !fk.output[fake_offset("PUMP_SENSE")]);
        CHECK(fk.edges[fake_offset("PUMP_SENSE")]);
        CHECK_EQ_U(count(DRIVER_INPUT_CHANGED, b.sense, NULL), 0);
        CHECK_EQ_U(count(DRIVER_INPUT_CHANGED, b.config->estop, NULL), 1);
        bench_close(&b);
}

static void test_a_contact_that_follows_within_the_delay_is_no_mismatch(void)
{
        struct bench b;

        if (!bench_open(&b, FEEDBACK_CONFIG, false)) {
                CHECK(false);
                bench_close(&b);
                return;
        }
        for (int i = 0; i < 5; i++) {
                set_pump(&b, i % 2 == 0);
                CHECK(fk.level[fake_offset("PUMP")] == (i % 2 == 0));
                advance(49 * USEC_PER_MSEC); /* a slow relay, just within the default 50 ms */
                fake_input("PUMP_SENSE", i % 2 == 0, true);
                dispatch();
                advance(USEC_PER_SEC);
        }
        CHECK_EQ_U(count(DRIVER_OUTPUT_MISMATCH, IO_NONE, NULL), 0);
        CHECK_EQ_U(count(DRIVER_OUTPUT_MATCHED, IO_NONE, NULL), 0);
        CHECK_EQ_U(count(DRIVER_INPUT_CHANGED, b.sense, NULL), 0);
        bench_close(&b);
}

static void test_a_relay_that_does_not_close_is_a_mismatch_after_the_delay_and_ends_with_the_safe_state(void)
{
        struct bench b;
        size_t k = 0;
        usec_t t0;

        if (!bench_open(&b, FEEDBACK_CONFIG, false)) {
                CHECK(false);
                bench_close(&b);
                return;
        }
        set_pump(&b, true);
        t0 = vnow;
        advance(50 * USEC_PER_MSEC - 1);
        CHECK_EQ_U(count(DRIVER_OUTPUT_MISMATCH, IO_NONE, NULL), 0);
        advance(1);
        CHECK_EQ_U(count(DRIVER_OUTPUT_MISMATCH, b.pump, &k), 1);
        CHECK_EQ_U(heard.at[k], t0 + 50 * USEC_PER_MSEC);
        CHECK(heard.ev[k].value == 0.0); /* what the contact holds */
        advance(10 * USEC_PER_SEC);
        CHECK_EQ_U(count(DRIVER_OUTPUT_MISMATCH, IO_NONE, NULL), 1); /* once, however long it lasts */
        /* The safe state opens the relay, which the open contact agrees with: news from the loop, not from
         * inside the call. */
        CHECK(driver_safe_state(b.driver, 0) == 0);
        CHECK_EQ_U(count(DRIVER_OUTPUT_MATCHED, IO_NONE, NULL), 0);
        dispatch();
        advance(0);
        CHECK_EQ_U(count(DRIVER_OUTPUT_MATCHED, b.pump, &k), 1);
        CHECK(heard.ev[k].value == 0.0);
        bench_close(&b);
}

static void test_a_welded_relay_is_a_mismatch_until_its_contact_opens_and_the_refresh_says_so_first(void)
{
        struct bench b;
        size_t k = 0, refreshed = 0;

        if (!bench_open(&b, FEEDBACK_CONFIG, false)) {
                CHECK(false);
                bench_close(&b);
                return;
        }
        set_pump(&b, true);
        fake_input("PUMP_SENSE", true, true);
        dispatch();
        advance(USEC_PER_SEC);
        set_pump(&b, false); /* the contact stays closed: welded */
        advance(60 * USEC_PER_MSEC);
        CHECK_EQ_U(count(DRIVER_OUTPUT_MISMATCH, b.pump, &k), 1);
        CHECK(heard.ev[k].value == 1.0);
        /* A reset's fresh read while it sticks: no news, the mismatch stands. */
        CHECK(driver_refresh(b.driver) == 0);
        dispatch();
        CHECK_EQ_U(count(DRIVER_REFRESHED, IO_NONE, NULL), 1);
        CHECK_EQ_U(count(DRIVER_OUTPUT_MATCHED, IO_NONE, NULL), 0);
        /* It opens without an edge seen: the next fresh read finds it, and says so before it is over. */
        fake_input("PUMP_SENSE", false, false);
        CHECK(driver_refresh(b.driver) == 0);
        dispatch();
        CHECK_EQ_U(count(DRIVER_OUTPUT_MATCHED, b.pump, &k), 1);
        CHECK_EQ_U(count(DRIVER_REFRESHED, IO_NONE, &refreshed), 2);
        CHECK(k < refreshed);
        /* Welded again, then freed by an edge within the delay: no news at all. */
        heard.n = 0;
        set_pump(&b, true);
        fake_input("PUMP_SENSE", true, true);
        dispatch();
        set_pump(&b, false);
        advance(30 * USEC_PER_MSEC);
        fake_input("PUMP_SENSE", false, true);
        dispatch();
        advance(USEC_PER_SEC);
        CHECK_EQ_U(heard.n, 0);
        /* Welded past the delay, then freed: its edge is the news, no fresh read needed. */
        set_pump(&b, true);
        fake_input("PUMP_SENSE", true, true);
        dispatch();
        set_pump(&b, false);
        advance(USEC_PER_SEC);
        CHECK_EQ_U(count(DRIVER_OUTPUT_MISMATCH, b.pump, NULL), 1);
        fake_input("PUMP_SENSE", false, true);
        dispatch();
        advance(0);
        CHECK_EQ_U(count(DRIVER_OUTPUT_MATCHED, b.pump, NULL), 1);
        bench_close(&b);
}

static void test_the_delay_counts_from_the_last_change_of_the_output(void)
{
        struct bench b;
        size_t k = 0;
        usec_t t1;

        if (!bench_open(
                    &b,
                    "buses:\n  pins: {type: gpio, chip: " FAKE_CHIP "}\n"
                    "airbags:\n  pump: {line: PUMP, feedback: {line: PUMP_SENSE}, feedback-delay: 80ms}\n"
                    "  zones:\n    feet: {inflate: {line: INFLATE}, hold: {line: HOLD}}\n"
                    "inputs:\n  emergency-stop: {line: ESTOP}\n",
                    false)) {
                CHECK(false);
                bench_close(&b);
                return;
        }
        CHECK_EQ_U(b.config->ios[b.pump].feedback_delay_usec, 80 * USEC_PER_MSEC);
        set_pump(&b, true); /* the contact never closes */
        advance(30 * USEC_PER_MSEC);
        set_pump(&b, false); /* agrees again: no difference */
        advance(30 * USEC_PER_MSEC);
        set_pump(&b, true); /* a new difference: 80 ms from now */
        t1 = vnow;
        advance(79 * USEC_PER_MSEC);
        CHECK_EQ_U(count(DRIVER_OUTPUT_MISMATCH, IO_NONE, NULL), 0);
        advance(USEC_PER_MSEC);
        CHECK_EQ_U(count(DRIVER_OUTPUT_MISMATCH, b.pump, &k), 1);
        CHECK_EQ_U(heard.at[k], t1 + 80 * USEC_PER_MSEC);
        bench_close(&b);
}

static void test_a_contact_already_closed_at_start_is_a_mismatch(void)
{
        struct bench b;

        /* The relay welded before chaird started: its output is requested off, its contact reads on. */
        if (!bench_open(&b, FEEDBACK_CONFIG, true)) {
                CHECK(false);
                bench_close(&b);
                return;
        }
        advance(50 * USEC_PER_MSEC - 1);
        CHECK_EQ_U(count(DRIVER_OUTPUT_MISMATCH, IO_NONE, NULL), 0);
        advance(1);
        CHECK_EQ_U(count(DRIVER_OUTPUT_MISMATCH, b.pump, NULL), 1);
        bench_close(&b);
}

int main(void)
{
        static const struct test_case tests[] = {
                T(test_output_lines_start_inactive_whatever_their_polarity),
                T(test_input_lines_get_bias_debounce_and_edges),
                T(test_open_drain_output_keeps_its_drive),
                T(test_pwm_alternates_on_and_off_for_the_duty),
                T(test_pwm_extremes_hold_the_line_without_a_timer),
                T(test_missing_chip_is_an_error_not_a_crash),
                T(test_feedback_config_names_its_line_and_takes_the_default_delay),
                T(test_a_contact_that_follows_within_the_delay_is_no_mismatch),
                T(test_a_relay_that_does_not_close_is_a_mismatch_after_the_delay_and_ends_with_the_safe_state),
                T(test_a_welded_relay_is_a_mismatch_until_its_contact_opens_and_the_refresh_says_so_first),
                T(test_the_delay_counts_from_the_last_change_of_the_output),
                T(test_a_contact_already_closed_at_start_is_a_mismatch),
        };
        return tap_run(tests, ELEMENTSOF(tests));
}
