/* test-gpio.c: how the GPIO driver requests its lines and runs its slow PWM (the real chip comes with the
 * VM system test and the kernel's gpio-sim). */
#include <errno.h>

#include "driver.h"
#include "gpio.h"
#include "helpers.h"

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

int main(void)
{
        static const struct test_case tests[] = {
                T(test_output_lines_start_inactive_whatever_their_polarity),
                T(test_input_lines_get_bias_debounce_and_edges),
                T(test_open_drain_output_keeps_its_drive),
                T(test_pwm_alternates_on_and_off_for_the_duty),
                T(test_pwm_extremes_hold_the_line_without_a_timer),
                T(test_missing_chip_is_an_error_not_a_crash),
        };
        return tap_run(tests, ELEMENTSOF(tests));
}
