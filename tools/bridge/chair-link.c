/* chair-link.c: chaird as a bridge sees it. State comes from PropertiesChanged (GetAll once, and again when
 * chaird's name reappears), programs from the ObjectManager, events from Finished, ProfileChanged and the
 * Fault property; commands become D-Bus calls whose outcome is the reply. What cannot be answered to anyone
 * (a signal that cannot be read) goes to stderr, the journal of both bridges. */
#include <errno.h>
#include <stdio.h>

#include "busjson.h"
#include "chair-link.h"
#include "command-call.h"

struct chair_link {
        sd_event *event;
        sd_bus *bus;
        struct chair_link_callbacks cb;
        void *userdata;

        json_object *state;    /* every property of the chair, keys as on D-Bus */
        json_object *programs; /* the list of programs, NULL until read */
        json_object *paths;    /* each program's file, by id (not in the list: no page is told a path) */
        char *fault;           /* the last Fault seen, to tell of a fault once per fault */
        bool chaird_present, state_known, available;

        sd_event_source *state_defer; /* coalesces the changes of one loop iteration into one call */
        sd_bus_slot *match_signals, *match_owner, *get_all, *get_objects;
        struct chair_call *calls; /* under way */
};

struct chair_call {
        struct chair_link *link;
        struct chair_call *prev, *next; /* in link->calls */
        sd_bus_slot *slot;
        enum command command;
        json_object *id; /* echoed, or NULL */
        chair_link_reply_t done;
        void (*destroy)(void *userdata);
        void *userdata;
};

/* What a D-Bus error says: its message, or its name when it has none (sd-bus allows a NULL message). */
static const char *bus_error_text(const sd_bus_error *e)
{
        return e->message ?: e->name;
}

static void set_available(struct chair_link *l)
{
        bool available = l->chaird_present && l->state_known;

        if (available == l->available)
                return;
        l->available = available;
        if (l->cb.availability)
                l->cb.availability(l, available, l->userdata);
}

static int on_state_defer(sd_event_source *s, void *userdata)
{
        struct chair_link *l = userdata;

        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        if (l->state_known && l->cb.state_changed)
                l->cb.state_changed(l, l->state, l->userdata);
        return 0;
}

static void state_changed(struct chair_link *l)
{
        (void) sd_event_source_set_enabled(l->state_defer, SD_EVENT_ONESHOT);
}

/* The changes waiting for the end of this loop iteration go out now (before an event that came after
 * them). */
static void state_flush(struct chair_link *l)
{
        int enabled = SD_EVENT_OFF;

        if (sd_event_source_get_enabled(l->state_defer, &enabled) >= 0 && enabled != SD_EVENT_OFF)
                on_state_defer(l->state_defer, l);
}

static void tell_event(struct chair_link *l, json_object *event)
{
        if (l->cb.event)
                l->cb.event(l, event, l->userdata);
}

/* A new latched fault is an event of its own: PropertiesChanged brings Fault and FaultMessage together. The
 * fault found in the very first state is not new (the link just started); one found after chaird came back
 * is (e.g. "interrupted" after chaird ended uncleanly). */
static void check_fault(struct chair_link *l)
{
        json_object *f = NULL, *msg = NULL;
        const char *fault = "";

        if (json_object_object_get_ex(l->state, "Fault", &f) && json_object_is_type(f, json_type_string))
                fault = json_object_get_string(f);
        if (l->fault && streq(fault, l->fault))
                return;
        bool first = !l->fault;
        free(l->fault);
        l->fault = strdup(fault);
        if (first || !fault[0])
                return;
        _cleanup_json_ json_object *e = json_object_new_object();
        if (!e)
                return;
        json_object_object_get_ex(l->state, "FaultMessage", &msg);
        json_object_object_add(e, "event", json_object_new_string("fault"));
        json_object_object_add(e, "name", json_object_new_string(fault));
        json_object_object_add(e, "message", json_object_new_string(msg ? json_object_get_string(msg) : ""));
        state_flush(l);
        tell_event(l, e);
}

static int on_get_all(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        struct chair_link *l = userdata;
        _cleanup_json_ json_object *state = NULL;
        int r;

        l->get_all = sd_bus_slot_unref(l->get_all);
        if (sd_bus_message_is_method_error(m, NULL)) {
                fprintf(stderr, "Cannot read chaird's properties: %s\n",
                        bus_error_text(sd_bus_message_get_error(m)));
                return 0;
        }
        r = bus_message_read_json(m, &state);
        if (r < 0) {
                fprintf(stderr, "Cannot read chaird's properties: %s\n", strerror(-r));
                return 0;
        }
        /* Usage changes on every tick of a session without a signal: in the state it would be stale at once.
         * A client asks for it with the usage command (or reads it on D-Bus, chairctl usage) when wanted. */
        json_object_object_del(state, "Usage");
        json_object_put(l->state);
        l->state = TAKE_PTR(state);
        l->state_known = true;
        set_available(l);
        state_changed(l);
        check_fault(l); /* after the state it is in (e.g. "interrupted" after chaird ended uncleanly) */
        return 0;
}

static int cmp_program(const void *a, const void *b)
{
        json_object *x = *(json_object *const *) a, *y = *(json_object *const *) b, *xi, *yi;

        json_object_object_get_ex(x, "id", &xi);
        json_object_object_get_ex(y, "id", &yi);
        return strcmp(json_object_get_string(xi), json_object_get_string(yi));
}

static int on_get_objects(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        struct chair_link *l = userdata;
        _cleanup_json_ json_object *objects = NULL, *list = NULL, *paths = NULL;
        int r;

        l->get_objects = sd_bus_slot_unref(l->get_objects);
        if (sd_bus_message_is_method_error(m, NULL)) {
                fprintf(stderr, "Cannot list chaird's programs: %s\n",
                        bus_error_text(sd_bus_message_get_error(m)));
                return 0;
        }
        r = bus_message_read_json(m, &objects);
        if (r < 0) {
                fprintf(stderr, "Cannot list chaird's programs: %s\n", strerror(-r));
                return 0;
        }
        list = json_object_new_array();
        paths = json_object_new_object();
        if (!list || !paths)
                return -ENOMEM;
        json_object_object_foreach(objects, path, ifaces)
        {
                json_object *p, *v;
                (void) path;
                if (!json_object_object_get_ex(ifaces, CHAIRD_PROGRAM_INTERFACE, &p))
                        continue;
                json_object *item = json_object_new_object();
                if (!item)
                        return -ENOMEM;
                static const char *const keys[][2] = {
                        {"Id", "id"},
                        {"Name", "name"},
                        {"Description", "description"},
                        {"DurationUSec", "duration-usec"},
                };
                for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                        if (json_object_object_get_ex(p, keys[i][0], &v))
                                json_object_object_add(item, keys[i][1], json_object_get(v));
                if (!json_object_object_get_ex(item, "id", &v)) {
                        json_object_put(item);
                        continue;
                }
                json_object_array_add(list, item);
                json_object *id = v;
                if (json_object_object_get_ex(p, "Path", &v) && json_object_is_type(v, json_type_string))
                        json_object_object_add(paths, json_object_get_string(id), json_object_get(v));
        }
        json_object_array_sort(list, cmp_program);
        json_object_put(l->programs);
        l->programs = TAKE_PTR(list);
        json_object_put(l->paths);
        l->paths = TAKE_PTR(paths);
        if (l->cb.programs_changed)
                l->cb.programs_changed(l, l->programs, l->userdata);
        return 0;
}

static void refresh_programs(struct chair_link *l)
{
        l->get_objects = sd_bus_slot_unref(l->get_objects);
        int r = sd_bus_call_method_async(l->bus, &l->get_objects, CHAIRD_BUS_NAME, CHAIRD_OBJECT_PATH,
                                         "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                                         on_get_objects, l, NULL);
        if (r < 0)
                fprintf(stderr, "Failed to ask chaird for its programs: %s\n", strerror(-r));
}

static void refresh(struct chair_link *l)
{
        l->get_all = sd_bus_slot_unref(l->get_all);
        int r = sd_bus_call_method_async(l->bus, &l->get_all, CHAIRD_BUS_NAME, CHAIRD_OBJECT_PATH,
                                         "org.freedesktop.DBus.Properties", "GetAll", on_get_all, l, "s",
                                         CHAIRD_INTERFACE);
        if (r < 0)
                fprintf(stderr, "Failed to ask chaird for its state: %s\n", strerror(-r));
        refresh_programs(l);
}

static int on_properties_changed(struct chair_link *l, sd_bus_message *m)
{
        _cleanup_json_ json_object *changed = NULL;
        const char *iface;
        int r;

        r = sd_bus_message_read_basic(m, 's', &iface);
        if (r < 0)
                return r;
        if (streq(iface, CHAIRD_PROGRAM_INTERFACE)) {
                refresh_programs(l);
                return 0;
        }
        if (!streq(iface, CHAIRD_INTERFACE) || !streq_ptr(sd_bus_message_get_path(m), CHAIRD_OBJECT_PATH))
                return 0;
        r = bus_message_read_json(m, &changed);
        if (r < 0)
                return r;
        if (!l->state_known)
                return 0; /* GetAll is on its way and brings all of it */
        json_object_object_foreach(changed, key, value)
                json_object_object_add(l->state, key, json_object_get(value));
        state_changed(l);
        check_fault(l);
        return 0;
}

static int on_finished(struct chair_link *l, sd_bus_message *m)
{
        const char *program, *reason;
        int r;

        r = sd_bus_message_read(m, "ss", &program, &reason);
        if (r < 0)
                return r;
        _cleanup_json_ json_object *e = json_object_new_object();
        if (!e)
                return -ENOMEM;
        json_object_object_add(e, "event", json_object_new_string("finished"));
        json_object_object_add(e, "program", json_object_new_string(program));
        json_object_object_add(e, "reason", json_object_new_string(reason));
        /* The properties that changed with it come first: they go out before the event. */
        state_flush(l);
        tell_event(l, e);
        return 0;
}

/* A profile saved, changed or deleted by anyone: a front-end showing it reads it again. */
static int on_profile_changed(struct chair_link *l, sd_bus_message *m)
{
        const char *name;
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        _cleanup_json_ json_object *e = json_object_new_object();
        if (!e)
                return -ENOMEM;
        json_object_object_add(e, "event", json_object_new_string("profile-changed"));
        json_object_object_add(e, "profile", json_object_new_string(name));
        state_flush(l);
        tell_event(l, e);
        return 0;
}

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        struct chair_link *l = userdata;
        const char *member = sd_bus_message_get_member(m), *iface = sd_bus_message_get_interface(m);
        int r = 0;

        if (streq_ptr(iface, "org.freedesktop.DBus.Properties") && streq_ptr(member, "PropertiesChanged"))
                r = on_properties_changed(l, m);
        else if (streq_ptr(iface, CHAIRD_INTERFACE) && streq_ptr(member, "Finished"))
                r = on_finished(l, m);
        else if (streq_ptr(iface, CHAIRD_INTERFACE) && streq_ptr(member, "ProfileChanged"))
                r = on_profile_changed(l, m);
        else if (streq_ptr(iface, "org.freedesktop.DBus.ObjectManager"))
                refresh_programs(l); /* InterfacesAdded, InterfacesRemoved: a reload changed the programs */
        if (r < 0)
                fprintf(stderr, "Cannot read chaird's signal %s: %s\n", member ?: "?", strerror(-r));
        return 0;
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        struct chair_link *l = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 ||
            !streq(name, CHAIRD_BUS_NAME))
                return 0;
        if (new_owner[0])
                fprintf(stderr, "chaird is on the bus (%s).\n", new_owner);
        else
                fprintf(stderr, "chaird left the bus.\n");
        l->chaird_present = new_owner[0];
        l->state_known = false;
        set_available(l);
        if (l->chaird_present)
                refresh(l);
        return 0;
}

/* Commands. */

static void call_free(struct chair_call *c, bool cancelled)
{
        if (!c)
                return;
        if (cancelled && c->destroy)
                c->destroy(c->userdata);
        if (c->prev)
                c->prev->next = c->next;
        else if (c->link)
                c->link->calls = c->next;
        if (c->next)
                c->next->prev = c->prev;
        sd_bus_slot_unref(c->slot);
        json_object_put(c->id);
        free(c);
}

void chair_call_cancel(struct chair_call *c)
{
        call_free(c, true);
}

/* chaird not on the bus, or gone before it answered: the bus's own errors, as one documented error. */
static bool chaird_away(const sd_bus_error *e)
{
        return e && (streq(e->name, "org.freedesktop.DBus.Error.ServiceUnknown") ||
                     streq(e->name, "org.freedesktop.DBus.Error.NameHasNoOwner") ||
                     streq(e->name, "org.freedesktop.DBus.Error.NoReply"));
}

static int on_call_done(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        struct chair_call *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        _cleanup_json_ json_object *reply = NULL, *result = NULL;
        int r;

        if (!e && command_specs[c->command].result) {
                r = bus_message_read_json(m, &result);
                if (r < 0) {
                        char message[128];
                        snprintf(message, sizeof(message), "Cannot read chaird's answer: %s", strerror(-r));
                        reply = command_reply_new(c->id, CHAIRD_ERROR_PREFIX "Failed", message, NULL);
                }
        }
        if (!reply && chaird_away(e)) {
                char message[300];
                snprintf(message, sizeof(message), "chaird is not running or did not answer (%s)",
                         bus_error_text(e));
                reply = command_reply_new(c->id, CHAIRD_ERROR_PREFIX "Unavailable", message, NULL);
        }
        if (!reply)
                reply = command_reply_new(c->id, e ? e->name : NULL, e ? bus_error_text(e) : NULL, result);
        /* The call is over before done hears of it: done may drop its handle, or free the link. */
        struct chair_link *l = c->link;
        chair_link_reply_t done = c->done;
        void *done_userdata = c->userdata;
        void (*destroy)(void *userdata) = c->destroy;
        call_free(c, false);
        if (reply)
                done(l, reply, done_userdata);
        else
                fprintf(stderr, "Cannot answer a command: %s\n", strerror(ENOMEM));
        if (destroy)
                destroy(done_userdata);
        return 0;
}

int chair_link_call(struct chair_link *l, const struct command_request *q, chair_link_reply_t done,
                    void (*destroy)(void *userdata), void *userdata, struct chair_call **ret_call)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        struct chair_call *c;
        int r;

        if (q->error || q->command < 0)
                return -EINVAL;
        r = command_call_new(l->bus, q, &m);
        if (r < 0)
                return r;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        *c = (struct chair_call){
                .command = q->command,
                .id = json_object_get(q->id),
                .done = done,
                .destroy = destroy,
                .userdata = userdata,
        };
        r = sd_bus_call_async(l->bus, &c->slot, m, on_call_done, c, 0);
        if (r < 0) {
                call_free(c, false); /* nothing sent: userdata stays the caller's */
                return r;
        }
        c->link = l;
        c->next = l->calls;
        if (l->calls)
                l->calls->prev = c;
        l->calls = c;
        if (ret_call)
                *ret_call = c;
        return 0;
}

int chair_link_new(sd_event *event, sd_bus *bus, const struct chair_link_callbacks *cb, void *userdata,
                   struct chair_link **ret)
{
        _cleanup_(chair_link_freep) struct chair_link *l = NULL;
        int r;

        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->event = sd_event_ref(event);
        l->bus = sd_bus_ref(bus);
        l->cb = *cb;
        l->userdata = userdata;
        l->state = json_object_new_object();
        if (!l->state)
                return -ENOMEM;
        r = sd_event_add_defer(event, &l->state_defer, on_state_defer, l);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(l->state_defer, SD_EVENT_OFF);
        *ret = TAKE_PTR(l);
        return 0;
}

int chair_link_start(struct chair_link *l)
{
        int r;

        r = sd_bus_add_match(l->bus, &l->match_signals, "type='signal',sender='" CHAIRD_BUS_NAME "'",
                             on_signal, l);
        if (r < 0)
                return r;
        r = sd_bus_add_match(l->bus, &l->match_owner,
                             "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
                             "member='NameOwnerChanged',arg0='" CHAIRD_BUS_NAME "'",
                             on_owner_changed, l);
        if (r < 0)
                return r;
        /* The matches above are in place before the first GetAll: no change can fall between them. */
        l->chaird_present = true;
        refresh(l);
        return 0;
}

struct chair_link *chair_link_free(struct chair_link *l)
{
        if (!l)
                return NULL;
        while (l->calls)
                call_free(l->calls, true);
        sd_event_source_disable_unref(l->state_defer);
        sd_bus_slot_unref(l->match_signals);
        sd_bus_slot_unref(l->match_owner);
        sd_bus_slot_unref(l->get_all);
        sd_bus_slot_unref(l->get_objects);
        json_object_put(l->state);
        json_object_put(l->programs);
        json_object_put(l->paths);
        free(l->fault);
        sd_bus_unref(l->bus);
        sd_event_unref(l->event);
        free(l);
        return NULL;
}

bool chair_link_available(const struct chair_link *l)
{
        return l->available;
}

json_object *chair_link_state(const struct chair_link *l)
{
        return l->state_known ? l->state : NULL;
}

json_object *chair_link_programs(const struct chair_link *l)
{
        return l->programs;
}

const char *chair_link_program_path(const struct chair_link *l, const char *id)
{
        json_object *v;

        if (!l->paths || !json_object_object_get_ex(l->paths, id, &v))
                return NULL;
        return json_object_get_string(v);
}
