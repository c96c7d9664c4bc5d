/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Loading a route's `handoff` block: how a change of the route's owner
 * holds its new writes while the old owner's writes in flight drain:
 *
 *     handoff: { drain: 5s, hold: 1024 }
 *
 * A key left out takes the http level's `strangler_handoff`.
 */


#include <stdio.h>
#include <string.h>

#include "strangler_load.h"


#define STRANGLER_HANDOFF_MAX_DRAIN  600000     /* 10 minutes */
#define STRANGLER_HANDOFF_MAX_HOLD   1000000


static void strangler_handoff_drain(void *ctx, void *obj,
    yaml_node_t *value);
static void strangler_handoff_hold(void *ctx, void *obj, yaml_node_t *value);


static const strangler_yaml_field_t  strangler_handoff_fields[] = {
    { "drain",  strangler_handoff_drain,  0 },
    { "hold",   strangler_handoff_hold,   0 },
};


void
strangler_load_handoff(void *ctx, void *obj, yaml_node_t *value)
{
    if (value == NULL) {
        return;
    }

    (void) strangler_load_block(ctx, value, "handoff",
                                "{ drain: 5s, hold: 1024 }",
                                strangler_handoff_fields,
                                strangler_nelts(strangler_handoff_fields),
                                obj);
}


static void
strangler_handoff_drain(void *ctx, void *obj, yaml_node_t *value)
{
    uint64_t             ms;
    strangler_str_t      s;
    strangler_route_t   *route;
    strangler_loader_t  *ld;

    ld = ctx;
    route = obj;

    if (value == NULL) {
        return;
    }

    if (!strangler_yaml_scalar(value, &s)
        || !strangler_load_duration(&s, &ms)
        || ms == 0 || ms > STRANGLER_HANDOFF_MAX_DRAIN)
    {
        strangler_load_error(ld, value, "handoff.drain must be a duration "
                             "from 1ms to 10m, such as 5s");
        return;
    }

    route->handoff.drain_ms = (uint32_t) ms;
}


static void
strangler_handoff_hold(void *ctx, void *obj, yaml_node_t *value)
{
    size_t               i;
    uint64_t             v;
    strangler_str_t      s;
    strangler_route_t   *route;
    strangler_loader_t  *ld;

    ld = ctx;
    route = obj;

    if (value == NULL) {
        return;
    }

    v = 0;

    if (strangler_yaml_scalar(value, &s) && s.len > 0) {
        for (i = 0; i < s.len && s.data[i] >= '0' && s.data[i] <= '9'; i++) {
            if (v <= STRANGLER_HANDOFF_MAX_HOLD) {
                v = v * 10 + (s.data[i] - '0');
            }
        }

        if (i == s.len && v <= STRANGLER_HANDOFF_MAX_HOLD) {
            route->handoff.hold = (uint32_t) v;
            route->handoff.has_hold = 1;
            return;
        }
    }

    strangler_load_error(ld, value, "handoff.hold must be an integer from 0 "
                         "to %u", STRANGLER_HANDOFF_MAX_HOLD);
}
