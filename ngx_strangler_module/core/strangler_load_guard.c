
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Loading a route's `guard` block: the limits on the reads a backend other
 * than the owner serves, over which the route's reads go back to the owner
 * by themselves:
 *
 *     guard: { error_rate: 1%, mismatch_rate: 2%, latency_p99: 250ms,
 *              window: 10s, min_requests: 50, failures: 2, dry_run: false }
 */


#include <stdio.h>
#include <string.h>

#include "strangler_load.h"
#include "strangler_guard.h"


#define STRANGLER_GUARD_MAX_COUNT  1000000000


static void strangler_guard_error_rate(void *ctx, void *obj,
    yaml_node_t *value);
static void strangler_guard_mismatch_rate(void *ctx, void *obj,
    yaml_node_t *value);
static void strangler_guard_rate(strangler_loader_t *ld, yaml_node_t *value,
    const char *key, int32_t *ppm);
static void strangler_guard_latency(void *ctx, void *obj, yaml_node_t *value);
static void strangler_guard_window(void *ctx, void *obj, yaml_node_t *value);
static void strangler_guard_min_requests(void *ctx, void *obj,
    yaml_node_t *value);
static void strangler_guard_failures(void *ctx, void *obj,
    yaml_node_t *value);
static int strangler_guard_count(strangler_loader_t *ld, yaml_node_t *value,
    const char *key, uint32_t max, uint32_t *n);
static void strangler_guard_dry_run(void *ctx, void *obj, yaml_node_t *value);
static void strangler_guard_check(strangler_loader_t *ld,
    strangler_route_t *route, yaml_node_t *map);


static const strangler_yaml_field_t  strangler_guard_fields[] = {
    { "error_rate",     strangler_guard_error_rate,     0 },
    { "mismatch_rate",  strangler_guard_mismatch_rate,  0 },
    { "latency_p99",    strangler_guard_latency,        0 },
    { "window",         strangler_guard_window,         1 },
    { "min_requests",   strangler_guard_min_requests,   0 },
    { "failures",       strangler_guard_failures,       0 },
    { "dry_run",        strangler_guard_dry_run,        0 },
};


static const struct {
    const char  *unit;
    size_t       len;
    uint64_t     ms;
} strangler_guard_units[] = {
    { "ms", 2, 1 },
    { "s",  1, 1000 },
    { "m",  1, 60000 },
    { "h",  1, 3600000 },
};


void
strangler_load_guard(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_route_t  *route;

    route = obj;

    if (value == NULL) {
        return;
    }

    route->guard.enabled = 1;

    if (strangler_load_block(ctx, value, "guard",
                             "{ error_rate: 1%, window: 10s }",
                             strangler_guard_fields,
                             strangler_nelts(strangler_guard_fields), route))
    {
        strangler_guard_check(ctx, route, value);
    }
}


/* what the block means as a whole, once each key is read */

static void
strangler_guard_check(strangler_loader_t *ld, strangler_route_t *route,
    yaml_node_t *map)
{
    yaml_node_t        *node;
    strangler_guard_t  *guard;

    guard = &route->guard;

    /* a key with a bad value has had its error already */

    if (strangler_yaml_get(&ld->y, map, "error_rate") == NULL
        && strangler_yaml_get(&ld->y, map, "mismatch_rate") == NULL
        && strangler_yaml_get(&ld->y, map, "latency_p99") == NULL)
    {
        strangler_load_error(ld, map, "guard watches nothing: set "
                             "error_rate, mismatch_rate or latency_p99");
    }

    node = strangler_yaml_get(&ld->y, map, "mismatch_rate");

    if (node && guard->mismatch_ppm >= 0
        && (!route->shadow.enabled
            || route->shadow.compare == STRANGLER_COMPARE_OFF))
    {
        strangler_load_error(ld, node, "guard.mismatch_rate needs a shadow "
                             "that compares (shadow.compare other than "
                             "off)");
    }
}


static void
strangler_guard_error_rate(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_route_t  *route = obj;

    strangler_guard_rate(ctx, value, "error_rate", &route->guard.error_ppm);
}


static void
strangler_guard_mismatch_rate(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_route_t  *route = obj;

    strangler_guard_rate(ctx, value, "mismatch_rate",
                         &route->guard.mismatch_ppm);
}


/* "1%", "0.5%": the % is required, so that 0.01 cannot mean 1% */

static void
strangler_guard_rate(strangler_loader_t *ld, yaml_node_t *value,
    const char *key, int32_t *ppm)
{
    uint32_t         n;
    strangler_str_t  s;

    *ppm = -1;

    if (value == NULL) {
        return;
    }

    if (strangler_yaml_scalar(value, &s) && s.len > 1
        && s.data[s.len - 1] == '%')
    {
        s.len--;

        if (strangler_load_percent(&s, &n)) {
            *ppm = (int32_t) n;
            return;
        }
    }

    strangler_load_error(ld, value, "guard.%s must be a percentage from 0%% "
                         "to 100%%, such as 1%% or 0.5%%", key);
}


static void
strangler_guard_latency(void *ctx, void *obj, yaml_node_t *value)
{
    uint64_t             ms;
    strangler_str_t      s;
    strangler_route_t   *route;
    strangler_loader_t  *ld;

    ld = ctx;
    route = obj;

    route->guard.latency_p99_ms = -1;

    if (value == NULL) {
        return;
    }

    if (!strangler_yaml_scalar(value, &s)
        || !strangler_load_duration(&s, &ms) || ms == 0)
    {
        strangler_load_error(ld, value, "guard.latency_p99 must be a "
                             "duration, such as 250ms or 1s");
        return;
    }

    /* the histogram's last finite bound: a p99 above it is not measured */

    if (ms >= STRANGLER_TIME_MAX_MS) {
        strangler_load_error(ld, value, "guard.latency_p99 must be under "
                             "%ds, the largest bucket of the upstream time "
                             "histogram", STRANGLER_TIME_MAX_MS / 1000);
        return;
    }

    route->guard.latency_p99_ms = (int32_t) ms;
}


static void
strangler_guard_window(void *ctx, void *obj, yaml_node_t *value)
{
    uint64_t             ms;
    strangler_str_t      s;
    strangler_route_t   *route;
    strangler_loader_t  *ld;

    ld = ctx;
    route = obj;

    if (!strangler_yaml_scalar(value, &s)
        || !strangler_load_duration(&s, &ms))
    {
        strangler_load_error(ld, value, "guard.window must be a duration, "
                             "such as 10s or 1m");
        return;
    }

    if (ms < STRANGLER_GUARD_MIN_WINDOW || ms > STRANGLER_GUARD_MAX_WINDOW) {
        strangler_load_error(ld, value, "guard.window must be from 1s to 1h");
        return;
    }

    route->guard.window_ms = (uint32_t) ms;
}


/* up to an hour (the longest guard window) */

int
strangler_load_duration(const strangler_str_t *s, uint64_t *ms)
{
    size_t    i, k;
    uint64_t  n;

    n = 0;

    for (i = 0; i < s->len && s->data[i] >= '0' && s->data[i] <= '9'; i++) {
        n = n * 10 + (s->data[i] - '0');

        if (n > STRANGLER_GUARD_MAX_WINDOW) {
            return 0;
        }
    }

    if (i == 0) {
        return 0;
    }

    for (k = 0; k < strangler_nelts(strangler_guard_units); k++) {
        if (s->len - i == strangler_guard_units[k].len
            && memcmp(s->data + i, strangler_guard_units[k].unit,
                      s->len - i) == 0)
        {
            *ms = n * strangler_guard_units[k].ms;
            return 1;
        }
    }

    return 0;
}


static void
strangler_guard_min_requests(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_route_t  *route = obj;

    route->guard.min_requests = STRANGLER_GUARD_MIN_REQUESTS;

    if (value) {
        (void) strangler_guard_count(ctx, value, "min_requests",
                                     STRANGLER_GUARD_MAX_COUNT,
                                     &route->guard.min_requests);
    }
}


static void
strangler_guard_failures(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_route_t  *route = obj;

    route->guard.failures = STRANGLER_GUARD_FAILURES;

    if (value) {
        (void) strangler_guard_count(ctx, value, "failures",
                                     STRANGLER_GUARD_MAX_FAILURES,
                                     &route->guard.failures);
    }
}


/* a positive integer up to max; 0 after an error */

static int
strangler_guard_count(strangler_loader_t *ld, yaml_node_t *value,
    const char *key, uint32_t max, uint32_t *n)
{
    size_t           i;
    uint64_t         v;
    strangler_str_t  s;

    v = 0;

    if (strangler_yaml_scalar(value, &s)) {
        for (i = 0; i < s.len && s.data[i] >= '0' && s.data[i] <= '9'; i++) {
            if (v <= max) {
                v = v * 10 + (s.data[i] - '0');
            }
        }

        if (i == s.len && v >= 1 && v <= max) {
            *n = (uint32_t) v;
            return 1;
        }
    }

    strangler_load_error(ld, value, "guard.%s must be an integer from 1 to "
                         "%u", key, max);

    return 0;
}


static void
strangler_guard_dry_run(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_str_t      s;
    strangler_route_t   *route;
    strangler_loader_t  *ld;

    ld = ctx;
    route = obj;

    if (value == NULL) {
        return;
    }

    if (strangler_yaml_scalar(value, &s)) {
        if (s.len == 4 && memcmp(s.data, "true", 4) == 0) {
            route->guard.dry_run = 1;
            return;
        }

        if (s.len == 5 && memcmp(s.data, "false", 5) == 0) {
            return;
        }
    }

    strangler_load_error(ld, value, "guard.dry_run must be true or false");
}
