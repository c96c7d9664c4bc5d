
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Loading the route table (`strangler_routes`), while the configuration is
 * read, so that `nginx -t` reports every error in it and a reload with a
 * bad table keeps the old one serving; and the start-up check that every
 * backend of a dispatching location has its named location.
 */


#include "ngx_http_strangler_state.h"


static void ngx_http_strangler_table_cleanup(void *data);


char *
ngx_http_strangler_routes(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_strangler_loc_conf_t *slcf = conf;

    size_t                           i;
    ngx_str_t                       *value, file;
    strangler_table_t               *core;
    strangler_errors_t               errs;
    strangler_backend_t             *b;
    ngx_pool_cleanup_t              *cln;
    ngx_http_strangler_table_t      *t, **tp;
    ngx_http_strangler_main_conf_t  *smcf;

    if (slcf->table != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;
    file = value[1];

    if (ngx_conf_full_name(cf->cycle, &file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    errs.count = 0;
    core = strangler_table_load_file((char *) file.data, &errs);

    if (core == NULL) {
        for (i = 0; i < errs.count && i < STRANGLER_MAX_ERRORS; i++) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s", errs.text[i]);
        }

        if (errs.count > STRANGLER_MAX_ERRORS) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%V: %uz more errors not shown", &file,
                               errs.count - STRANGLER_MAX_ERRORS);
        }

        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_strangler_table_cleanup;
    cln->data = core;

    t = ngx_pcalloc(cf->pool, sizeof(ngx_http_strangler_table_t));
    if (t == NULL) {
        return NGX_CONF_ERROR;
    }

    t->core = core;
    t->file = file;
    t->loaded = ngx_time();

    t->regex_limit_logged = ngx_pcalloc(cf->pool, core->nroutes + 1);
    if (t->regex_limit_logged == NULL) {
        return NGX_CONF_ERROR;
    }

    t->backend_names = ngx_palloc(cf->pool,
                                  core->nbackends * sizeof(ngx_str_t));
    t->locations = ngx_palloc(cf->pool, core->nbackends * sizeof(ngx_str_t));
    if (t->backend_names == NULL || t->locations == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < core->nbackends; i++) {
        b = &core->backends[i];

        t->backend_names[i].data = (u_char *) b->name.data;
        t->backend_names[i].len = b->name.len;
        t->locations[i].data = (u_char *) b->location.data;
        t->locations[i].len = b->location.len;
    }

    slcf->table = t;

    /* the zone binds every loaded table's routes to their blocks */
    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_strangler_module);

    tp = ngx_array_push(&smcf->tables);
    if (tp == NULL) {
        return NGX_CONF_ERROR;
    }

    *tp = t;

    return NGX_CONF_OK;
}


static void
ngx_http_strangler_table_cleanup(void *data)
{
    strangler_table_free(data);
}


ngx_str_t *
ngx_http_strangler_backend_name(ngx_http_strangler_table_t *t, int backend)
{
    static ngx_str_t  none = ngx_string("-");

    if (backend < 0 || (size_t) backend >= t->core->nbackends) {
        return &none;
    }

    return &t->backend_names[backend];
}


/*
 * Remembers a location whose directive (`strangler`, `strangler_api`)
 * needs the route table in scope, and where it was written: the table is
 * only known once the configuration is merged.
 */

ngx_int_t
ngx_http_strangler_add_dispatcher(ngx_conf_t *cf, ngx_array_t *list,
    ngx_http_strangler_loc_conf_t *slcf)
{
    ngx_str_t                        *value;
    ngx_http_strangler_dispatcher_t  *d;

    d = ngx_array_push(list);
    if (d == NULL) {
        return NGX_ERROR;
    }

    value = cf->args->elts;

    d->slcf = slcf;
    d->cscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module);
    d->conf_file = cf->conf_file->file.name;
    d->conf_line = cf->conf_file->line;
    d->directive = value[0];

    return NGX_OK;
}


ngx_int_t
ngx_http_strangler_has_table(ngx_conf_t *cf,
    ngx_http_strangler_dispatcher_t *d)
{
    if (d->slcf->table) {
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                  "\"%V\" needs a route table: "
                  "no \"strangler_routes\" applies to it in %V:%ui",
                  &d->directive, &d->conf_file, d->conf_line);

    return NGX_ERROR;
}


/*
 * Every backend a dispatching location can choose must have its location in
 * that server: better `nginx -t` fails than a request gets a 500.
 */

ngx_int_t
ngx_http_strangler_check_backends(ngx_conf_t *cf,
    ngx_http_strangler_dispatcher_t *d)
{
    size_t                       i;
    ngx_str_t                   *loc;
    ngx_http_core_loc_conf_t   **named;
    ngx_http_strangler_table_t  *t;

    if (ngx_http_strangler_has_table(cf, d) != NGX_OK) {
        return NGX_ERROR;
    }

    t = d->slcf->table;

    for (i = 0; i < t->core->nbackends; i++) {
        loc = &t->locations[i];
        named = d->cscf->named_locations;

        while (named && *named) {
            if ((*named)->name.len == loc->len
                && ngx_strncmp((*named)->name.data, loc->data, loc->len)
                   == 0)
            {
                break;
            }

            named++;
        }

        if (named == NULL || *named == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "%V:%ui:%ui: backend \"%V\" has no location "
                          "\"%V\" in the server of \"strangler\" in %V:%ui",
                          &t->file, t->core->backends[i].line,
                          t->core->backends[i].col, &t->backend_names[i],
                          loc, &d->conf_file, d->conf_line);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}
