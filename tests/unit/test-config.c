/* test-config.c: the hardware config's wiring: buses, I/O references and their checks. */
#include <errno.h>

#include "config.h"
#include "../../daemon/motor.h" /* the relay pair's settings */
#include "helpers.h"

/* Loads a config and returns its diagnostics as text (NULL when it loaded cleanly). */
static char *config_errors(const char *yaml)
{
        struct chair_config *c = NULL;
        struct diag_list d = {};
        char *text;
        int r = chair_config_load("chair.yaml", yaml, strlen(yaml), &d, &c);

        diag_sort(&d);
        text = d.n ? diags_text(&d) : NULL;
        CHECK((r == 0) == (c != NULL));
        chair_config_free(c);
        diag_list_clear(&d);
        return text;
}

#define ESTOP "inputs:\n  emergency-stop: {discrete: 0}\n"

static void test_io_reference_names_a_known_bus(void)
{
        _cleanup_free_ char *e = config_errors("buses:\n  board: {type: modbus-tcp, host: 127.0.0.1}\n"
                                               "inputs:\n  emergency-stop: {bus: bord, discrete: 0}\n");
        CHECK_STREQ(e, "4:25: error: unknown bus 'bord'; did you mean 'board'?");
}

static void test_bus_may_be_left_out_only_when_one_fits(void)
{
        _cleanup_free_ char *two = config_errors("buses:\n  a: {type: modbus-tcp, host: h}\n  b: {type: "
                                                 "modbus-rtu, device: /dev/ttyS0}\n" ESTOP);
        _cleanup_free_ char *none = config_errors("buses:\n  pins: {type: gpio, chip: gpiochip0}\n" ESTOP);
        _cleanup_free_ char *mixed = config_errors(
                "buses:\n  a: {type: modbus-tcp, host: h}\n  pins: {type: gpio, chip: gpiochip0}\n"
                "inputs:\n  emergency-stop: {line: ESTOP}\n  presence: {discrete: 4}\n");
        CHECK_STREQ(two, "5:19: error: say which bus: this config has more than one Modbus bus");
        CHECK_STREQ(none, "4:19: error: this config has no Modbus bus (see buses:)");
        CHECK(mixed == NULL);
}

static void test_io_role_decides_the_register_kind(void)
{
        _cleanup_free_ char *e = config_errors(
                "buses:\n  board: {type: modbus-tcp, host: h}\n  pins: {type: gpio, chip: c}\n" ESTOP
                "foot-rollers:\n  speed: {discrete: 17}\n"
                "heaters:\n  lumbar: {levels: [40, 45, 50], output: {holding: 3}, sensor: {bus: pins, line: "
                "T}}\n");
        CHECK_STREQ(
                e,
                "7:10: error: speed must be an output value: a holding register, not a discrete\n"
                "9:64: error: sensor must be an input value: an input or holding register, not a GPIO line");
}

static void test_io_options_must_fit_the_bus_and_direction(void)
{
        _cleanup_free_ char *e =
                config_errors("buses:\n  board: {type: modbus-tcp, host: h}\n  pins: {type: gpio, chip: c}\n"
                              "inputs:\n  emergency-stop: {line: STOP, pwm-period: 10s}\n  presence: "
                              "{discrete: 1, active-low: true}\n"
                              "airbags:\n  pump: {line: PUMP, debounce: 5ms}\n  zones: {arms: {inflate: "
                              "{coil: 1, bus: pins}, hold: {coil: 2}}}\n");
        CHECK_STREQ(e, "5:32: error: pwm-period does not apply to an input\n"
                       "6:27: error: active-low does not apply to a Modbus register\n"
                       "8:22: error: debounce does not apply to an output\n"
                       "9:27: error: inflate: bus 'pins' is a gpio bus; it has no Modbus registers");
}

static void test_io_must_say_where_exactly_once(void)
{
        _cleanup_free_ char *e = config_errors(
                "buses:\n  board: {type: modbus-tcp, host: h}\n"
                "inputs:\n  emergency-stop: {discrete: 0, input: 0}\n  presence: {scale: 2}\n");
        CHECK_STREQ(
                e, "4:19: error: emergency-stop must say where it is wired: one of coil, discrete, input, "
                   "holding "
                   "(Modbus) or line, offset (GPIO)\n"
                   "5:13: error: presence must say where it is wired: one of coil, discrete, input, holding "
                   "(Modbus) or line, offset (GPIO)");
}

static void test_two_outputs_cannot_share_a_place(void)
{
        _cleanup_free_ char *e = config_errors(
                "buses:\n  board: {type: modbus-tcp, host: h, heartbeat: 0}\n  pins: {type: gpio, chip: c}\n"
                "inputs:\n  emergency-stop: {line: X}\n  presence: {discrete: 0}\n"
                "airbags:\n  pump: {coil: 3}\n  zones:\n    arms: {inflate: {coil: 3}, hold: {line: X}}\n"
                "foot-rollers: {speed: {holding: 0}}\n");
        CHECK_STREQ(e, "10:21: error: coil 3 on bus 'board' is already used by airbags.pump (line 8)\n"
                       "10:38: error: GPIO line 'X' on bus 'pins' is already used by inputs.emergency-stop "
                       "(line 5)\n"
                       "11:23: error: holding 0 on bus 'board' is the bus's heartbeat register");
}

static void test_roller_outputs_after_the_travel_are_named_as_the_rollers(void)
{
        _cleanup_free_ char *e = config_errors(
                "buses:\n  b: {type: modbus-tcp, host: h}\n" ESTOP "roller:\n  track-length: 700mm\n"
                "  travel: {target: {holding: 12}, run: {coil: 2}, position: {input: 12}}\n"
                "  kneading: {holding: 13}\n"
                "foot-rollers: {speed: {holding: 13}}\n");
        CHECK_STREQ(e, "9:23: error: holding 13 on bus 'b' is already used by roller.kneading (line 8)");
}

static void test_bus_settings_belong_to_their_type(void)
{
        _cleanup_free_ char *e = config_errors(
                "buses:\n  a: {type: modbus-tcp, host: h, baud: 9600}\n  b: {type: modbus-rtu, rts: up}\n"
                "  c: {type: can}\n" ESTOP);
        CHECK_STREQ(e, "2:34: error: baud is not a setting of a modbus-tcp bus\n"
                       "3:6: error: a modbus-rtu bus needs device\n"
                       "3:30: error: rts only applies with rs485: true\n"
                       "4:13: error: unknown bus type 'can' (expected modbus-tcp, modbus-rtu or gpio)\n"
                       "6:19: error: say which bus: this config has more than one Modbus bus");
}

static void test_the_heartbeat_timeout_needs_a_heartbeat_and_a_register_of_its_own(void)
{
        _cleanup_free_ char *e = config_errors(
                "buses:\n  a: {type: modbus-tcp, host: h, heartbeat-timeout: 1s}\n"
                "  b: {type: modbus-tcp, host: h, heartbeat: 0, heartbeat-timeout-register: 0}\n"
                "  c: {type: modbus-tcp, host: h, heartbeat: 0, heartbeat-timeout: 2s, "
                "heartbeat-timeout-register: 1}\n"
                "inputs:\n  emergency-stop: {bus: a, discrete: 0}\n"
                "foot-rollers: {speed: {bus: c, holding: 1}}\n");
        CHECK_STREQ(
                e,
                "2:34: error: heartbeat-timeout needs heartbeat (the register written every control tick)\n"
                "3:48: error: heartbeat-timeout-register is the heartbeat register itself");
}

static void test_no_output_on_the_heartbeat_timeout_register(void)
{
        _cleanup_free_ char *e = config_errors(
                "buses:\n  c: {type: modbus-tcp, host: h, heartbeat: 0, heartbeat-timeout: 2s, "
                "heartbeat-timeout-register: 1}\n" ESTOP "foot-rollers: {speed: {holding: 1}}\n");
        CHECK_STREQ(e, "5:23: error: holding 1 on bus 'c' is the bus's heartbeat-timeout-register");
}

static void test_roller_techniques_need_their_outputs(void)
{
        _cleanup_free_ char *e = config_errors(
                "buses:\n  b: {type: modbus-tcp, host: h}\n" ESTOP
                "roller:\n  track-length: 700mm\n  techniques: [kneading, tapping]\n  depth-levels: 3\n"
                "  travel: {target: {holding: 12}, run: {coil: 2}, position: {input: 12}}\n  kneading: "
                "{holding: 13}\n");
        struct chair_config *c = NULL;
        struct diag_list d = {};
        const char *bare = "buses:\n  b: {type: modbus-tcp, host: h}\n" ESTOP
                           "roller:\n  track-length: 700mm\n  travel: {target: {holding: 12}, run: {coil: "
                           "2}, position: {input: 12}}\n";

        CHECK_STREQ(e, "7:15: error: the roller lists a technique that needs 'tapping', which is not wired\n"
                       "8:17: error: depth-levels above 1 needs 'depth' wired");
        /* Left to its defaults, a roller can do what its wiring allows: strokes along the track, no
         * depth. */
        CHECK_EQ_U(chair_config_load("chair.yaml", bare, strlen(bare), &d, &c), 0);
        if (c) {
                CHECK_EQ_U(c->roller.techniques, TECHNIQUES_STROKE);
                CHECK_EQ_U(c->roller.depth_levels, 1);
                CHECK(c->roller.width == IO_NONE && c->roller.body_sensor == IO_NONE);
        }
        chair_config_free(c);
        diag_list_clear(&d);
}

static void test_foot_roller_speed_levels_are_1_to_6_and_default_to_6(void)
{
        _cleanup_free_ char *e = config_errors("buses:\n  b: {type: modbus-tcp, host: h}\n" ESTOP
                                               "foot-rollers: {speed: {holding: 17}, speed-levels: 7}\n");
        const char *plain =
                "buses:\n  b: {type: modbus-tcp, host: h}\n" ESTOP "foot-rollers: {speed: {holding: 17}}\n";
        struct chair_config *c = NULL;
        struct diag_list d = {};

        CHECK_STREQ(e, "5:52: error: speed-levels 7 is out of range (1 to 6)");
        CHECK_EQ_U(chair_config_load("chair.yaml", plain, strlen(plain), &d, &c), 0);
        if (c)
                CHECK_EQ_U(c->foot_speed_levels, 6);
        chair_config_free(c);
        diag_list_clear(&d);
}

static void test_heat_levels_stay_below_the_ceiling(void)
{
        _cleanup_free_ char *e = config_errors(
                "buses:\n  b: {type: modbus-tcp, host: h}\n" ESTOP
                "heaters:\n  lumbar: {levels: [45, 55, 62], output: {coil: 14}, sensor: {input: 30}}\n"
                "safety:\n  heat-ceiling: 95\n  sensor-max: 90\n  no-progress: 0s\n");
        CHECK_STREQ(e, "8:17: error: heat-ceiling 95 is out of range (30 to 90)\n"
                       "10:16: error: no-progress must be longer than zero");
        free(e);
        e = config_errors(
                "buses:\n  b: {type: modbus-tcp, host: h}\n" ESTOP
                "heaters:\n  lumbar: {levels: [45, 55, 62], output: {coil: 14}, sensor: {input: 30}}\n");
        CHECK_STREQ(
                e,
                "6:3: error: heater 'lumbar': level 3 (62 degrees) must stay below the safety heat-ceiling "
                "(65) minus heat-margin (5)");
}

static void test_every_config_needs_buses_an_emergency_stop_and_motors_that_can_stop(void)
{
        _cleanup_free_ char *e =
                config_errors("recline:\n  axes: {backrest: {}}\n  presets: {upright: {backrest: 0}}\n");
        CHECK_STREQ(e, "1:1: error: the config is missing the required key 'buses'\n"
                       "1:1: error: the config is missing the required key 'inputs'\n"
                       "2:20: error: axis is missing the required key 'target'\n"
                       "2:20: error: axis is missing the required key 'run'\n"
                       "2:20: error: axis is missing the required key 'position'");
}

#define PRESETS     "  presets: {upright: {backrest: 0}}\n"
#define RELAY_BUSES "buses:\n  board: {type: modbus-tcp, host: h}\n  pins: {type: gpio, chip: c}\n" ESTOP

/* A relay-pair motor: extend and retract, and pulses (with pulses-per-travel) or travel-time; its reverse
 * delay defaults to 300 ms, its coast to 500 ms. */
static void test_a_relay_pair_motor_has_its_keys_and_defaults(void)
{
        static const char *const yaml = RELAY_BUSES
                "recline:\n  axes:\n"
                "    backrest: {extend: {line: B_OUT}, retract: {line: B_IN}, travel-time: 20s}\n"
                "    legrest: {extend: {coil: 1}, retract: {coil: 2}, pulses: {line: L_HALL}, "
                "pulses-per-travel: 800,\n"
                "              reverse-delay: 500ms, coast: 1s, limit-start: {line: L_START}}\n"
                "  presets: {upright: {backrest: 0, legrest: 0}}\n";
        struct chair_config *c = load_config_text(yaml);

        CHECK(c != NULL);
        if (!c)
                return;
        const struct motor_config *b = &c->axes[AXIS_BACKREST], *l = &c->axes[AXIS_LEGREST];
        const struct motor_relay_settings *bs = b->settings, *ls = l->settings;
        CHECK(b->kind == &motor_relay_kind);
        CHECK_EQ_U(bs->travel_time_usec, 20 * USEC_PER_SEC);
        CHECK_EQ_U(bs->reverse_delay_usec, 300 * USEC_PER_MSEC);
        CHECK_EQ_U(bs->coast_usec, 500 * USEC_PER_MSEC);
        CHECK(b->io[MOTOR_PULSES] == IO_NONE && b->io[MOTOR_RUN] == IO_NONE);
        CHECK_EQ_U(ls->pulses_per_travel, 800);
        CHECK_EQ_U(ls->reverse_delay_usec, 500 * USEC_PER_MSEC);
        CHECK_EQ_U(ls->coast_usec, USEC_PER_SEC);
        CHECK_EQ_U(c->ios[l->io[MOTOR_PULSES]].role, IO_IN_COUNTER);
        CHECK_EQ_U(c->ios[l->io[MOTOR_PULSES]].table, IO_LINE);
        CHECK(!c->ios[b->io[MOTOR_EXTEND]].no_safe_value); /* both relays have a safe value: off */
        CHECK(!c->ios[b->io[MOTOR_RETRACT]].no_safe_value);
        chair_config_free(c);
}

static void test_a_relay_pair_motor_is_refused_without_what_it_needs(void)
{
        _cleanup_free_ char *no_time = config_errors(
                RELAY_BUSES
                "recline:\n  axes:\n    backrest: {extend: {line: O}, retract: {line: I}}\n" PRESETS);
        _cleanup_free_ char *no_ppt = config_errors(
                RELAY_BUSES "recline:\n  axes:\n    backrest: {extend: {line: O}, retract: {line: I}, "
                            "pulses: {input: 5}, travel-time: 9s}\n" PRESETS);
        _cleanup_free_ char *half = config_errors(
                RELAY_BUSES
                "recline:\n  axes:\n    backrest: {extend: {line: O}, travel-time: 9s}\n" PRESETS);
        _cleanup_free_ char *mixed = config_errors(
                RELAY_BUSES "recline:\n  axes:\n    backrest: {extend: {line: O}, retract: {line: I}, "
                            "travel-time: 9s, run: {coil: 1}}\n" PRESETS);
        _cleanup_free_ char *no_home = config_errors(
                RELAY_BUSES "recline:\n  axes:\n    backrest: {extend: {line: O}, retract: {line: I}, "
                            "pulses: {input: 5}, pulses-per-travel: 100}\n" PRESETS);
        _cleanup_free_ char *scaled = config_errors(
                RELAY_BUSES
                "recline:\n  axes:\n    backrest: {extend: {line: O}, retract: {line: I}, "
                "pulses: {input: 5, scale: 0.1}, pulses-per-travel: 100, travel-time: 9s}\n" PRESETS);
        _cleanup_free_ char *slow = config_errors(
                RELAY_BUSES "recline:\n  axes:\n    backrest: {extend: {line: O}, retract: {line: I}, "
                            "travel-time: 25s}\n" PRESETS);

        CHECK_STREQ(
                slow,
                "8:15: error: backrest: travel-time 25 s: homing may take 1.25 times that after the reverse "
                "delay (31.55 s in all), not less than safety.axis-max-run (30 s); raise axis-max-run or "
                "check travel-time");
        CHECK_STREQ(no_time,
                    "8:15: error: axis is missing the required key 'travel-time' (without pulses, the "
                    "position is estimated from it)");
        CHECK_STREQ(no_home,
                    "8:15: error: axis with pulses needs limit-start or travel-time, to find its start "
                    "when its position is unknown");
        CHECK_STREQ(no_ppt,
                    "8:15: error: axis is missing the required key 'pulses-per-travel' (with pulses)");
        CHECK_STREQ(half, "8:15: error: axis is missing the required key 'retract' (a relay pair)");
        CHECK_STREQ(mixed,
                    "8:72: error: run belongs to a board motor; a relay-pair motor (extend, retract) has no "
                    "run");
        CHECK_STREQ(scaled,
                    "8:74: error: scale does not apply to a pulse counter (a running count, wrapping at "
                    "65536)");
}

/* One relay for both directions would drive both at once: the config is refused where it says so. */
static void test_extend_and_retract_cannot_share_an_output(void)
{
        _cleanup_free_ char *e = config_errors(
                RELAY_BUSES "recline:\n  axes:\n    backrest: {extend: {line: O}, retract: {line: O}, "
                            "travel-time: 9s}\n" PRESETS);
        CHECK_STREQ(e, "8:44: error: GPIO line 'O' on bus 'pins' is already used by recline.backrest.extend "
                       "(line 8)");
}

/* The relay recliner of the examples: every motor a relay pair, the hall sensors counted on GPIO lines. */
static void test_the_relay_example_loads_with_relay_motors(void)
{
        _cleanup_free_ char *path = NULL;
        struct chair_config *c = NULL;
        struct diag_list d = {};

        CHECK(asprintf(&path, "%s/config/example-rpi-relays.yaml", SOURCE_ROOT) > 0);
        CHECK_EQ_U(chair_config_load_file(path, &d, &c), 0);
        diag_print(&d, stdout);
        CHECK_EQ_U(d.n, 0);
        if (!c)
                return;
        CHECK(c->axes[AXIS_BACKREST].kind == &motor_relay_kind);
        CHECK(c->axes[AXIS_LEGREST].kind == &motor_relay_kind);
        CHECK(c->roller.travel.kind == &motor_relay_kind);
        CHECK_EQ_U(c->ios[c->axes[AXIS_LEGREST].io[MOTOR_PULSES]].role, IO_IN_COUNTER);
        CHECK(c->roller.travel.io[MOTOR_PULSES] == IO_NONE &&
              motor_config_travel_usec(&c->roller.travel) == 9 * USEC_PER_SEC);
        CHECK_EQ_U(c->ios[c->roller.kneading].role, IO_OUT_SWITCH);
        chair_config_free(c);
}

static void test_shipped_configs_load_with_their_wiring(void)
{
        static const char *const files[] = {"sim.yaml", "sim-rtu.yaml", "example-rpi.yaml"};

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *path = NULL;
                struct chair_config *c = NULL;
                struct diag_list d = {};

                CHECK(asprintf(&path, "%s/config/%s", SOURCE_ROOT, files[i]) > 0);
                CHECK_EQ_U(chair_config_load_file(path, &d, &c), 0);
                diag_print(&d, stdout);
                CHECK_EQ_U(d.n, 0);
                if (!c)
                        continue;
                CHECK(c->axis[AXIS_BACKREST] && c->axis[AXIS_LEGREST] && c->has_roller &&
                      c->has_foot_rollers);
                CHECK_EQ_U(c->n_zones, 5);
                CHECK_EQ_U(c->n_heaters, 2);
                CHECK(c->roller.body_sensor != IO_NONE && c->roller.width != IO_NONE &&
                      c->roller.depth_levels == 5);
                CHECK_EQ_U(c->roller.techniques, TECHNIQUES_ALL);
                const struct io_config *estop = chair_config_io(c, c->estop);
                const struct io_config *target = chair_config_io(c, c->axes[AXIS_BACKREST].io[MOTOR_TARGET]);
                CHECK(estop && target);
                if (!estop || !target)
                        continue;
                CHECK_STREQ(target->name, "recline.backrest.target");
                CHECK_EQ_U(target->table, IO_HOLDING);
                CHECK_EQ_U(target->address, 10);
                CHECK(target->scale == 0.001);
                if (i < 2) { /* the virtual chair: the reference board's discrete input 0 */
                        CHECK_EQ_U(estop->table, IO_DISCRETE);
                        CHECK_EQ_U(estop->address, 0);
                        CHECK_EQ_U(c->buses[0].type, i == 0 ? BUS_MODBUS_TCP : BUS_MODBUS_RTU);
                        CHECK_EQ_U(c->buses[0].heartbeat, 0);
                        CHECK_EQ_U(c->buses[0].heartbeat_timeout_usec, 500 * USEC_PER_MSEC);
                        CHECK_EQ_U(c->buses[0].heartbeat_timeout_register, 1);
                } else { /* the Pi: a GPIO line by name, pulled up */
                        CHECK_EQ_U(estop->table, IO_LINE);
                        CHECK_STREQ(estop->line_name, "GPIO27");
                        CHECK_EQ_U(estop->bias, GPIO_BIAS_PULL_UP);
                        CHECK_EQ_U(estop->debounce_usec, 2 * USEC_PER_MSEC);
                        const struct io_config *heat = chair_config_io(c, c->heaters[0].output);
                        CHECK(heat && heat->active_low && heat->pwm_period_usec == 10 * USEC_PER_SEC);
                        CHECK(c->buses[0].rs485 && c->buses[0].rts == RTS_UP);
                }
                chair_config_free(c);
                diag_list_clear(&d);
        }
}

int main(void)
{
        static const struct test_case tests[] = {
                T(test_io_reference_names_a_known_bus),
                T(test_bus_may_be_left_out_only_when_one_fits),
                T(test_io_role_decides_the_register_kind),
                T(test_io_options_must_fit_the_bus_and_direction),
                T(test_io_must_say_where_exactly_once),
                T(test_two_outputs_cannot_share_a_place),
                T(test_a_relay_pair_motor_has_its_keys_and_defaults),
                T(test_a_relay_pair_motor_is_refused_without_what_it_needs),
                T(test_extend_and_retract_cannot_share_an_output),
                T(test_roller_outputs_after_the_travel_are_named_as_the_rollers),
                T(test_bus_settings_belong_to_their_type),
                T(test_the_heartbeat_timeout_needs_a_heartbeat_and_a_register_of_its_own),
                T(test_no_output_on_the_heartbeat_timeout_register),
                T(test_roller_techniques_need_their_outputs),
                T(test_foot_roller_speed_levels_are_1_to_6_and_default_to_6),
                T(test_heat_levels_stay_below_the_ceiling),
                T(test_every_config_needs_buses_an_emergency_stop_and_motors_that_can_stop),
                T(test_shipped_configs_load_with_their_wiring),
                T(test_the_relay_example_loads_with_relay_motors),
        };
        return tap_run(tests, ELEMENTSOF(tests));
}
