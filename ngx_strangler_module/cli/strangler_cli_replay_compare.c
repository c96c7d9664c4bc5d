
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * `strangler replay`: one request's answers compared as nginx compares a
 * shadow's (strangler_compare() with the route's shadow block, JSON body
 * paths of capture.redact left out on every side), its differences
 * judged against the noise of the primary's two answers by the core's
 * verdict, and its diff log line summed up by `strangler report`'s code.
 */


#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "strangler_cli_replay.h"


/* routes without a shadow block: status and body, byte for byte */
#define STRANGLER_REPLAY_KEY_LEN  (STRANGLER_DIFF_PATH_LEN + 64)


static strangler_shadow_t  strangler_replay_default_conf = {
    .enabled = 1,
    .compare = STRANGLER_COMPARE_BODY,
    .noise_relative_ppm = STRANGLER_NOISE_RELATIVE_PPM,
    .noise_absolute_ppm = STRANGLER_NOISE_ABSOLUTE_PPM,
};


static void strangler_replay_redact(const strangler_route_t *route,
    strangler_replay_answer_t *a);
static void strangler_replay_response(const strangler_route_t *route,
    strangler_replay_answer_t *a, strangler_response_t *r);
static void strangler_replay_failed(strangler_replay_answer_t *p,
    strangler_replay_answer_t *c, strangler_diffs_t *diffs);
static size_t strangler_replay_verdict(strangler_replay_stats_t *st,
    const strangler_route_t *route, strangler_diffs_t *diffs,
    strangler_diffs_t *noise);
static json_t *strangler_replay_field(strangler_replay_stats_t *st,
    const strangler_route_t *route, const char *path, char *key);


int
strangler_replay_stats_init(strangler_replay_stats_t *st,
    const strangler_table_t *table)
{
    memset(st, 0, sizeof(strangler_replay_stats_t));

    st->table = table;
    strangler_report_init(&st->report);
    st->fields = json_object();
    st->compared = calloc(table->nroutes + 1, sizeof(uint64_t));
    st->noise_compared = calloc(table->nroutes + 1, sizeof(uint64_t));

    return st->compared && st->noise_compared && st->fields ? 0 : -1;
}


void
strangler_replay_stats_free(strangler_replay_stats_t *st)
{
    json_decref(st->report.routes);
    json_decref(st->fields);
    free(st->compared);
    free(st->noise_compared);
}


const strangler_shadow_t *
strangler_replay_conf(const strangler_route_t *route)
{
    return route && route->shadow.enabled ? &route->shadow
                                          : &strangler_replay_default_conf;
}


void
strangler_replay_answer_init(strangler_replay_answer_t *a, size_t n)
{
    memset(a, 0, sizeof(strangler_replay_answer_t));

    if (n) {
        a->headers = calloc(n, sizeof(strangler_str_t));
    }
}


void
strangler_replay_answer_free(strangler_replay_answer_t *a, size_t n)
{
    size_t  i;

    for (i = 0; a->headers && i < n; i++) {
        free((char *) a->headers[i].data);
    }

    free(a->headers);
    free(a->error);

    if (a->started) {
        strangler_body_free(&a->body);
    }

    memset(a, 0, sizeof(strangler_replay_answer_t));
}


/* the answer a capture record holds, as its side of a comparison */

int
strangler_replay_recorded(const strangler_route_t *route, json_t *answer,
    strangler_replay_answer_t *a)
{
    long                       n;
    size_t                     i, len;
    json_t                    *headers, *v;
    const char                *key, *b64, *digest;
    unsigned char             *data;
    const strangler_shadow_t  *conf;

    conf = strangler_replay_conf(route);

    a->status = (int) json_integer_value(json_object_get(answer, "status"));

    headers = json_object_get(answer, "headers");

    for (i = 0; i < conf->headers.n; i++) {
        json_object_foreach(headers, key, v) {
            if (strlen(key) == conf->headers.items[i].len
                && strncasecmp(key, conf->headers.items[i].data,
                               conf->headers.items[i].len) == 0
                && json_is_string(v))
            {
                a->headers[i].data = strdup(json_string_value(v));
                a->headers[i].len = json_string_length(v);
                break;
            }
        }
    }

    digest = json_string_value(json_object_get(answer, "body_sha256"));
    b64 = json_string_value(json_object_get(answer, "body"));

    a->started = 1;

    if (digest && strlen(digest) == 64) {
        /* hashed in nginx: the other sides are hashed whatever their size */
        strangler_body_init(&a->body, 0, 0);
        a->body.sha = malloc(1);
        a->body.total = json_integer_value(json_object_get(answer,
                                                           "body_length"));
        memcpy(a->body.digest, digest, 65);
        return a->body.sha ? 0 : -1;
    }

    strangler_body_init(&a->body, STRANGLER_REPLAY_MAX_BODY, 0);

    if (b64 == NULL) {
        a->body.error = "not captured";
        return 0;
    }

    len = strlen(b64);
    data = malloc(len / 4 * 3 + 3);

    if (data == NULL) {
        return -1;
    }

    n = strangler_base64_decode(b64, len, data);

    if (n > 0) {
        strangler_body_add(&a->body, data, (size_t) n);
    }

    free(data);
    strangler_body_end(&a->body);

    return 0;
}


/* the capture's JSON paths and secret headers, hidden as in the record */

static void
strangler_replay_redact(const strangler_route_t *route,
    strangler_replay_answer_t *a)
{
    char                      *red;
    size_t                     i, len;
    strangler_body_t           body;
    const strangler_shadow_t  *conf;

    if (route == NULL || !route->capture.enabled) {
        return;
    }

    conf = strangler_replay_conf(route);

    for (i = 0; i < conf->headers.n; i++) {
        if (a->headers[i].data
            && strangler_record_is_secret_header(&route->capture,
                                                 conf->headers.items[i].data,
                                                 conf->headers.items[i].len))
        {
            free((char *) a->headers[i].data);
            a->headers[i].data = strdup(STRANGLER_RECORD_REDACTED);
            a->headers[i].len = sizeof(STRANGLER_RECORD_REDACTED) - 1;
        }
    }

    if (!a->started || a->body.sha || a->body.error || a->body.data == NULL) {
        return;
    }

    red = strangler_record_redact_body(&route->capture,
                                       (const char *) a->body.data,
                                       a->body.len, &len);
    if (red == NULL) {
        return;
    }

    strangler_body_init(&body, a->body.max, 0);
    strangler_body_add(&body, red, len);
    strangler_body_end(&body);
    free(red);

    strangler_body_free(&a->body);
    a->body = body;
}


static void
strangler_replay_response(const strangler_route_t *route,
    strangler_replay_answer_t *a, strangler_response_t *r)
{
    r->status = a->status;
    r->headers = a->headers;
    r->body = a->started ? &a->body : NULL;
}


/* a side without an answer: the difference is in its status */

static void
strangler_replay_failed(strangler_replay_answer_t *p,
    strangler_replay_answer_t *c, strangler_diffs_t *diffs)
{
    char  pv[STRANGLER_DIFF_VALUE_LEN], sv[STRANGLER_DIFF_VALUE_LEN];

    diffs->count = 0;

    if (p->error) {
        snprintf(pv, sizeof(pv), "(no answer: %s)", p->error);
    } else {
        snprintf(pv, sizeof(pv), "%d", p->status);
    }

    if (c->error) {
        snprintf(sv, sizeof(sv), "(no answer: %s)", c->error);
    } else {
        snprintf(sv, sizeof(sv), "%d", c->status);
    }

    strangler_diff_add(diffs, "status", pv, strlen(pv), sv, strlen(sv));
}


void
strangler_replay_compare(strangler_replay_stats_t *st,
    const strangler_route_t *route, const strangler_replay_item_t *item,
    strangler_replay_answer_t *sides, int has_secondary)
{
    int                        noisy;
    char                       line[16384], now[32];
    size_t                     n, real;
    time_t                     t;
    struct tm                  tm;
    strangler_diffs_t          diffs, noise;
    strangler_diff_line_t      dl;
    strangler_response_t       pr, cr, sr;
    strangler_replay_answer_t *p, *c, *s;
    const strangler_shadow_t  *conf;

    conf = strangler_replay_conf(route);

    p = &sides[STRANGLER_REPLAY_PRIMARY];
    c = &sides[STRANGLER_REPLAY_CANDIDATE];
    s = &sides[STRANGLER_REPLAY_SECONDARY];

    st->sent++;

    if (p->error || c->error) {
        st->failed++;
        strangler_replay_failed(p, c, &diffs);
        noisy = 0;

    } else {
        strangler_replay_redact(route, p);
        strangler_replay_redact(route, c);
        strangler_replay_response(route, p, &pr);
        strangler_replay_response(route, c, &cr);

        strangler_compare(conf, &pr, &cr, &diffs);

        noisy = has_secondary && s->error == NULL;

        if (noisy) {
            strangler_replay_redact(route, s);
            strangler_replay_response(route, s, &sr);
            strangler_compare(conf, &pr, &sr, &noise);
        }

        real = strangler_replay_verdict(st, route, &diffs,
                                        noisy ? &noise : NULL);

        if (diffs.count == 0) {
            st->matched++;
            return;
        }

        if (real == 0) {
            st->noise_only++;

        } else {
            st->mismatched++;
        }
    }

    /* the diff log line nginx would write, summed up by the report */

    t = time(NULL);
    gmtime_r(&t, &tm);
    strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%S+00:00", &tm);

    memset(&dl, 0, sizeof(strangler_diff_line_t));

#define strangler_dl_str(field, s)                                            \
    dl.field.data = (s);                                                      \
    dl.field.len = strlen(s)

    strangler_dl_str(time, now);
    strangler_dl_str(route, route ? route->name.data
                                  : STRANGLER_DEFAULT_ROUTE);
    strangler_dl_str(method, item->method);
    strangler_dl_str(uri, item->uri);
    strangler_dl_str(request_id, item->request_id);
    strangler_dl_str(primary_backend, st->primary ? st->primary
                                                  : "recorded");
    strangler_dl_str(shadow_backend, st->candidate);

#undef strangler_dl_str

    dl.primary_status = p->status;
    dl.shadow_status = c->status;

    n = strangler_diff_format(line, sizeof(line), &dl, &diffs);

    if (n > sizeof(line)) {
        n = sizeof(line);
    }

    strangler_report_line(&st->report, "replay", st->sent, line, n);
}


/*
 * As nginx's statistics (ngx_http_strangler_fields.c): the noise counted
 * first, then the comparison; a difference whose field's verdict is noise
 * is marked so.  Returns the differences that are differences.
 */

static size_t
strangler_replay_verdict(strangler_replay_stats_t *st,
    const strangler_route_t *route, strangler_diffs_t *diffs,
    strangler_diffs_t *noise)
{
    char                       key[STRANGLER_REPLAY_KEY_LEN];
    size_t                     i, n, real, idx;
    json_t                    *f, *seen;
    strangler_field_counts_t   counts;
    const strangler_shadow_t  *conf;

    conf = strangler_replay_conf(route);
    idx = route ? route->index : st->table->nroutes;

    seen = json_object();

    if (noise) {
        st->noise_compared[idx]++;
        n = noise->count < STRANGLER_DIFF_MAX ? noise->count
                                              : STRANGLER_DIFF_MAX;

        for (i = 0; i < n; i++) {
            f = strangler_replay_field(st, route, noise->diff[i].path, key);

            if (f && json_object_get(seen, key) == NULL) {
                json_object_set_new(seen, key, json_true());
                json_object_set_new(f, "noise", json_integer(
                    json_integer_value(json_object_get(f, "noise")) + 1));
            }
        }

        json_object_clear(seen);
    }

    st->compared[idx]++;

    n = diffs->count < STRANGLER_DIFF_MAX ? diffs->count : STRANGLER_DIFF_MAX;

    for (i = 0; i < n; i++) {
        f = strangler_replay_field(st, route, diffs->diff[i].path, key);

        if (f && json_object_get(seen, key) == NULL) {
            json_object_set_new(seen, key, json_true());
            json_object_set_new(f, "differences", json_integer(
                json_integer_value(json_object_get(f, "differences")) + 1));
        }
    }

    json_decref(seen);

    real = diffs->count - n;

    for (i = 0; i < n; i++) {
        f = strangler_replay_field(st, route, diffs->diff[i].path, key);

        counts.compared = st->compared[idx];
        counts.differences = json_integer_value(json_object_get(f,
                                                          "differences"));
        counts.noise_compared = st->noise_compared[idx];
        counts.noise = json_integer_value(json_object_get(f, "noise"));

        if (f && !strangler_field_is_difference(&counts,
                                                conf->noise_relative_ppm,
                                                conf->noise_absolute_ppm))
        {
            diffs->diff[i].noise = 1;

        } else {
            real++;
        }
    }

    return real;
}


/* a route's field by a difference's path: {differences, noise} */

static json_t *
strangler_replay_field(strangler_replay_stats_t *st,
    const strangler_route_t *route, const char *path, char *key)
{
    json_t      *r, *f;
    const char  *name;

    name = route ? route->name.data : STRANGLER_DEFAULT_ROUTE;

    r = json_object_get(st->fields, name);

    if (r == NULL) {
        r = json_object();
        json_object_set_new(st->fields, name, r);
    }

    strangler_field_key(path, strlen(path), key, STRANGLER_REPLAY_KEY_LEN);

    f = json_object_get(r, key);

    if (f == NULL) {
        f = json_pack("{s:i, s:i}", "differences", 0, "noise", 0);
        json_object_set_new(r, key, f);
    }

    return f;
}
