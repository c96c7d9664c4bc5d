
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The routing decision: which backend serves a matched request, why, and
 * where its shadow goes; and the small helpers shared by the module, the
 * `strangler` command and the tests.
 *
 * Writes go to the owner, always and only; the force header, a split or
 * an override of the reads never moves a write.
 */


#include <string.h>

#include "strangler_core.h"


static const char  *strangler_method_names[STRANGLER_M_COUNT] = {
    "GET",
    "HEAD",
    "OPTIONS",
    "POST",
    "PUT",
    "DELETE",
    "PATCH",
    "TRACE",
    "CONNECT",
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
    "OTHER"
};


static const char  *strangler_reason_names[STRANGLER_REASON_COUNT] = {
    "exact",
    "template",
    "regex",
    "prefix",
    "default",
    "split",
    "override",
    "force"
};


static strangler_reason_t strangler_rule_reason(strangler_rule_t rule);
static int strangler_split_pick(const strangler_route_t *route,
    const strangler_request_t *req);
static int strangler_shadow_target(const strangler_route_t *route,
    const strangler_override_t *ov, int owner, int served);


/*
 * The force header pins a read, matched or not, to a backend; a write
 * carrying it still goes to the owner, and the attempt is flagged for the
 * log.  Returns 1 when the read was pinned.
 */

static int
strangler_force(const strangler_table_t *table,
    const strangler_request_t *req, strangler_decision_t *d)
{
    int  b;

    if (req->force.len == 0) {
        return 0;
    }

    if (d->write) {
        d->force_ignored = 1;
        return 0;
    }

    b = strangler_backend_find(table, req->force.data, req->force.len);

    if (b < 0) {
        d->force_unknown = 1;
        return 0;
    }

    d->backend = b;
    d->reason = STRANGLER_REASON_FORCE;

    return 1;
}


void
strangler_decide(const strangler_table_t *table,
    const strangler_match_t *match, const strangler_request_t *req,
    strangler_decision_t *d)
{
    int                          owner, forced;
    uint32_t                     sample;
    const strangler_route_t     *route;
    const strangler_override_t  *ov;

    memset(d, 0, sizeof(strangler_decision_t));

    route = match->route;
    ov = req->override;

    d->route = route;
    d->shadow_to = STRANGLER_NONE;
    d->write = !strangler_method_is_read(req->method)
               || req->method_override != NULL;
    d->method_overridden = (req->method_override != NULL);

    forced = strangler_force(table, req, d);

    if (route == NULL) {
        if (!forced) {
            d->backend = table->default_backend;
            d->reason = STRANGLER_REASON_DEFAULT;
        }

        return;
    }

    owner = (ov && ov->owner >= 0) ? ov->owner : route->owner;

    if (d->write) {
        d->backend = owner;
        d->reason = strangler_rule_reason(match->rule);

        if (owner != route->owner) {
            d->reason = STRANGLER_REASON_OVERRIDE;
        }

    } else if (!forced) {
        if (ov && ov->reads >= 0) {
            d->backend = ov->reads;
            d->reason = STRANGLER_REASON_OVERRIDE;

        } else if (route->nreads > 1) {
            d->backend = strangler_split_pick(route, req);
            d->reason = STRANGLER_REASON_SPLIT;

        } else {
            d->backend = route->nreads ? route->reads[0].backend : owner;
            d->reason = strangler_rule_reason(match->rule);
        }
    }

    if (!route->shadow.enabled
        || (d->write && !route->shadow.dry_run_writes))
    {
        return;
    }

    sample = (ov && ov->sample_ppm >= 0) ? (uint32_t) ov->sample_ppm
                                         : route->shadow.sample_ppm;

    if (req->shadow_random % STRANGLER_SAMPLE_SCALE >= sample) {
        return;
    }

    d->shadow_to = strangler_shadow_target(route, ov, owner, d->backend);
}


/*
 * A weighted pick: the key (the sticky key's hash, else the request's
 * random number) modulo the total weight, over the cumulative weights in
 * the order the table lists them.
 */

static int
strangler_split_pick(const strangler_route_t *route,
    const strangler_request_t *req)
{
    size_t    i;
    uint64_t  key, acc;

    if (route->total_weight == 0) {
        return route->reads[0].backend;
    }

    if (req->sticky_key.data != NULL) {
        key = strangler_hash(req->sticky_key.data, req->sticky_key.len);

    } else {
        key = req->random;
    }

    key %= route->total_weight;
    acc = 0;

    for (i = 0; i < route->nreads; i++) {
        acc += route->reads[i].weight;

        if (key < acc) {
            return route->reads[i].backend;
        }
    }

    return route->reads[route->nreads - 1].backend;
}


/*
 * `shadow.to`, else the other side of the one that served: the owner when
 * it did not serve, else the first reads backend that did not.
 */

static int
strangler_shadow_target(const strangler_route_t *route,
    const strangler_override_t *ov, int owner, int served)
{
    int     to;
    size_t  i;

    to = route->shadow.to;

    if (to < 0) {
        if (owner != served) {
            to = owner;

        } else if (ov && ov->reads >= 0) {
            to = ov->reads;

        } else {
            for (i = 0; i < route->nreads; i++) {
                if (route->reads[i].backend != served) {
                    to = route->reads[i].backend;
                    break;
                }
            }
        }
    }

    if (to < 0 || to == served) {
        return STRANGLER_NONE;
    }

    return to;
}


static strangler_reason_t
strangler_rule_reason(strangler_rule_t rule)
{
    switch (rule) {
    case STRANGLER_RULE_EXACT:
        return STRANGLER_REASON_EXACT;
    case STRANGLER_RULE_TEMPLATE:
        return STRANGLER_REASON_TEMPLATE;
    case STRANGLER_RULE_REGEX:
        return STRANGLER_REASON_REGEX;
    case STRANGLER_RULE_PREFIX:
        return STRANGLER_REASON_PREFIX;
    default:
        return STRANGLER_REASON_DEFAULT;
    }
}


strangler_method_t
strangler_method_parse(const char *name, size_t len)
{
    size_t  m;

    for (m = 0; m < STRANGLER_M_OTHER; m++) {
        if (strlen(strangler_method_names[m]) == len
            && memcmp(strangler_method_names[m], name, len) == 0)
        {
            return (strangler_method_t) m;
        }
    }

    return STRANGLER_M_OTHER;
}


const char *
strangler_method_name(strangler_method_t method)
{
    if ((unsigned) method >= STRANGLER_M_COUNT) {
        method = STRANGLER_M_OTHER;
    }

    return strangler_method_names[method];
}


int
strangler_method_is_valid(const char *name, size_t len)
{
    size_t  i;

    if (len == 0) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if ((name[i] < 'A' || name[i] > 'Z') && name[i] != '_'
            && name[i] != '-')
        {
            return 0;
        }
    }

    return 1;
}


int
strangler_method_is_read(strangler_method_t method)
{
    return method == STRANGLER_M_GET
           || method == STRANGLER_M_HEAD
           || method == STRANGLER_M_OPTIONS;
}


const char *
strangler_reason_name(strangler_reason_t reason)
{
    if ((unsigned) reason >= STRANGLER_REASON_COUNT) {
        return "-";
    }

    return strangler_reason_names[reason];
}


const char *
strangler_rule_name(strangler_rule_t rule)
{
    if ((unsigned) rule >= STRANGLER_RULE_COUNT) {
        return "-";
    }

    /* the rule names are the first reason names */
    return strangler_reason_names[rule];
}


uint32_t
strangler_percent_to_ppm(double percent)
{
    if (!(percent > 0)) {
        return 0;
    }

    if (percent >= 100) {
        return STRANGLER_SAMPLE_SCALE;
    }

    return (uint32_t) (percent * STRANGLER_PPM_PER_PERCENT + 0.5);
}


double
strangler_ppm_to_percent(uint32_t ppm)
{
    return (double) ppm / STRANGLER_PPM_PER_PERCENT;
}


/*
 * The sticky-key hash: FNV-1a 64 over the bytes (offset basis
 * 0xcbf29ce484222325, prime 0x100000001b3), then MurmurHash3's fmix64
 * finaliser so that the low bits, which the split's modulo uses, depend on
 * every byte.  It is part of the product: the same key lands on the same
 * side on every host, process and build, and users pick keys with it.
 */

uint64_t
strangler_hash(const char *data, size_t len)
{
    size_t    i;
    uint64_t  h;

    h = 0xcbf29ce484222325ULL;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char) data[i];
        h *= 0x100000001b3ULL;
    }

    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;

    return h;
}
