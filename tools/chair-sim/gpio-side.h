/* gpio-side.h: chair-sim's GPIO side. With --gpio-sim LABEL the virtual chair's motors are also wired to the
 * lines of the kernel's gpio-sim chip with that label: it reads the relay lines chaird drives and drives the
 * hall sensor and limit switch lines chaird reads, through gpio-sim's sysfs attributes
 * (docs/reference-board.md lists the line names). A line NAME_SENSE is the monitoring contact of the relay
 * on line NAME: it follows that relay on every tick, unless the relay is stuck. */
#pragma once

#include <stdint.h>

#include "sim.h"

struct gpio_side;

/* Finds the chip labelled label and the lines of each motor on it. 0 or -errno, with a message on stderr. */
int gpio_side_open(const char *label, struct sim *s, struct gpio_side **ret);
struct gpio_side *gpio_side_close(struct gpio_side *g);

/* After the physics moved: reads the relay lines into the motors, and writes the hall and limit lines
 * whose value changed. */
void gpio_side_sync(struct gpio_side *g, struct sim *s, uint64_t now_usec);

/* The relay on line relay (one with a NAME_SENSE line) sticks: its monitoring contact stays at value (0
 * or 1; -1: where it is now) whatever chaird drives, until gpio_side_unstick(). 0, or -ENOENT. */
int gpio_side_stick(struct gpio_side *g, const char *relay, int value);
void gpio_side_unstick(struct gpio_side *g);

/* Writes every hall and limit line again at the next sync, whatever it was (after a test drove one). */
void gpio_side_resync(struct gpio_side *g);

/* Real seconds until a hall line of a moving motor on the chip must change (INFINITY: none moves). */
double gpio_side_next_edge(const struct gpio_side *g, const struct sim *s);
