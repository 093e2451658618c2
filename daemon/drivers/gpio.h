/* gpio.h: how the GPIO driver turns a wired line into kernel line settings, and its slow PWM; pure
 * functions, so that the unit tests can pin them without a GPIO chip. */
#pragma once

#include "config.h"

/* What a line is requested with. Values are logical: active means on, pressed, energized, whatever the
 * line's electrical level (the kernel applies active-low). */
struct gpio_line_setup {
        bool output;
        bool active_low;
        enum gpio_bias bias;   /* inputs */
        enum gpio_drive drive; /* outputs */
        usec_t debounce_usec;  /* inputs */
        bool edges;            /* inputs: report both edges on the request's fd */
        bool initial_active;   /* outputs: the value the line takes as it is requested */
};

struct gpiod_chip;

/* Opens a chip by path, name (gpiochip0) or label (pinctrl-bcm2711). 0, -ENODEV or -errno. */
int gpio_open_chip(const char *want, struct gpiod_chip **ret);

void gpio_line_setup(const struct io_config *io, struct gpio_line_setup *ret);

/* Slow PWM: given the duty (0.0 to 1.0) and the period, what the line does next. Returns false when the
 * line stays put (duty 0: off, duty 1: on) and no timer is needed; otherwise *ret_active is the value to
 * set now and *ret_hold_usec how long it holds before the next call. */
bool gpio_pwm_step(double duty, usec_t period_usec, bool active_now, bool *ret_active,
                   usec_t *ret_hold_usec);
