/* gpio-side.c: the virtual chair's motors on the lines of a gpio-sim chip, and the monitoring contacts of
 * its relays. gpio-sim shows each line in sysfs: `value` reads what its consumer (chaird) drives on an
 * output line, and writing `pull` sets what its consumer reads on an input line, with an edge event as on
 * real hardware. */
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <gpiod.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "gpio-side.h"
#include "gpio.h"
#include "util.h"

/* A motor's lines: the two relays it reads, then the hall sensor and the two limit switches it drives. */
enum { LINE_EXTEND, LINE_RETRACT, LINE_HALL, LINE_START, LINE_END, _LINE_MAX };

static const char *const line_names[_BOARD_MOTOR_MAX][_LINE_MAX] = {
        [BOARD_BACKREST] = {"BACKREST_EXTEND", "BACKREST_RETRACT", "BACKREST_HALL", "BACKREST_UPRIGHT",
                            "BACKREST_FLAT"},
        [BOARD_LEGREST] = {"LEGREST_EXTEND", "LEGREST_RETRACT", "LEGREST_HALL", "LEGREST_RETRACTED",
                           "LEGREST_EXTENDED"},
        [BOARD_ROLLER] = {"ROLLER_EXTEND", "ROLLER_RETRACT", "ROLLER_HALL", "ROLLER_TOP", "ROLLER_BOTTOM"},
};

struct sim_line {
        int fd;     /* its `value` (relays) or `pull` (inputs) attribute; -1: the chip has no such line */
        int driven; /* the level last written to an input line (-1: none yet) */
};

/* A relay line NAME whose monitoring contact is wired back to the line NAME_SENSE: the contact follows the
 * relay, unless the relay is stuck (welded, or its driver dead), when it stays at stuck_value. */
#define SENSE_SUFFIX "_SENSE"
#define MAX_CONTACTS 16

struct contact {
        char name[64];
        struct sim_line relay, sense;
        bool stuck, stuck_value;
};

struct gpio_side {
        struct sim_line lines[_BOARD_MOTOR_MAX][_LINE_MAX];
        struct contact contacts[MAX_CONTACTS];
        size_t n_contacts;
};

/* The chip's folder in sysfs, where gpio-sim puts its sim_gpioN attributes: the character device's. */
static int chip_sysfs(struct gpiod_chip *chip, char *buf, size_t size)
{
        struct stat st;

        if (stat(gpiod_chip_get_path(chip), &st) < 0)
                return -errno;
        snprintf(buf, size, "/sys/dev/char/%u:%u", major(st.st_rdev), minor(st.st_rdev));
        return 0;
}

static int open_line(struct gpiod_chip *chip, const char *sysfs, const char *name, bool input,
                     struct sim_line *l)
{
        char path[PATH_MAX];
        int offset = gpiod_chip_get_line_offset_from_name(chip, name);

        l->fd = -1;
        l->driven = -1;
        if (offset < 0)
                return 0; /* not wired to this chip */
        snprintf(path, sizeof(path), "%s/sim_gpio%d/%s", sysfs, offset, input ? "pull" : "value");
        l->fd = open(path, (input ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
        if (l->fd < 0) {
                int r = -errno;
                fprintf(stderr, "chair-sim: cannot open %s (is the chip a gpio-sim one?): %m\n", path);
                return r;
        }
        return 1;
}

/* Every line NAME_SENSE of the chip whose NAME is a line too. */
static int open_contacts(struct gpio_side *g, struct gpiod_chip *chip, const char *sysfs)
{
        struct gpiod_chip_info *info = gpiod_chip_get_info(chip);
        size_t n = info ? gpiod_chip_info_get_num_lines(info) : 0;
        int r = 0;

        if (!info)
                return -errno;
        gpiod_chip_info_free(info);
        for (size_t offset = 0; r >= 0 && offset < n; offset++) {
                struct gpiod_line_info *li = gpiod_chip_get_line_info(chip, (unsigned) offset);
                const char *name = li ? gpiod_line_info_get_name(li) : NULL;
                size_t len = name ? strlen(name) : 0, suffix = strlen(SENSE_SUFFIX);
                struct contact *c = &g->contacts[g->n_contacts];

                if (g->n_contacts < MAX_CONTACTS && len > suffix && len - suffix < sizeof(c->name) &&
                    streq(name + len - suffix, SENSE_SUFFIX)) {
                        *c = (struct contact){};
                        memcpy(c->name, name, len - suffix);
                        r = open_line(chip, sysfs, c->name, false, &c->relay);
                        if (r > 0)
                                r = open_line(chip, sysfs, name, true, &c->sense);
                        if (r > 0)
                                g->n_contacts++;
                        else if (c->relay.fd >= 0)
                                close(c->relay.fd);
                }
                if (li)
                        gpiod_line_info_free(li);
        }
        return r < 0 ? r : 0;
}

int gpio_side_open(const char *label, struct sim *s, struct gpio_side **ret)
{
        _cleanup_free_ struct gpio_side *g = NULL;
        struct gpiod_chip *chip = NULL;
        char sysfs[128];
        int r, wired = 0;

        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        for (int m = 0; m < _BOARD_MOTOR_MAX; m++)
                for (int i = 0; i < _LINE_MAX; i++)
                        g->lines[m][i].fd = -1;
        r = gpio_open_chip(label, &chip);
        if (r < 0) {
                fprintf(stderr, "chair-sim: no GPIO chip labelled '%s': %s\n", label, strerror(-r));
                return r;
        }
        r = chip_sysfs(chip, sysfs, sizeof(sysfs));
        for (int m = 0; r >= 0 && m < _BOARD_MOTOR_MAX; m++)
                for (int i = 0; r >= 0 && i < _LINE_MAX; i++) {
                        r = open_line(chip, sysfs, line_names[m][i], i >= LINE_HALL, &g->lines[m][i]);
                        wired += r > 0;
                }
        if (r >= 0)
                r = open_contacts(g, chip, sysfs);
        gpiod_chip_close(chip);
        if (r < 0) {
                gpio_side_close(TAKE_PTR(g));
                return r;
        }
        if (wired == 0) {
                fprintf(stderr, "chair-sim: the chip '%s' has none of the motor lines chair-sim knows\n",
                        label);
                return -ENOENT;
        }
        for (int m = 0; m < _BOARD_MOTOR_MAX; m++)
                s->motors[m].on_gpio = g->lines[m][LINE_EXTEND].fd >= 0 && g->lines[m][LINE_RETRACT].fd >= 0;
        *ret = TAKE_PTR(g);
        return 0;
}

struct gpio_side *gpio_side_close(struct gpio_side *g)
{
        if (!g)
                return NULL;
        for (int m = 0; m < _BOARD_MOTOR_MAX; m++)
                for (int i = 0; i < _LINE_MAX; i++)
                        if (g->lines[m][i].fd >= 0)
                                close(g->lines[m][i].fd);
        for (size_t i = 0; i < g->n_contacts; i++) {
                close(g->contacts[i].relay.fd);
                close(g->contacts[i].sense.fd);
        }
        free(g);
        return NULL;
}

static bool read_level(const struct sim_line *l)
{
        char c = '0';

        if (l->fd < 0 || pread(l->fd, &c, 1, 0) != 1)
                return false; /* a relay that cannot be read is open */
        return c == '1';
}

static void drive_level(struct sim_line *l, bool level)
{
        static const char up[] = "pull-up", down[] = "pull-down";

        if (l->fd < 0 || l->driven == level)
                return;
        if (pwrite(l->fd, level ? up : down, level ? sizeof(up) - 1 : sizeof(down) - 1, 0) < 0) {
                fprintf(stderr, "chair-sim: failed to set a gpio-sim line: %m\n");
                return;
        }
        l->driven = level;
}

void gpio_side_sync(struct gpio_side *g, struct sim *s, uint64_t now_usec)
{
        for (int m = 0; m < _BOARD_MOTOR_MAX; m++) {
                struct sim_motor *mo = &s->motors[m];
                struct sim_line *l = g->lines[m];

                if (mo->on_gpio) {
                        mo->line_relay[0] = read_level(&l[LINE_EXTEND]);
                        mo->line_relay[1] = read_level(&l[LINE_RETRACT]);
                        sim_relays_changed(s, m, now_usec);
                }
                drive_level(&l[LINE_HALL], mo->hall);
                drive_level(&l[LINE_START], sim_limit_closed(s, m, 0));
                drive_level(&l[LINE_END], sim_limit_closed(s, m, 1));
        }
        for (size_t i = 0; i < g->n_contacts; i++) {
                struct contact *c = &g->contacts[i];
                drive_level(&c->sense, c->stuck ? c->stuck_value : read_level(&c->relay));
        }
}

int gpio_side_stick(struct gpio_side *g, const char *relay, int value)
{
        for (size_t i = 0; i < g->n_contacts; i++) {
                struct contact *c = &g->contacts[i];
                if (!streq(c->name, relay))
                        continue;
                c->stuck_value = value < 0 ? (c->stuck ? c->stuck_value : read_level(&c->relay)) : value > 0;
                c->stuck = true;
                return 0;
        }
        return -ENOENT;
}

void gpio_side_unstick(struct gpio_side *g)
{
        for (size_t i = 0; i < g->n_contacts; i++)
                g->contacts[i].stuck = false;
}

void gpio_side_resync(struct gpio_side *g)
{
        for (int m = 0; m < _BOARD_MOTOR_MAX; m++)
                for (int i = LINE_HALL; i < _LINE_MAX; i++)
                        g->lines[m][i].driven = -1;
        for (size_t i = 0; i < g->n_contacts; i++)
                g->contacts[i].sense.driven = -1;
}

double gpio_side_next_edge(const struct gpio_side *g, const struct sim *s)
{
        double next = INFINITY;

        for (int m = 0; m < _BOARD_MOTOR_MAX; m++)
                if (g->lines[m][LINE_HALL].fd >= 0)
                        next = fmin(next, sim_next_hall_edge(s, m));
        return next;
}
