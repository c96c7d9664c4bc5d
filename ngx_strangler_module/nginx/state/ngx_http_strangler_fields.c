
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Evidence, not raw diffs: per compared route and per field, how often the
 * candidate's answer differed from the primary's, and how often two
 * answers of the primary's own side differed (noise, from the copies
 * shadow.noise asks for).  The verdict on a field is the core's
 * (strangler_field_is_difference, Diffy's rule); a comparison whose only
 * differences are in noise fields counts as matched.
 *
 * A field is counted once per comparison, however many of its array
 * elements differ: its rates are shares of comparisons.
 */


#include "ngx_http_strangler_state.h"


static ngx_uint_t ngx_http_strangler_fields_is_needed(
    ngx_http_strangler_sh_route_t *shr, const strangler_route_t *route);
static size_t ngx_http_strangler_fields_zone_bind(
    ngx_http_strangler_zone_ctx_t *z, ngx_http_strangler_sh_route_t *shr,
    const strangler_route_t *route, ngx_uint_t full);
static ngx_int_t ngx_http_strangler_fields_bind(
    ngx_http_strangler_zone_ctx_t *z, ngx_http_strangler_sh_route_t *shr,
    const strangler_route_t *route);
static ngx_http_strangler_sh_field_t *ngx_http_strangler_fields_slot(
    ngx_http_strangler_zone_ctx_t *z, ngx_http_strangler_sh_fields_t *f,
    const char *path, ngx_uint_t *index);
static ngx_uint_t ngx_http_strangler_fields_noise(
    ngx_http_strangler_zone_ctx_t *z, ngx_http_strangler_sh_fields_t *f,
    strangler_diffs_t *noise);
static void ngx_http_strangler_fields_example(
    ngx_http_strangler_sh_field_t *field, ngx_str_t *id);
static ngx_uint_t ngx_http_strangler_fields_is_difference(
    ngx_http_strangler_sh_fields_t *f, ngx_http_strangler_sh_field_t *field,
    const strangler_shadow_t *conf);
static ngx_int_t ngx_http_strangler_fields_cmp(const void *a,
    const void *b);


static ngx_http_strangler_zone_bind_pt  ngx_http_strangler_fields_next_bind;


/* a compared route without its block yet */

static ngx_uint_t
ngx_http_strangler_fields_is_needed(ngx_http_strangler_sh_route_t *shr,
    const strangler_route_t *route)
{
    return route->shadow.enabled
           && route->shadow.compare != STRANGLER_COMPARE_OFF
           && shr->fields == NULL;
}


/* postconfiguration: a compared route's block gets its statistics */

ngx_int_t
ngx_http_strangler_fields_init_conf(ngx_conf_t *cf)
{
    ngx_http_strangler_zone_ctx_t   *z;
    ngx_http_strangler_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_strangler_module);
    z = ngx_http_strangler_zone_ctx(smcf);

    if (z) {
        ngx_http_strangler_fields_next_bind = z->bind;
        z->bind = ngx_http_strangler_fields_zone_bind;
    }

    return NGX_OK;
}


static size_t
ngx_http_strangler_fields_zone_bind(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr, const strangler_route_t *route,
    ngx_uint_t full)
{
    size_t  need;

    need = 0;

    if (ngx_http_strangler_fields_is_needed(shr, route)
        && (full
            || ngx_http_strangler_fields_bind(z, shr, route) != NGX_OK))
    {
        need = ngx_http_strangler_zone_block(
                   sizeof(ngx_http_strangler_sh_fields_t));
    }

    if (ngx_http_strangler_fields_next_bind) {
        need += ngx_http_strangler_fields_next_bind(z, shr, route,
                                                    full || need);
    }

    return need;
}


static ngx_int_t
ngx_http_strangler_fields_bind(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr, const strangler_route_t *route)
{
    ngx_http_strangler_sh_fields_t  *f;

    if (!ngx_http_strangler_fields_is_needed(shr, route)) {
        return NGX_OK;
    }

    f = ngx_slab_calloc_locked(z->shpool,
                               sizeof(ngx_http_strangler_sh_fields_t));
    if (f == NULL) {
        return NGX_ERROR;
    }

    f->since = ngx_time();
    ngx_memory_barrier();
    shr->fields = f;

    return NGX_OK;
}


/*
 * Counts a comparison and its noise comparison (NULL: none) and marks the
 * differences whose field's verdict is noise.  Returns the number of
 * differences that are differences; without statistics, all of them.
 */

ngx_uint_t
ngx_http_strangler_fields_count(ngx_http_strangler_binding_t *b,
    ngx_str_t *request_id, const strangler_shadow_t *conf, ngx_uint_t write,
    strangler_diffs_t *diffs, strangler_diffs_t *noise)
{
    ngx_uint_t                       i, n, idx, seen, real;
    strangler_diff_t                *d;
    ngx_http_strangler_zone_ctx_t   *z;
    ngx_http_strangler_sh_field_t   *field[STRANGLER_DIFF_MAX];
    ngx_http_strangler_sh_fields_t  *f;

    if (b == NULL || b->shr == NULL || b->shr->fields == NULL) {
        return diffs->count;
    }

    z = b->zone;
    f = b->shr->fields;

    /* the noise first: the verdict on this comparison weighs it too */

    if (noise) {
        (void) ngx_atomic_fetch_add(&f->noise_sent, 1);
        (void) ngx_atomic_fetch_add(&f->noise_compared, 1);
        (void) ngx_http_strangler_fields_noise(z, f, noise);
    }

    (void) ngx_atomic_fetch_add(&f->compared, 1);

    n = ngx_min(diffs->count, STRANGLER_DIFF_MAX);
    seen = 0;

    for (i = 0; i < n; i++) {
        field[i] = ngx_http_strangler_fields_slot(z, f, diffs->diff[i].path,
                                                  &idx);
        if (field[i] == NULL) {
            (void) ngx_atomic_fetch_add(&f->overflow, 1);
            continue;
        }

        if (seen & (1u << idx)) {
            continue;
        }

        seen |= 1u << idx;

        (void) ngx_atomic_fetch_add(&field[i]->differences, 1);
        ngx_http_strangler_fields_example(field[i], request_id);
    }

    /* the differences not kept, and the fields without a slot, are real */

    real = diffs->count - n;

    for (i = 0; i < n; i++) {
        d = &diffs->diff[i];

        if (field[i]
            && !ngx_http_strangler_fields_is_difference(f, field[i], conf))
        {
            d->noise = 1;

        } else {
            real++;

            /* the plan's `quiet`: since when the field is a difference */
            if (field[i] && field[i]->differed == 0) {
                field[i]->differed = ngx_time();
            }
        }
    }

    if (write) {
        (void) ngx_atomic_fetch_add(&f->writes, 1);

        if (real) {
            (void) ngx_atomic_fetch_add(&f->writes_mismatched, 1);
        }
    }

    if (real) {
        (void) ngx_atomic_fetch_add(&f->mismatched, 1);

    } else if (diffs->count) {
        (void) ngx_atomic_fetch_add(&f->matched_noise, 1);
        (void) ngx_atomic_fetch_add(&f->noise_only, 1);
    }

    return real;
}


/* the fields where the primary's two answers differed, once each */

static ngx_uint_t
ngx_http_strangler_fields_noise(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_fields_t *f, strangler_diffs_t *noise)
{
    ngx_uint_t                      i, n, idx, seen;
    ngx_http_strangler_sh_field_t  *field;

    n = ngx_min(noise->count, STRANGLER_DIFF_MAX);
    seen = 0;

    for (i = 0; i < n; i++) {
        field = ngx_http_strangler_fields_slot(z, f, noise->diff[i].path,
                                               &idx);

        if (field == NULL) {
            (void) ngx_atomic_fetch_add(&f->overflow, 1);
            continue;
        }

        if (!(seen & (1u << idx))) {
            seen |= 1u << idx;
            (void) ngx_atomic_fetch_add(&field->noise, 1);
        }
    }

    return n;
}


/*
 * The slot of a difference's field: found without the lock among the
 * slots taken, or taken under it.  NULL: all are taken by other fields.
 */

static ngx_http_strangler_sh_field_t *
ngx_http_strangler_fields_slot(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_fields_t *f, const char *path, ngx_uint_t *index)
{
    char                            name[NGX_HTTP_STRANGLER_FIELD_LEN];
    ngx_uint_t                      i, n;
    ngx_http_strangler_sh_field_t  *field;

    (void) strangler_field_key(path, ngx_strlen(path), name, sizeof(name));

    n = ngx_min(f->nfields, NGX_HTTP_STRANGLER_FIELDS);

    for (i = 0; i < n; i++) {
        if (ngx_strcmp(f->field[i].name, name) == 0) {
            *index = i;
            return &f->field[i];
        }
    }

    ngx_shmtx_lock(&z->shpool->mutex);

    n = f->nfields;
    field = NULL;

    for (i = 0; i < n; i++) {
        if (ngx_strcmp(f->field[i].name, name) == 0) {
            field = &f->field[i];
            break;
        }
    }

    if (field == NULL && n < NGX_HTTP_STRANGLER_FIELDS) {
        field = &f->field[n];
        ngx_memzero(field, sizeof(ngx_http_strangler_sh_field_t));
        ngx_cpystrn(field->name, (u_char *) name, sizeof(field->name));

        ngx_memory_barrier();
        f->nfields = n + 1;
        i = n;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    *index = i;

    return field;
}


/* the first few request ids of a field's differences */

static void
ngx_http_strangler_fields_example(ngx_http_strangler_sh_field_t *field,
    ngx_str_t *id)
{
    ngx_uint_t  i;

    if (id->len == 0 || field->examples >= NGX_HTTP_STRANGLER_EXAMPLES) {
        return;
    }

    i = ngx_atomic_fetch_add(&field->examples, 1);

    if (i < NGX_HTTP_STRANGLER_EXAMPLES) {
        ngx_cpystrn(field->example[i], id->data,
                    ngx_min(id->len + 1, NGX_HTTP_STRANGLER_EXAMPLE_LEN));
    }
}


static ngx_uint_t
ngx_http_strangler_fields_is_difference(ngx_http_strangler_sh_fields_t *f,
    ngx_http_strangler_sh_field_t *field, const strangler_shadow_t *conf)
{
    strangler_field_counts_t  c;

    c.compared = f->compared;
    c.differences = field->differences;
    c.noise_compared = f->noise_compared;
    c.noise = field->noise;

    return strangler_field_is_difference(&c, conf->noise_relative_ppm,
                                         conf->noise_absolute_ppm);
}


/*
 * GET routes/NAME/diffs: the fields by differences, most first, with their
 * verdict by the route's thresholds as the table has them now.
 */

json_t *
ngx_http_strangler_fields_json(ngx_http_strangler_sh_fields_t *f,
    const strangler_route_t *route)
{
    json_t                         *obj, *list, *item, *ex;
    ngx_uint_t                      i, j, n, ne;
    ngx_http_strangler_sh_field_t  *field, *order[NGX_HTTP_STRANGLER_FIELDS];

    obj = json_object();
    list = json_array();

    if (obj == NULL || list == NULL) {
        json_decref(obj);
        json_decref(list);
        return NULL;
    }

    json_object_set_new(obj, "route", json_stringn(route->name.data,
                                                   route->name.len));
    json_object_set_new(obj, "compared", json_integer(f->compared));
    json_object_set_new(obj, "mismatched", json_integer(f->mismatched));
    json_object_set_new(obj, "noise_only", json_integer(f->matched_noise));
    json_object_set_new(obj, "noise_compared",
                        json_integer(f->noise_compared));
    json_object_set_new(obj, "noise_share",
                        json_real(route->shadow.noise_ppm / 1e4));
    json_object_set_new(obj, "noise_relative",
                        json_real(route->shadow.noise_relative_ppm / 1e4));
    json_object_set_new(obj, "noise_absolute",
                        json_real(route->shadow.noise_absolute_ppm / 1e4));
    json_object_set_new(obj, "overflow", json_integer(f->overflow));
    json_object_set_new(obj, "since", json_integer(f->since));
    json_object_set_new(obj, "fields", list);

    n = ngx_min(f->nfields, NGX_HTTP_STRANGLER_FIELDS);

    for (i = 0; i < n; i++) {
        order[i] = &f->field[i];
    }

    ngx_sort(order, n, sizeof(ngx_http_strangler_sh_field_t *),
             ngx_http_strangler_fields_cmp);

    for (i = 0; i < n; i++) {
        field = order[i];

        item = json_object();
        ex = json_array();

        if (item == NULL || ex == NULL) {
            json_decref(item);
            json_decref(ex);
            json_decref(obj);
            return NULL;
        }

        ne = ngx_min(field->examples, NGX_HTTP_STRANGLER_EXAMPLES);

        for (j = 0; j < ne; j++) {
            if (field->example[j][0]) {
                json_array_append_new(ex,
                                      json_string((char *) field->example[j]));
            }
        }

        json_object_set_new(item, "path", json_string((char *) field->name));
        json_object_set_new(item, "differences",
                            json_integer(field->differences));
        json_object_set_new(item, "noise", json_integer(field->noise));
        json_object_set_new(item, "verdict",
            json_string(ngx_http_strangler_fields_is_difference(f, field,
                                                         &route->shadow)
                        ? "difference" : "noise"));
        json_object_set_new(item, "examples", ex);

        json_array_append_new(list, item);
    }

    return obj;
}


/* most differences first */

static ngx_int_t
ngx_http_strangler_fields_cmp(const void *a, const void *b)
{
    ngx_atomic_uint_t  da, db;

    da = (*(ngx_http_strangler_sh_field_t **) a)->differences;
    db = (*(ngx_http_strangler_sh_field_t **) b)->differences;

    return (da < db) - (da > db);
}


/* DELETE routes/NAME/diffs: after a deploy of the new service */

void
ngx_http_strangler_fields_reset(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_fields_t *f)
{
    ngx_shmtx_lock(&z->shpool->mutex);

    f->nfields = 0;
    ngx_memory_barrier();

    f->compared = 0;
    f->noise_compared = 0;
    f->mismatched = 0;
    f->matched_noise = 0;
    f->writes = 0;
    f->writes_mismatched = 0;
    f->overflow = 0;
    f->since = ngx_time();
    ngx_memzero(f->field, sizeof(f->field));

    ngx_shmtx_unlock(&z->shpool->mutex);
}
