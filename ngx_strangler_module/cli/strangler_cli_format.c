
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * A route's targets in words, for `strangler explain` and `strangler
 * diff`: a percentage from parts per million, where reads go, where the
 * copies go.
 */


#include <stdarg.h>
#include <string.h>

#include "strangler_cli.h"


static size_t strangler_cli_append(char *buf, size_t size, size_t n,
    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static const char *strangler_cli_name(const strangler_table_t *table,
    int b);
static const char *strangler_cli_shadow_to(const strangler_table_t *table,
    const strangler_route_t *route, int writes);


/* "12.5%" from 125000 ppm */

void
strangler_cli_percent(uint32_t ppm, char *buf, size_t size)
{
    char      frac[8];
    size_t    n;
    uint32_t  unit;

    unit = STRANGLER_PPM_PER_PERCENT;

    if (ppm % unit == 0) {
        snprintf(buf, size, "%u%%", ppm / unit);
        return;
    }

    n = (size_t) snprintf(frac, sizeof(frac), "%04u", ppm % unit);

    while (n > 1 && frac[n - 1] == '0') {
        frac[--n] = '\0';
    }

    snprintf(buf, size, "%u.%s%%", ppm / unit, frac);
}


/* "messages", or "messages=20 monolith=80 (sticky header:X-User-Id)" */

void
strangler_cli_describe_reads(const strangler_table_t *table,
    const strangler_route_t *route, char *buf, size_t size)
{
    size_t  i, n;

    if (route->nreads == 1) {
        snprintf(buf, size, "%s",
                 strangler_cli_name(table, route->reads[0].backend));
        return;
    }

    buf[0] = '\0';

    for (i = 0, n = 0; i < route->nreads; i++) {
        n = strangler_cli_append(buf, size, n, "%s%s=%u", i ? " " : "",
                                 strangler_cli_name(table,
                                                    route->reads[i].backend),
                                 route->reads[i].weight);
    }

    if (route->sticky == STRANGLER_STICKY_NONE) {
        (void) strangler_cli_append(buf, size, n, " (random)");
        return;
    }

    if (route->sticky == STRANGLER_STICKY_IP) {
        (void) strangler_cli_append(buf, size, n, " (sticky %s)",
                                    strangler_field_name(route->sticky));
        return;
    }

    (void) strangler_cli_append(buf, size, n, " (sticky %s:%.*s)",
                                strangler_field_name(route->sticky),
                                (int) route->sticky_name.len,
                                route->sticky_name.data);
}


/*
 * "none", or "to monolith, 5%, json, ignore $.a header:Date"; writes are
 * copied only in dry-run mode: "dry-run (X-Dry-Run) to messages, ..."
 */

void
strangler_cli_describe_shadow(const strangler_table_t *table,
    const strangler_route_t *route, int writes, char *buf, size_t size)
{
    char                       pct[16];
    size_t                     i, n;
    const strangler_shadow_t  *sh;

    sh = &route->shadow;

    if (!sh->enabled || (writes && !sh->dry_run_writes)) {
        snprintf(buf, size, "none");
        return;
    }

    buf[0] = '\0';
    n = 0;

    if (writes) {
        n = strangler_cli_append(buf, size, n, "dry-run (%.*s) ",
                                 (int) sh->dry_run_header.len,
                                 sh->dry_run_header.data);
    }

    strangler_cli_percent(sh->sample_ppm, pct, sizeof(pct));

    n = strangler_cli_append(buf, size, n, "to %s, %s, %s",
                             strangler_cli_shadow_to(table, route, writes),
                             pct, strangler_compare_name(sh->compare));

    for (i = 0; i < sh->ignore.n; i++) {
        n = strangler_cli_append(buf, size, n, "%s%.*s",
                                 i ? " " : ", ignore ",
                                 (int) sh->ignore.items[i].len,
                                 sh->ignore.items[i].data);
    }

    for (i = 0; i < sh->headers.n; i++) {
        n = strangler_cli_append(buf, size, n, "%s%.*s",
                                 i ? " " : ", headers ",
                                 (int) sh->headers.items[i].len,
                                 sh->headers.items[i].data);
    }
}


/*
 * "reads messages; writes monolith; shadow to monolith, 5%, json", of
 * the classes the methods hold
 */

void
strangler_cli_describe_route(const strangler_table_t *table,
    const strangler_route_t *route, uint32_t methods, char *buf,
    size_t size)
{
    char    reads[STRANGLER_CLI_DESC_LEN], shadow[STRANGLER_CLI_DESC_LEN];
    size_t  n;

    n = 0;
    buf[0] = '\0';

    if (methods & strangler_cli_class_methods(0)) {
        strangler_cli_describe_reads(table, route, reads, sizeof(reads));
        n = strangler_cli_append(buf, size, n, "reads %s", reads);

        if (route->shadow.enabled) {
            strangler_cli_describe_shadow(table, route, 0, shadow,
                                          sizeof(shadow));
            n = strangler_cli_append(buf, size, n, "; shadow %s", shadow);
        }
    }

    if (methods & strangler_cli_class_methods(1)) {
        n = strangler_cli_append(buf, size, n, "%swrites %s", n ? "; " : "",
                                 strangler_cli_name(table, route->owner));

        if (route->shadow.enabled && route->shadow.dry_run_writes) {
            strangler_cli_describe_shadow(table, route, 1, shadow,
                                          sizeof(shadow));
            (void) strangler_cli_append(buf, size, n, "; writes shadow %s",
                                        shadow);
        }
    }
}


/*
 * Where the copies go, as the core decides it for a sampled request; a
 * split's reads are copied to whichever side did not serve.
 */

static const char *
strangler_cli_shadow_to(const strangler_table_t *table,
    const strangler_route_t *route, int writes)
{
    strangler_match_t      match;
    strangler_request_t    req;
    strangler_override_t   all;
    strangler_decision_t   d;

    if (!writes && route->nreads > 1 && route->shadow.to < 0) {
        return "the other side";
    }

    all.reads = STRANGLER_NONE;
    all.owner = STRANGLER_NONE;
    all.sample_ppm = STRANGLER_SAMPLE_SCALE;

    memset(&req, 0, sizeof(strangler_request_t));
    req.method = writes ? STRANGLER_M_POST : STRANGLER_M_GET;
    req.override = &all;

    match.route = route;
    match.rule = STRANGLER_RULE_EXACT;

    strangler_decide(table, &match, &req, &d);

    return d.shadow_to == STRANGLER_NONE ? "none"
                                         : strangler_cli_name(table,
                                                              d.shadow_to);
}


static size_t
strangler_cli_append(char *buf, size_t size, size_t n, const char *fmt, ...)
{
    int      rc;
    va_list  args;

    if (n >= size) {
        return n;
    }

    va_start(args, fmt);
    rc = vsnprintf(buf + n, size - n, fmt, args);
    va_end(args);

    if (rc < 0) {
        return n;
    }

    return (n + rc < size) ? n + rc : size - 1;
}


/* a backend's name (the loader keeps names terminated), NULL for none */

const char *
strangler_cli_backend_name(const strangler_table_t *table, int b)
{
    if (b < 0 || (size_t) b >= table->nbackends) {
        return NULL;
    }

    return table->backends[b].name.data;
}


static const char *
strangler_cli_name(const strangler_table_t *table, int b)
{
    const char  *name;

    name = strangler_cli_backend_name(table, b);

    return name ? name : "-";
}
