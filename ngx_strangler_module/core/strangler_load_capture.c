
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Loading a route's `capture` block: the share of its requests recorded
 * by `strangler_capture` for `strangler replay`, and the fields the
 * records hide besides Authorization, Cookie, Set-Cookie and
 * Proxy-Authorization: "header:Name", "arg:name" or a JSON body path.
 */


#include <stdio.h>
#include <string.h>

#include "strangler_load.h"


static void strangler_capture_sample(void *ctx, void *obj,
    yaml_node_t *value);
static void strangler_capture_redact(void *ctx, void *obj,
    yaml_node_t *value);
static const char *strangler_capture_redact_check(const strangler_str_t *s,
    size_t *offset);


static const strangler_yaml_field_t  strangler_capture_fields[] = {
    { "sample",  strangler_capture_sample,  0 },
    { "redact",  strangler_capture_redact,  0 },
};


void
strangler_load_capture(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_route_t  *route;

    route = obj;

    if (value == NULL) {
        return;
    }

    route->capture.enabled = 1;

    (void) strangler_load_block(ctx, value, "capture",
                                "{ sample: 5, redact: [\"arg:token\"] }",
                                strangler_capture_fields,
                                strangler_nelts(strangler_capture_fields),
                                route);
}


static void
strangler_capture_sample(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_str_t      s;
    strangler_route_t   *route;
    strangler_loader_t  *ld;

    ld = ctx;
    route = obj;

    if (value == NULL) {
        route->capture.sample_ppm = STRANGLER_SAMPLE_SCALE;
        return;
    }

    if (!strangler_yaml_scalar(value, &s)
        || !strangler_load_percent(&s, &route->capture.sample_ppm))
    {
        strangler_load_error(ld, value, "capture.sample must be a "
                             "percentage from 0 to 100, such as 5 or 0.5");
    }
}


static void
strangler_capture_redact(void *ctx, void *obj, yaml_node_t *value)
{
    size_t               n, off;
    const char          *why;
    strangler_str_t      s, *list;
    yaml_node_t         *node;
    yaml_node_item_t    *item;
    strangler_route_t   *route;
    strangler_loader_t  *ld;

    ld = ctx;
    route = obj;

    if (value == NULL) {
        return;
    }

    if (value->type != YAML_SEQUENCE_NODE) {
        strangler_load_error(ld, value, "capture.redact must be a list of "
                             "\"header:Name\", \"arg:name\" or JSON paths "
                             "such as \"$.password\"");
        return;
    }

    n = strangler_yaml_items(value);

    list = strangler_load_alloc(ld, (n ? n : 1) * sizeof(strangler_str_t));
    if (list == NULL) {
        return;
    }

    route->capture.redact.items = list;

    for (item = value->data.sequence.items.start;
         item < value->data.sequence.items.top;
         item++)
    {
        node = strangler_yaml_node(&ld->y, *item);

        if (!strangler_yaml_scalar(node, &s)) {
            strangler_load_error(ld, node, "capture.redact must be a list "
                                 "of strings");
            return;
        }

        why = strangler_capture_redact_check(&s, &off);

        if (why) {
            strangler_load_error_at(ld, node, off, "bad capture.redact "
                                    "\"%.*s\": %s", strangler_quote(s), why);
            continue;
        }

        if (!strangler_load_copy(ld, &s,
                                 &list[route->capture.redact.n++]))
        {
            return;
        }
    }
}


/* "arg:name", or what an ignore rule may be: "header:Name", "$.path" */

static const char *
strangler_capture_redact_check(const strangler_str_t *s, size_t *offset)
{
    if (s->len >= 4 && memcmp(s->data, "arg:", 4) == 0) {
        *offset = 4;

        return strangler_load_is_token(s->data + 4, s->len - 4)
               ? NULL : "bad argument name";
    }

    if (s->len && s->data[0] != '$'
        && !(s->len >= 7 && memcmp(s->data, "header:", 7) == 0))
    {
        *offset = 0;
        return "expected \"header:Name\", \"arg:name\" or a JSON path "
               "starting with \"$\"";
    }

    return strangler_shadow_ignore_check(s, offset);
}
