
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Loading the `readiness` block, at top level and in a route, where each
 * key set replaces the table's (strangler_plan.h has the defaults):
 *
 *     readiness: { min_compared: 1000, max_differences: 0,
 *                  max_error_ratio: 1.0, max_latency_ratio: 1.5,
 *                  quiet: 1h }
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strangler_load.h"
#include "strangler_plan.h"


static void strangler_readiness_load(strangler_loader_t *ld,
    yaml_node_t *value, strangler_readiness_t *rd, const char *where);
static void strangler_readiness_min_compared(void *ctx, void *obj,
    yaml_node_t *value);
static void strangler_readiness_max_differences(void *ctx, void *obj,
    yaml_node_t *value);
static int strangler_readiness_count(strangler_loader_t *ld,
    yaml_node_t *value, const char *key, uint64_t *n);
static void strangler_readiness_error_ratio(void *ctx, void *obj,
    yaml_node_t *value);
static void strangler_readiness_latency_ratio(void *ctx, void *obj,
    yaml_node_t *value);
static void strangler_readiness_ratio(strangler_loader_t *ld,
    yaml_node_t *value, const char *key, double *ratio);
static void strangler_readiness_quiet(void *ctx, void *obj,
    yaml_node_t *value);


static const strangler_yaml_field_t  strangler_readiness_fields[] = {
    { "min_compared",      strangler_readiness_min_compared,    0 },
    { "max_differences",   strangler_readiness_max_differences, 0 },
    { "max_error_ratio",   strangler_readiness_error_ratio,     0 },
    { "max_latency_ratio", strangler_readiness_latency_ratio,   0 },
    { "quiet",             strangler_readiness_quiet,           0 },
};


static const struct {
    const char  *unit;
    size_t       len;
    int64_t      seconds;
} strangler_readiness_units[] = {
    { "s", 1, 1 },
    { "m", 1, 60 },
    { "h", 1, 3600 },
    { "d", 1, 86400 },
};


/* top level: the defaults, then the keys set; before the routes */

void
strangler_load_readiness_table(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_table_t  *table = obj;

    strangler_readiness_default(&table->readiness);

    if (value) {
        strangler_readiness_load(ctx, value, &table->readiness,
                                 "in readiness");
    }
}


/* a route: the table's, then the keys the route sets */

void
strangler_load_readiness(void *ctx, void *obj, yaml_node_t *value)
{
    char                 where[STRANGLER_LABEL_LEN + 32];
    strangler_route_t   *route;
    strangler_loader_t  *ld;

    ld = ctx;
    route = obj;

    route->readiness = ld->table->readiness;

    if (value) {
        snprintf(where, sizeof(where), "in readiness of %s", ld->label);
        strangler_readiness_load(ld, value, &route->readiness, where);
    }
}


static void
strangler_readiness_load(strangler_loader_t *ld, yaml_node_t *value,
    strangler_readiness_t *rd, const char *where)
{
    if (strangler_yaml_is_null(value)) {
        return;
    }

    if (value->type != YAML_MAPPING_NODE) {
        strangler_load_error(ld, value, "\"readiness\" must be a mapping, "
                             "such as { min_compared: 1000, quiet: 1h }");
        return;
    }

    strangler_yaml_fields(&ld->y, value, strangler_readiness_fields,
                          strangler_nelts(strangler_readiness_fields), where,
                          ld, rd);
}


static void
strangler_readiness_min_compared(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_readiness_t  *rd = obj;

    if (value) {
        (void) strangler_readiness_count(ctx, value, "min_compared",
                                         &rd->min_compared);
    }
}


static void
strangler_readiness_max_differences(void *ctx, void *obj,
    yaml_node_t *value)
{
    strangler_readiness_t  *rd = obj;

    if (value) {
        (void) strangler_readiness_count(ctx, value, "max_differences",
                                         &rd->max_differences);
    }
}


/* an integer from 0 */

static int
strangler_readiness_count(strangler_loader_t *ld, yaml_node_t *value,
    const char *key, uint64_t *n)
{
    size_t           i;
    uint64_t         v;
    strangler_str_t  s;

    v = 0;

    if (strangler_yaml_scalar(value, &s) && s.len) {
        for (i = 0; i < s.len && s.data[i] >= '0' && s.data[i] <= '9'; i++) {
            if (v <= STRANGLER_READINESS_MAX_COUNT) {
                v = v * 10 + (s.data[i] - '0');
            }
        }

        if (i == s.len && v <= STRANGLER_READINESS_MAX_COUNT) {
            *n = v;
            return 1;
        }
    }

    strangler_load_error(ld, value, "readiness.%s must be an integer from 0 "
                         "to %llu", key,
                         (unsigned long long) STRANGLER_READINESS_MAX_COUNT);

    return 0;
}


static void
strangler_readiness_error_ratio(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_readiness_t  *rd = obj;

    if (value) {
        strangler_readiness_ratio(ctx, value, "max_error_ratio",
                                  &rd->max_error_ratio);
    }
}


static void
strangler_readiness_latency_ratio(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_readiness_t  *rd = obj;

    if (value) {
        strangler_readiness_ratio(ctx, value, "max_latency_ratio",
                                  &rd->max_latency_ratio);
    }
}


/* "1", "1.5", "0.25": digits, at most one dot, no sign nor exponent */

static void
strangler_readiness_ratio(strangler_loader_t *ld, yaml_node_t *value,
    const char *key, double *ratio)
{
    char             buf[32];
    size_t           i, dots;
    double           v;
    strangler_str_t  s;

    if (strangler_yaml_scalar(value, &s) && s.len && s.len < sizeof(buf)) {
        for (i = 0, dots = 0; i < s.len; i++) {
            if (s.data[i] == '.') {
                dots++;

            } else if (s.data[i] < '0' || s.data[i] > '9') {
                break;
            }
        }

        if (i == s.len && dots <= 1 && s.data[0] != '.'
            && s.data[s.len - 1] != '.')
        {
            memcpy(buf, s.data, s.len);
            buf[s.len] = '\0';
            v = strtod(buf, NULL);

            if (v <= STRANGLER_READINESS_MAX_RATIO) {
                *ratio = v;
                return;
            }
        }
    }

    strangler_load_error(ld, value, "readiness.%s must be a number from 0 "
                         "to %.0f, such as 1.5", key,
                         STRANGLER_READINESS_MAX_RATIO);
}


/* "0", "90s", "30m", "1h", "2d" */

static void
strangler_readiness_quiet(void *ctx, void *obj, yaml_node_t *value)
{
    size_t                  i, k;
    int64_t                 n;
    strangler_str_t         s;
    strangler_readiness_t  *rd;

    rd = obj;

    if (value == NULL) {
        return;
    }

    if (strangler_yaml_scalar(value, &s)) {
        n = 0;

        for (i = 0; i < s.len && s.data[i] >= '0' && s.data[i] <= '9'; i++) {
            if (n <= STRANGLER_READINESS_MAX_QUIET) {
                n = n * 10 + (s.data[i] - '0');
            }
        }

        if (i > 0 && i == s.len && n == 0) {
            rd->quiet = 0;
            return;
        }

        for (k = 0; i > 0 && k < strangler_nelts(strangler_readiness_units);
             k++)
        {
            if (s.len - i == strangler_readiness_units[k].len
                && memcmp(s.data + i, strangler_readiness_units[k].unit,
                          s.len - i) == 0
                && n * strangler_readiness_units[k].seconds
                   <= STRANGLER_READINESS_MAX_QUIET)
            {
                rd->quiet = n * strangler_readiness_units[k].seconds;
                return;
            }
        }
    }

    strangler_load_error(ctx, value, "readiness.quiet must be a duration "
                         "up to 366d, such as 90s, 30m, 1h or 2d");
}
