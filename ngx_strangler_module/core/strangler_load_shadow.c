
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Loading a route's `shadow` block: where copies of requests go, how many,
 * and how their responses are compared.  Shadowing writes would make two
 * systems apply them, so it is refused unless the shadow side is told to
 * dry-run them by a header.
 */


#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "strangler_load.h"


static void strangler_shadow_to(void *ctx, void *obj, yaml_node_t *value);
static void strangler_shadow_sample(void *ctx, void *obj, yaml_node_t *value);
static void strangler_shadow_compare(void *ctx, void *obj,
    yaml_node_t *value);
static void strangler_shadow_noise(void *ctx, void *obj, yaml_node_t *value);
static void strangler_shadow_noise_relative(void *ctx, void *obj,
    yaml_node_t *value);
static void strangler_shadow_noise_absolute(void *ctx, void *obj,
    yaml_node_t *value);
static void strangler_shadow_percent(strangler_loader_t *ld,
    yaml_node_t *value, uint32_t *ppm, uint32_t dflt, const char *key);
static void strangler_shadow_ignore(void *ctx, void *obj, yaml_node_t *value);
static void strangler_shadow_unordered(void *ctx, void *obj,
    yaml_node_t *value);
static void strangler_shadow_paths(strangler_loader_t *ld,
    yaml_node_t *value, strangler_strs_t *list, const char *key,
    const char *headers);
static const char *strangler_shadow_json_path(const strangler_str_t *s,
    size_t *offset);
static size_t strangler_shadow_quoted_key(const strangler_str_t *s, size_t i);
static void strangler_shadow_headers(void *ctx, void *obj,
    yaml_node_t *value);
static void strangler_shadow_writes(void *ctx, void *obj, yaml_node_t *value);
static void strangler_shadow_dry_run_header(void *ctx, void *obj,
    yaml_node_t *value);
static int strangler_shadow_name_in(const char *name, size_t len,
    const char **names, size_t n);
static int strangler_shadow_list(strangler_loader_t *ld, yaml_node_t *value,
    strangler_strs_t *list, const char *what);
static void strangler_shadow_check(strangler_loader_t *ld,
    strangler_route_t *route, yaml_node_t *map);


static const strangler_yaml_field_t  strangler_shadow_fields[] = {
    { "to",             strangler_shadow_to,             0 },
    { "sample",         strangler_shadow_sample,         0 },
    { "compare",        strangler_shadow_compare,        0 },
    { "ignore",         strangler_shadow_ignore,         0 },
    { "unordered",      strangler_shadow_unordered,      0 },
    { "headers",        strangler_shadow_headers,        0 },
    { "writes",         strangler_shadow_writes,         0 },
    { "dry_run_header", strangler_shadow_dry_run_header, 0 },
    { "noise",          strangler_shadow_noise,          0 },
    { "noise_relative", strangler_shadow_noise_relative, 0 },
    { "noise_absolute", strangler_shadow_noise_absolute, 0 },
};


static const char  *strangler_compare_names[STRANGLER_COMPARE_COUNT] = {
    "off",                      /* STRANGLER_COMPARE_OFF */
    "status",                   /* STRANGLER_COMPARE_STATUS */
    "body",                     /* STRANGLER_COMPARE_BODY */
    "json"                      /* STRANGLER_COMPARE_JSON */
};


const char *
strangler_compare_name(strangler_compare_t compare)
{
    if ((size_t) compare >= strangler_nelts(strangler_compare_names)) {
        return "-";
    }

    return strangler_compare_names[compare];
}


/*
 * Names a dry-run marker must not have: the copy would reach the other
 * side without it, where the write would be applied for real.  Hop-by-hop
 * headers (RFC 9110 7.6.1; RFC 2616 13.5.1; HTTP/2's connection-specific
 * ones) are removed by every proxy; nginx's proxy module sets or removes
 * the others by default (ngx_http_proxy_headers[] and, with proxy_cache,
 * ngx_http_proxy_cache_headers[] in ngx_http_proxy_module.c).
 */

static const char  *strangler_hop_by_hop_headers[] = {
    "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
    "Proxy-Authorization", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
    "HTTP2-Settings"
};

static const char  *strangler_proxy_headers[] = {
    "Host", "Content-Length", "Expect", "If-Modified-Since",
    "If-Unmodified-Since", "If-None-Match", "If-Match", "Range", "If-Range"
};


#define strangler_str_is(s, lit)                                              \
    ((s).len == sizeof(lit) - 1 && memcmp((s).data, lit, (s).len) == 0)


void
strangler_load_shadow(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_route_t  *route;

    route = obj;

    if (value == NULL) {
        return;
    }

    route->shadow.enabled = 1;

    if (strangler_load_block(ctx, value, "shadow",
                             "{ to: monolith, sample: 10 }",
                             strangler_shadow_fields,
                             strangler_nelts(strangler_shadow_fields), route))
    {
        strangler_shadow_check(ctx, route, value);
    }
}


/* what the block means as a whole, once each key is read */

static void
strangler_shadow_check(strangler_loader_t *ld, strangler_route_t *route,
    yaml_node_t *map)
{
    size_t                      i;
    yaml_node_t                *to;
    strangler_shadow_t         *shadow;
    const strangler_backend_t  *b;

    shadow = &route->shadow;

    if (shadow->dry_run_writes && shadow->dry_run_header.len == 0) {
        strangler_load_error(ld, strangler_yaml_get(&ld->y, map, "writes"),
                             "shadow.writes: dry-run needs "
                             "shadow.dry_run_header");
    }

    if (shadow->unordered.n && shadow->compare != STRANGLER_COMPARE_JSON) {
        strangler_load_error(ld, strangler_yaml_get(&ld->y, map, "unordered"),
                             "shadow.unordered needs compare: json");
    }

    if (shadow->noise_ppm && shadow->compare == STRANGLER_COMPARE_OFF) {
        strangler_load_error(ld, strangler_yaml_get(&ld->y, map, "noise"),
                             "shadow.noise needs a comparison "
                             "(compare: status, body or json)");
    }

    /* after an error in a target, the sides are unknown: say nothing */

    to = strangler_yaml_get(&ld->y, map, "to");

    if (route->owner == STRANGLER_NONE || route->nreads == 0
        || (to && shadow->to == STRANGLER_NONE))
    {
        return;
    }

    /* with one backend for everything, the only other side is `to` */

    for (i = 0; i < route->nreads; i++) {
        if (route->reads[i].backend != route->owner) {
            return;
        }
    }

    if (shadow->to == STRANGLER_NONE
        && route->owner != ld->table->default_backend
        && ld->table->default_backend != STRANGLER_NONE)
    {
        /*
         * An owned route: the side that did not serve is the legacy one,
         * the table's default
         */
        shadow->to = ld->table->default_backend;

    } else if (shadow->to == STRANGLER_NONE) {
        strangler_load_error(ld, map, "shadow has no other side; "
                             "set shadow.to");

    } else if (shadow->to == route->owner) {
        b = &ld->table->backends[shadow->to];
        strangler_load_error(ld, to, "shadow.to \"%.*s\" is the backend "
                             "that serves the route; name another one",
                             (int) b->name.len, b->name.data);
    }
}


static void
strangler_shadow_to(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_route_t  *route;

    route = obj;

    if (value) {
        route->shadow.to = strangler_load_backend_ref(ctx, value, "shadow.to");
    }
}


static void
strangler_shadow_sample(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_str_t      s;
    strangler_route_t   *route;
    strangler_loader_t  *ld;

    ld = ctx;
    route = obj;

    if (value == NULL) {
        route->shadow.sample_ppm = STRANGLER_SAMPLE_SCALE;
        return;
    }

    if (!strangler_yaml_scalar(value, &s)
        || !strangler_load_percent(&s, &route->shadow.sample_ppm))
    {
        strangler_load_error(ld, value, "shadow.sample must be a percentage "
                             "from 0 to 100, such as 10 or 0.5");
    }
}


/*
 * Noise cancelling: the share of the compared reads also sent a second time
 * to the side that served the client, and the thresholds of the verdict
 * (strangler_field_is_difference): defaults 0, 20 and 0.03 percent.
 */

static void
strangler_shadow_noise(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_route_t  *route = obj;

    strangler_shadow_percent(ctx, value, &route->shadow.noise_ppm, 0,
                             "noise");
}


static void
strangler_shadow_noise_relative(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_route_t  *route = obj;

    strangler_shadow_percent(ctx, value, &route->shadow.noise_relative_ppm,
                             STRANGLER_NOISE_RELATIVE_PPM, "noise_relative");
}


static void
strangler_shadow_noise_absolute(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_route_t  *route = obj;

    strangler_shadow_percent(ctx, value, &route->shadow.noise_absolute_ppm,
                             STRANGLER_NOISE_ABSOLUTE_PPM, "noise_absolute");
}


static void
strangler_shadow_percent(strangler_loader_t *ld, yaml_node_t *value,
    uint32_t *ppm, uint32_t dflt, const char *key)
{
    strangler_str_t  s;

    if (value == NULL) {
        *ppm = dflt;
        return;
    }

    if (!strangler_yaml_scalar(value, &s) || !strangler_load_percent(&s, ppm)) {
        strangler_load_error(ld, value, "shadow.%s must be a percentage "
                             "from 0 to 100, such as 10 or 0.5", key);
    }
}


/*
 * "12.25" -> 122500 ppm, rounded to the nearest; no exponents, no signs.
 * Decimal arithmetic in integers: no floating point surprises at 100.
 */

int
strangler_load_percent(const strangler_str_t *s, uint32_t *ppm)
{
    size_t    i, digits;
    uint64_t  whole, frac, scale, fraction;

    whole = 0;
    digits = 0;

    for (i = 0; i < s->len && s->data[i] >= '0' && s->data[i] <= '9'; i++) {
        whole = whole * 10 + (s->data[i] - '0');
        digits++;

        if (whole > 100) {
            return 0;
        }
    }

    /*
     * A percent is STRANGLER_PPM_PER_PERCENT (10^4) ppm: one decimal more
     * than that is kept, and rounds; the ones after it cannot change the
     * rounding.  frac counts tenths of a ppm.
     */

    frac = 0;
    fraction = 0;
    scale = STRANGLER_PPM_PER_PERCENT * 10;

    if (i < s->len && s->data[i] == '.') {
        for (i++; i < s->len && s->data[i] >= '0' && s->data[i] <= '9'; i++) {
            if (scale > 1) {
                scale /= 10;
                frac += (s->data[i] - '0') * scale;
            }

            fraction |= s->data[i] - '0';
            digits++;
        }
    }

    if (i != s->len || digits == 0 || (whole == 100 && fraction)) {
        return 0;
    }

    *ppm = (uint32_t) (whole * STRANGLER_PPM_PER_PERCENT + (frac + 5) / 10);

    return 1;
}


static void
strangler_shadow_compare(void *ctx, void *obj, yaml_node_t *value)
{
    size_t               i;
    strangler_str_t      s;
    strangler_route_t   *route;
    strangler_loader_t  *ld;

    ld = ctx;
    route = obj;

    if (value == NULL) {
        route->shadow.compare = STRANGLER_COMPARE_STATUS;
        return;
    }

    if (strangler_yaml_scalar(value, &s)) {
        for (i = 0; i < strangler_nelts(strangler_compare_names); i++) {
            if (s.len == strlen(strangler_compare_names[i])
                && memcmp(s.data, strangler_compare_names[i], s.len) == 0)
            {
                route->shadow.compare = (strangler_compare_t) i;
                return;
            }
        }
    }

    strangler_load_error(ld, value, "shadow.compare must be off, status, "
                         "body or json");
}


static void
strangler_shadow_ignore(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_route_t  *route;

    route = obj;

    strangler_shadow_paths(ctx, value, &route->shadow.ignore, "ignore",
                           "\"header:Name\" or JSON paths such as "
                           "\"$.meta.id\"");
}


/* arrays compared as multisets: their order is not part of the answer */

static void
strangler_shadow_unordered(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_route_t  *route;

    route = obj;

    strangler_shadow_paths(ctx, value, &route->shadow.unordered,
                           "unordered", NULL);
}


/*
 * A list of JSON paths, for `key`; with `headers` (what the list may hold,
 * for the message), "header:Name" too.
 */

static void
strangler_shadow_paths(strangler_loader_t *ld, yaml_node_t *value,
    strangler_strs_t *list, const char *key, const char *headers)
{
    size_t              i, off;
    const char         *why;
    strangler_str_t    *s;
    yaml_node_item_t   *item;
    char                what[160];

    if (value == NULL) {
        return;
    }

    snprintf(what, sizeof(what), "shadow.%s must be a list of %s", key,
             headers ? headers : "JSON paths of arrays, such as "
                                 "\"$.items\"");

    if (!strangler_shadow_list(ld, value, list, what)) {
        return;
    }

    item = value->data.sequence.items.start;

    for (i = 0; i < list->n; i++, item++) {
        s = &list->items[i];
        off = 0;

        if (headers) {
            why = strangler_shadow_ignore_check(s, &off);

        } else if (s->len && s->data[0] == '$') {
            why = strangler_shadow_json_path(s, &off);

        } else {
            why = "expected a JSON path starting with \"$\"";
        }

        if (why) {
            strangler_load_error_at(ld, strangler_yaml_node(&ld->y, *item),
                                    off, "bad shadow.%s \"%.*s\": %s", key,
                                    strangler_quote(*s), why);
        }
    }
}


/*
 * An ignore rule, of the table or of the API: "header:Name" or a JSON
 * path.  Returns NULL, or why not with *offset where.
 */

const char *
strangler_shadow_ignore_check(const strangler_str_t *s, size_t *offset)
{
    *offset = 0;

    if (s->len >= 7 && memcmp(s->data, "header:", 7) == 0) {
        *offset = 7;

        return strangler_load_is_token(s->data + 7, s->len - 7)
               ? NULL : "bad header name";
    }

    return strangler_shadow_json_path(s, offset);
}


/*
 * A JSON path: "$" and one or more of .key, [N], [*], ['quoted key'].
 * Returns NULL, or why not with *offset where.
 */

static const char *
strangler_shadow_json_path(const strangler_str_t *s, size_t *offset)
{
    size_t       i, start;
    const char  *p;

    p = s->data;

    if (s->len == 0 || p[0] != '$') {
        *offset = 0;
        return "expected \"header:Name\" or a JSON path starting with \"$\"";
    }

    for (i = 1; i < s->len; /* void */) {
        *offset = i;

        if (p[i] == '.') {
            for (start = ++i; i < s->len && !strchr(".[]'\"* ", p[i]); i++) {
                /* void */
            }

            if (i == start) {
                *offset = i;
                return "expected a key after \".\" (use [*] for any key)";
            }

        } else if (p[i] == '[') {
            start = ++i;

            if (i < s->len && p[i] == '*') {
                i++;

            } else if (i < s->len && p[i] == '\'') {
                i = strangler_shadow_quoted_key(s, i);

            } else {
                while (i < s->len && p[i] >= '0' && p[i] <= '9') {
                    i++;
                }
            }

            if (i == start || i >= s->len || p[i] != ']') {
                *offset = i;
                return "expected [N], [*] or ['key']";
            }

            i++;

        } else {
            return "expected \".key\", \"[N]\", \"[*]\" or \"['key']\"";
        }
    }

    *offset = i;

    return s->len > 1 ? NULL : "expected at least one .key or [N] after \"$\"";
}


/* past the 'key' that starts at i, \' and \\ escaped; s->len if unclosed */

static size_t
strangler_shadow_quoted_key(const strangler_str_t *s, size_t i)
{
    for (i++; i < s->len && s->data[i] != '\''; i++) {
        if (s->data[i] == '\\' && i + 1 < s->len) {
            i++;
        }
    }

    return i < s->len ? i + 1 : i;
}


static void
strangler_shadow_headers(void *ctx, void *obj, yaml_node_t *value)
{
    size_t               i;
    strangler_str_t     *s;
    yaml_node_item_t    *item;
    strangler_route_t   *route;
    strangler_loader_t  *ld;

    ld = ctx;
    route = obj;

    if (value == NULL
        || !strangler_shadow_list(ld, value, &route->shadow.headers,
                                  "shadow.headers must be a list of header "
                                  "names"))
    {
        return;
    }

    item = value->data.sequence.items.start;

    for (i = 0; i < route->shadow.headers.n; i++, item++) {
        s = &route->shadow.headers.items[i];

        if (!strangler_load_is_token(s->data, s->len)) {
            strangler_load_error(ld, strangler_yaml_node(&ld->y, *item),
                                 "bad header name \"%.*s\" in shadow.headers",
                                 strangler_quote(*s));
        }
    }
}


/* a list of strings, copied; 0 after an error */

static int
strangler_shadow_list(strangler_loader_t *ld, yaml_node_t *value,
    strangler_strs_t *list, const char *what)
{
    size_t             n;
    strangler_str_t    s;
    yaml_node_t       *node;
    yaml_node_item_t  *item;

    if (value->type != YAML_SEQUENCE_NODE) {
        strangler_load_error(ld, value, "%s", what);
        return 0;
    }

    n = strangler_yaml_items(value);

    list->items = strangler_load_alloc(ld, n * sizeof(strangler_str_t));
    if (list->items == NULL) {
        return 0;
    }

    for (item = value->data.sequence.items.start;
         item < value->data.sequence.items.top;
         item++)
    {
        node = strangler_yaml_node(&ld->y, *item);

        if (!strangler_yaml_scalar(node, &s)) {
            strangler_load_error(ld, node, "%s", what);
            return 0;
        }

        if (!strangler_load_copy(ld, &s, &list->items[list->n++])) {
            return 0;
        }
    }

    return 1;
}


static void
strangler_shadow_writes(void *ctx, void *obj, yaml_node_t *value)
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
        if (strangler_str_is(s, "off")) {
            return;
        }

        if (strangler_str_is(s, "dry-run")) {
            route->shadow.dry_run_writes = 1;
            return;
        }
    }

    strangler_load_error(ld, value, "shadow.writes must be \"off\" or "
                         "\"dry-run\": writes go to the owner only");
}


static void
strangler_shadow_dry_run_header(void *ctx, void *obj, yaml_node_t *value)
{
    const char          *why;
    strangler_str_t      s;
    strangler_route_t   *route;
    strangler_loader_t  *ld;

    ld = ctx;
    route = obj;

    if (value == NULL) {
        return;
    }

    if (strangler_yaml_scalar(value, &s)
        && strangler_load_is_token(s.data, s.len))
    {
        why = strangler_dry_run_header_refused(s.data, s.len);

        if (why) {
            strangler_load_error(ld, value, "shadow.dry_run_header "
                                 "\"%.*s\" %s; use a name of your own, "
                                 "such as X-Dry-Run",
                                 strangler_quote(s), why);
        }

        /* kept even when refused: "dry-run needs a header" would mislead */
        strangler_load_copy(ld, &s, &route->shadow.dry_run_header);
        return;
    }

    strangler_load_error(ld, value, "shadow.dry_run_header must be a header "
                         "name, such as X-Dry-Run");
}


/*
 * Why a header name cannot be a dry-run marker, or NULL when it can.  The
 * loader refuses such a table, and the shadow refuses to send a write copy
 * marked with one (whatever loaded the table).
 */

const char *
strangler_dry_run_header_refused(const char *name, size_t len)
{
    if (strangler_shadow_name_in(name, len, strangler_hop_by_hop_headers,
                            strangler_nelts(strangler_hop_by_hop_headers)))
    {
        return "is a hop-by-hop header: proxies remove it, and a write "
               "copy would arrive unmarked";
    }

    if (strangler_shadow_name_in(name, len, strangler_proxy_headers,
                                 strangler_nelts(strangler_proxy_headers)))
    {
        return "is set or removed by nginx's proxy module: a write copy "
               "would arrive unmarked";
    }

    if (len == sizeof(STRANGLER_SHADOW_MARK) - 1
        && strncasecmp(name, STRANGLER_SHADOW_MARK, len) == 0)
    {
        return "marks every copy, reads too: it cannot tell a dry-run write";
    }

    if (memchr(name, '_', len)) {
        return "has an underscore: nginx (underscores_in_headers off) and "
               "other proxies drop it";
    }

    return NULL;
}


static int
strangler_shadow_name_in(const char *name, size_t len, const char **names,
    size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (strlen(names[i]) == len && strncasecmp(name, names[i], len) == 0) {
            return 1;
        }
    }

    return 0;
}
