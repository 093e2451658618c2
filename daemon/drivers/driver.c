/* driver.c: creating the driver for a bus, and what every driver shares. */
#include <errno.h>
#include <modbus.h>

#include "driver.h"

const char *driver_strerror(int error)
{
        return modbus_strerror(error); /* strerror()'s text for an errno */
}

int driver_new(const struct chair_config *config, unsigned bus, sd_event *event, driver_handler_t handler,
               void *userdata, struct driver **ret)
{
        struct driver *d = NULL;
        int r;

        if (bus >= config->n_buses)
                return -EINVAL;
        switch (config->buses[bus].type) {
        case BUS_MODBUS_TCP:
        case BUS_MODBUS_RTU:
                r = modbus_driver_new(config, bus, event, &d);
                break;
        case BUS_GPIO:
                r = gpio_driver_new(config, bus, event, &d);
                break;
        default:
                return -EOPNOTSUPP;
        }
        if (r < 0)
                return r;
        d->handler = handler;
        d->userdata = userdata;
        *ret = d;
        return 0;
}

struct driver *driver_free(struct driver *d)
{
        if (d)
                d->ops->free(d);
        return NULL;
}

bool io_safe_value(const struct io_config *io, double *ret)
{
        if (!io_role_is_output(io->role) || io->no_safe_value)
                return false;
        *ret = 0.0; /* switches off, speeds 0: see "Safe values" in docs/config.md */
        return true;
}
