/* callers.h: who a D-Bus caller is, as far as control goes (root, a member of the control group, or
 * neither), looked up once per connection and remembered. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

struct caller {
        uid_t uid;
        bool member; /* of the control group */
};

struct callers;

/* control_group: the group whose members may control the chair; NULL or a group that does not exist: only
 * root may (logged). */
int callers_new(const char *control_group, struct callers **ret);
struct callers *callers_free(struct callers *c);
/* Who sent m: 0, or a negative errno when the bus cannot tell. */
int callers_lookup(struct callers *c, sd_bus_message *m, struct caller *ret);
