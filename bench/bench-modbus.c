/* bench-modbus: Modbus throughput of the driver over TCP and RTU against chair-sim, as a ratio to bare
 * libmodbus on the same link in the same run; and what one minute of a stock program costs on the bus in
 * write transactions, with and without coalescing. Not a test: it prints figures, it asserts nothing.
 *
 * Usage: bench-modbus BUILD_DIR [PROGRAM.yaml] */
#include <math.h>
#include <modbus.h>

#include "body.h"
#include "driver.h"
#include "program.h"
#include "simctl.h"
#include "timeline.h"

#define ROUNDS    2000
#define TICK_USEC (50 * USEC_PER_MSEC) /* the control tick a program runs on */

static const char *builddir;

/* The floor: libmodbus alone, one register write after another. Transactions per second. */
static double bare_libmodbus(const struct simctl *s, bool rtu)
{
        char port[8];
        modbus_t *ctx;
        usec_t start;

        snprintf(port, sizeof(port), "%d", s->port);
        ctx = rtu ? modbus_new_rtu(s->pty_chaird, 115200, 'N', 8, 1) : modbus_new_tcp_pi("127.0.0.1", port);
        if (!ctx || modbus_set_slave(ctx, 1) < 0 || modbus_connect(ctx) < 0)
                return NAN;
        start = now_usec();
        for (int i = 0; i < ROUNDS; i++)
                if (modbus_write_register(ctx, 13, (uint16_t) (i % 7)) < 0)
                        return NAN;
        double tps = ROUNDS / ((double) (now_usec() - start) / USEC_PER_SEC);
        modbus_close(ctx);
        modbus_free(ctx);
        return tps;
}

/* The driver: a value set, flushed and waited for, over and over. Transactions per second, heartbeats and
 * input polls included, since they share the bus. */
static double through_driver(const struct simctl *s, bool rtu)
{
        _cleanup_(chair_config_freep) struct chair_config *c = sim_load_config(s, rtu, NULL, NULL);
        struct driver *d = NULL;
        struct driver_stats before, after;
        sd_event *e = NULL;
        usec_t start;

        if (!c || sd_event_new(&e) < 0 || driver_new(c, 0, e, NULL, NULL, &d) < 0)
                return NAN;
        driver_sync(d, USEC_PER_SEC);
        driver_stats(d, &before);
        start = now_usec();
        for (int i = 0; i < ROUNDS; i++) {
                driver_set(d, c->roller.kneading, i % 7);
                driver_flush(d);
                if (driver_sync(d, USEC_PER_SEC) < 0)
                        return NAN;
        }
        driver_stats(d, &after);
        double tps = (double) (after.transactions - before.transactions) /
                     ((double) (now_usec() - start) / USEC_PER_SEC);
        driver_free(d);
        sd_event_unref(e);
        return tps;
}

/* A minimal chair model for the replay: each setpoint becomes the outputs it sets. */
static void apply(struct driver *d, const struct chair_config *c, const struct setpoint *sp, bool *inflating)
{
        switch (sp->track) {
        case TRACK_RECLINE:
                for (size_t i = 0; i < c->n_presets; i++)
                        if (streq(c->presets[i].name, sp->preset))
                                for (int a = 0; a < _AXIS_MAX; a++)
                                        if (c->axis[a]) {
                                                driver_set(d, c->axes[a].io[MOTOR_TARGET],
                                                           c->presets[i].position[a]);
                                                driver_set(d, c->axes[a].io[MOTOR_RUN], 1);
                                        }
                break;
        case TRACK_ROLLER: {
                const struct roller_setpoint *r = &sp->roller;
                const struct roller_geometry *g = &c->roller.geometry;
                driver_set(d, c->roller.kneading,
                           r->active && (r->technique & TECHNIQUE_BIT(TECHNIQUE_KNEADING)) ? r->speed : 0);
                driver_set(d, c->roller.tapping,
                           r->active && (r->technique & TECHNIQUES_PERCUSSION) ? r->speed : 0);
                driver_set(d, c->roller.travel.io[MOTOR_RUN], r->active);
                if (r->active) {
                        driver_set(d, c->roller.travel.io[MOTOR_TARGET],
                                   round(body_point_resolve(&r->target, g, g->shoulder_mm) * g->track_mm));
                        driver_set(d, c->roller.depth, r->depth);
                        driver_set(d, c->roller.width, r->width);
                }
                break;
        }
        case TRACK_AIRBAG:
                for (size_t z = 0; z < c->n_zones; z++)
                        if (streq(c->zones[z].name, sp->airbag.zone)) {
                                driver_set(d, c->zones[z].inflate, sp->airbag.valve == VALVE_INFLATE);
                                driver_set(d, c->zones[z].hold, sp->airbag.valve != VALVE_VENT);
                                inflating[z] = sp->airbag.valve == VALVE_INFLATE;
                        }
                bool any = false;
                for (size_t z = 0; z < c->n_zones; z++)
                        any = any || inflating[z];
                driver_set(d, c->pump, any);
                break;
        case TRACK_HEAT:
                for (size_t h = 0; h < c->n_heaters; h++)
                        if (streq(c->heaters[h].zone, sp->heat.zone))
                                driver_set(d, c->heaters[h].output, sp->heat.level > 0);
                break;
        case TRACK_FOOT:
                driver_set(d, c->foot_speed, sp->foot_speed);
                break;
        default:
                break;
        }
}

/* Replays the first minute of a program tick by tick; returns the write transactions it cost, heartbeats
 * left out (one per tick either way). */
static long long replay_minute(const struct simctl *s, const struct timeline *t, bool coalesce,
                               long long *ret_ticks, long long *ret_heartbeats)
{
        _cleanup_(chair_config_freep) struct chair_config *c = sim_load_config(s, false, NULL, NULL);
        bool inflating[16] = {};
        struct driver *d = NULL;
        struct driver_stats before, after;
        sd_event *e = NULL;
        size_t next = 0;
        long long ticks = 0;

        if (!c || sd_event_new(&e) < 0 || driver_new(c, 0, e, NULL, NULL, &d) < 0)
                return -1;
        modbus_driver_set_coalescing(d, coalesce);
        driver_sync(d, USEC_PER_SEC);
        driver_stats(d, &before);
        for (usec_t now = 0; now < 60 * USEC_PER_SEC; now += TICK_USEC, ticks++) {
                for (; next < t->n_points && t->points[next].at_usec <= now; next++)
                        apply(d, c, &t->points[next], inflating);
                driver_flush(d);
                driver_sync(d, USEC_PER_SEC);
        }
        driver_stats(d, &after);
        driver_free(d);
        sd_event_unref(e);
        *ret_ticks = ticks;
        *ret_heartbeats = (long long) (after.heartbeats - before.heartbeats);
        return (long long) ((after.writes - after.heartbeats) - (before.writes - before.heartbeats));
}

int main(int argc, char **argv)
{
        struct simctl tcp = {}, rtu = {};
        const char *program = argc > 2 ? argv[2] : SOURCE_ROOT "/programs/relax.yaml";

        if (argc < 2) {
                fprintf(stderr, "usage: bench-modbus BUILD_DIR [PROGRAM.yaml]\n");
                return 2;
        }
        builddir = argv[1];
        if (sim_start(&tcp, builddir, false, "1") < 0 || sim_start(&rtu, builddir, true, "1") < 0) {
                fprintf(stderr, "bench-modbus: chair-sim did not start\n");
                return 1;
        }

        printf("Modbus transactions per second against chair-sim (%d rounds):\n", ROUNDS);
        printf("%-6s %14s %14s %8s\n", "link", "libmodbus", "driver", "ratio");
        for (int i = 0; i < 2; i++) {
                struct simctl *s = i ? &rtu : &tcp;
                double floor = bare_libmodbus(s, i), driver = through_driver(s, i);
                printf("%-6s %14.0f %14.0f %8.2f\n", i ? "rtu" : "tcp", floor, driver, driver / floor);
        }

        _cleanup_(chair_config_freep) struct chair_config *c = sim_load_config(&tcp, false, NULL, NULL);
        _cleanup_(program_freep) struct program *p = NULL;
        _cleanup_(timeline_freep) struct timeline *t = NULL;
        struct pattern_library lib = {};
        struct diag_list d = {};
        if (!c || pattern_library_load_dir(&lib, SOURCE_ROOT "/programs/patterns", &d) < 0 ||
            program_load_file(program, c, &lib, &d, &p) < 0 || timeline_compile(p, 0, c, &t) < 0) {
                diag_print(&d, stderr);
                return 1;
        }
        diag_list_clear(&d);
        long long ticks, beats, with = replay_minute(&tcp, t, true, &ticks, &beats);
        long long without = replay_minute(&tcp, t, false, &ticks, &beats);
        printf("\nThe first minute of %s: %lld control ticks of %llu ms, %lld heartbeat writes, and\n",
               p->id, ticks, (unsigned long long) (TICK_USEC / USEC_PER_MSEC), beats);
        printf("  output write transactions with coalescing:    %lld\n", with);
        printf("  output write transactions without coalescing: %lld\n", without);
        printf("  ratio: %.2f (coalescing saves %.0f%%)\n", (double) with / (double) without,
               100.0 * (1.0 - (double) with / (double) without));
        t = timeline_free(t);
        p = program_free(p);
        pattern_library_clear(&lib);
        sim_cleanup(&tcp);
        sim_cleanup(&rtu);
        return 0;
}
