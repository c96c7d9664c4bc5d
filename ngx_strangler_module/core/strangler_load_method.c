
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The top-level `method_override` key: the request headers and query
 * arguments that frameworks (Rails, Laravel, Express's method-override)
 * read as the request's real method.  A read carrying one of them, with any
 * value, is a write: it goes to the owner and is shadowed only as a write.
 * Absent, the four usual ones; `[]` turns the rule off.
 */


#include <string.h>

#include "strangler_load.h"


#define strangler_field_const(from, s)  { from, { s, sizeof(s) - 1 } }


static const strangler_field_t  strangler_method_override_default[] = {
    strangler_field_const(STRANGLER_STICKY_HEADER, "X-HTTP-Method-Override"),
    strangler_field_const(STRANGLER_STICKY_HEADER, "X-HTTP-Method"),
    strangler_field_const(STRANGLER_STICKY_HEADER, "X-Method-Override"),
    strangler_field_const(STRANGLER_STICKY_ARG, "_method"),
};


void
strangler_load_method_override(void *ctx, void *obj, yaml_node_t *value)
{
    size_t                n;
    strangler_str_t       s, name;
    yaml_node_t          *node;
    yaml_node_item_t     *item;
    strangler_field_t    *fields, *f;
    strangler_table_t    *table;
    strangler_loader_t   *ld;

    ld = ctx;
    table = obj;

    if (value == NULL) {
        table->method_overrides = strangler_method_override_default;
        table->nmethod_overrides =
            strangler_nelts(strangler_method_override_default);
        return;
    }

    if (value->type != YAML_SEQUENCE_NODE) {
        strangler_yaml_error(&ld->y, value, "\"method_override\" must be a "
                             "list of header:NAME and arg:NAME, or []");
        return;
    }

    n = strangler_yaml_items(value);

    if (n == 0) {
        return;
    }

    fields = strangler_load_alloc(ld, n * sizeof(strangler_field_t));
    if (fields == NULL) {
        return;
    }

    table->method_overrides = fields;

    for (item = value->data.sequence.items.start;
         item < value->data.sequence.items.top;
         item++)
    {
        node = strangler_yaml_node(&ld->y, *item);

        if (!strangler_yaml_scalar(node, &s)) {
            goto invalid;
        }

        f = &fields[table->nmethod_overrides];
        f->from = strangler_load_field(&s, &name);

        if (f->from != STRANGLER_STICKY_HEADER
            && f->from != STRANGLER_STICKY_ARG)
        {
            goto invalid;
        }

        if (!strangler_load_copy(ld, &name, &f->name)) {
            return;
        }

        table->nmethod_overrides++;
        continue;

    invalid:

        strangler_yaml_error(&ld->y, node, "\"method_override\": expected "
                             "header:NAME or arg:NAME, such as "
                             "header:X-HTTP-Method-Override or arg:_method");
    }
}
