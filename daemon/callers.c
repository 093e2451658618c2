/* callers.c: the credentials of D-Bus callers, asked of the bus once per connection and then remembered. A
 * unique name is never reused on a bus, so the answer stays true for as long as that name exists, and a
 * caller's credentials are those of its connection, as the bus's own policy sees them. Without the cache
 * every control call would wait for a synchronous GetConnectionCredentials round trip and a read of /proc
 * (about 200 us of a 500 us call). The least recently used caller gives way. */
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>

#include "callers.h"
#include "log.h"
#include "util.h"

#define CALLER_CACHE_SIZE 16

struct slot {
        char name[64]; /* unique bus name; "" = empty slot */
        struct caller caller;
        uint64_t used; /* clock at the last call */
};

struct callers {
        gid_t control_gid;
        bool have_control_gid;
        struct slot slots[CALLER_CACHE_SIZE];
        uint64_t clock;
};

int callers_new(const char *control_group, struct callers **ret)
{
        struct callers *c = calloc(1, sizeof(*c));

        if (!c)
                return -ENOMEM;
        if (control_group) {
                struct group *g = getgrnam(control_group);
                if (g) {
                        c->control_gid = g->gr_gid;
                        c->have_control_gid = true;
                } else
                        log_warning("Control group '%s' does not exist: only root may control the chair",
                                    control_group);
        }
        *ret = c;
        return 0;
}

struct callers *callers_free(struct callers *c)
{
        free(c);
        return NULL;
}

int callers_lookup(struct callers *c, sd_bus_message *m, struct caller *ret)
{
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        const char *sender = sd_bus_message_get_sender(m);
        struct slot *slot = NULL;
        const gid_t *gids = NULL;
        struct caller who = {};
        gid_t gid;
        int r, n;

        if (sender && strlen(sender) < sizeof(slot->name))
                for (size_t i = 0; i < ELEMENTSOF(c->slots); i++) {
                        struct slot *s = &c->slots[i];
                        if (streq(s->name, sender)) {
                                s->used = ++c->clock;
                                *ret = s->caller;
                                return 0;
                        }
                        if (!slot || s->used < slot->used)
                                slot = s; /* empty slots have used == 0, so they go first */
                }

        r = sd_bus_query_sender_creds(m,
                                      SD_BUS_CREDS_UID | SD_BUS_CREDS_EUID | SD_BUS_CREDS_EGID |
                                              SD_BUS_CREDS_SUPPLEMENTARY_GIDS | SD_BUS_CREDS_AUGMENT,
                                      &creds);
        if (r < 0)
                return r;
        if (sd_bus_creds_get_euid(creds, &who.uid) < 0 && (r = sd_bus_creds_get_uid(creds, &who.uid)) < 0)
                return r;
        if (c->have_control_gid) {
                if (sd_bus_creds_get_egid(creds, &gid) >= 0 && gid == c->control_gid)
                        who.member = true;
                n = sd_bus_creds_get_supplementary_gids(creds, &gids);
                for (int i = 0; i < n && !who.member; i++)
                        who.member = gids[i] == c->control_gid;
        }
        if (slot) {
                strcpy(slot->name, sender);
                slot->caller = who;
                slot->used = ++c->clock;
        }
        *ret = who;
        return 0;
}
