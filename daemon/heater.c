/* heater.c: the heaters' regulation (heater.h). An element is on only while its heater has a level, its
 * sensor's reading is below the level's target (after cooling HEAT_HYSTERESIS_C below it, once it has
 * switched off) and that reading is fresh: the bus read it from the device less than heat_reading_limit()
 * ago. A driver delivers a reading only when its value changes, so "fresh" is the bus's word (read_at()),
 * not the time the value last changed. The config check keeps every level at most the ceiling minus
 * heat-margin (at least 1 deg C), so an element on below its target is below target plus margin and below
 * the ceiling as well (docs/safety.md; tests/proofs/heater.c proves it). */
#include <errno.h>
#include <stdlib.h>

#include "heater.h"

static usec_t sensor_poll_usec(const struct chair_config *config, size_t heater)
{
        const struct io_config *io = &config->ios[config->heaters[heater].sensor];

        return io->poll_usec ? io->poll_usec : config->buses[io->bus].poll_usec;
}

usec_t heat_reading_limit(const struct chair_config *config, size_t heater)
{
        return sensor_poll_usec(config, heater) + config->safety.comm_loss_usec;
}

/* Whether heater i has a reading read less than its limit before now, and when it stops being so. */
static bool fresh(const struct heat *h, size_t i, usec_t now, usec_t *ret_expires_usec)
{
        usec_t read_usec;

        if (!h->heaters[i].have_temp ||
            chair_heat_read_at(h->chair, h->config->heaters[i].sensor, &read_usec) < 0)
                return false;
        *ret_expires_usec = read_usec + heat_reading_limit(h->config, i);
        return now < *ret_expires_usec;
}

static void switch_heater(struct heat *h, size_t i, usec_t now)
{
        const struct heater_config *hc = &h->config->heaters[i];
        struct heater *he = &h->heaters[i];
        usec_t expires;
        bool on = false;

        if (he->level > 0 && fresh(h, i, now, &expires)) {
                double target = hc->level_temp_c[he->level - 1];
                on = he->on ? he->temp_c < target : he->temp_c < target - HEAT_HYSTERESIS_C;
        }
        if (on != he->on) {
                he->on = on;
                chair_heat_output(h->chair, hc->output, on);
        }
}

/* The timer: when the first energized element's reading gets too old, to switch it off then; and, while a
 * heater with a level waits for a fresh reading, a poll period on, to look for one (a bus that reads an
 * unchanged value delivers nothing). Off when neither. A timer that cannot be set leaves no element on. */
static void schedule(struct heat *h, usec_t now)
{
        usec_t next = USEC_INFINITY, expires;
        int r;

        for (size_t i = 0; i < h->config->n_heaters; i++) {
                const struct heater *he = &h->heaters[i];
                if (he->level == 0)
                        continue;
                if (!fresh(h, i, now, &expires))
                        expires = now + sensor_poll_usec(h->config, i);
                else if (!he->on)
                        continue; /* a reading that changes is delivered, and regulated then */
                if (expires < next)
                        next = expires;
        }
        if (next == USEC_INFINITY)
                r = sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
        else {
                r = sd_event_source_set_time(h->timer, next);
                if (r >= 0)
                        r = sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT);
        }
        if (r < 0)
                for (size_t i = 0; i < h->config->n_heaters; i++)
                        if (h->heaters[i].on) {
                                h->heaters[i].on = false;
                                chair_heat_output(h->chair, h->config->heaters[i].output, false);
                        }
}

/* Every heater, not only the one whose level or reading changed: schedule() below moves the one timer, and
 * an element whose reading got old in this loop turn, before the timer's run, must go off now, not when the
 * timer comes round again. */
static void regulate(struct heat *h)
{
        usec_t now = now_usec();

        for (size_t i = 0; i < h->config->n_heaters; i++)
                switch_heater(h, i, now);
        schedule(h, now);
}

static int on_heat_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        regulate(userdata);
        return 0;
}

int heat_init(struct heat *h, const struct chair_config *config, struct chair *chair, sd_event *event)
{
        int r;

        *h = (struct heat){config, chair, calloc(config->n_heaters + 1, sizeof(struct heater)), NULL};
        if (!h->heaters)
                return -ENOMEM;
        /* Accuracy 1 ms: an element goes off when its reading is too old, not up to sd-event's default
         * 250 ms later. */
        r = sd_event_add_time(event, &h->timer, CLOCK_MONOTONIC, USEC_INFINITY, USEC_PER_MSEC, on_heat_timer,
                              h);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
}

void heat_done(struct heat *h)
{
        h->timer = sd_event_source_disable_unref(h->timer);
        free(h->heaters);
        h->heaters = NULL;
}

void heat_set_level(struct heat *h, size_t heater, unsigned level)
{
        h->heaters[heater].level = level;
        regulate(h);
}

void heat_reading(struct heat *h, size_t heater, double temp_c)
{
        h->heaters[heater].temp_c = temp_c;
        h->heaters[heater].have_temp = true;
        regulate(h);
}

void heat_safe(struct heat *h)
{
        for (size_t i = 0; i < h->config->n_heaters; i++) {
                h->heaters[i].level = 0;
                h->heaters[i].on = false;
        }
        schedule(h, now_usec());
}
