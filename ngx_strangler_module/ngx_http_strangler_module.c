
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Directives, configuration and start-up checks.  The route table is loaded
 * while the configuration is read, so `nginx -t` reports every error in it
 * and a reload with a bad table keeps the old one serving.
 */


#include "ngx_http_strangler_module.h"


static void *ngx_http_strangler_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_strangler_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_strangler_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_strangler_routes(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_strangler(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_strangler_table_cleanup(void *data);
static ngx_int_t ngx_http_strangler_check_backends(ngx_conf_t *cf,
    ngx_http_strangler_dispatcher_t *d);
static ngx_int_t ngx_http_strangler_init(ngx_conf_t *cf);


static ngx_command_t  ngx_http_strangler_commands[] = {

    { ngx_string("strangler_routes"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_strangler_routes,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("strangler"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_strangler,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("strangler_force_header"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_strangler_loc_conf_t, force_header),
      NULL },

    { ngx_string("strangler_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_strangler_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("strangler_state"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_strangler_state,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("strangler_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_strangler_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("strangler_shadow_limit"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_strangler_main_conf_t, shadow_limit),
      NULL },

    { ngx_string("strangler_shadow_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_strangler_main_conf_t, shadow_timeout),
      NULL },

    { ngx_string("strangler_compare_max_body"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_strangler_main_conf_t, compare_max_body),
      NULL },

    { ngx_string("strangler_diff_log"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_strangler_diff_log,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_strangler_module_ctx = {
    ngx_http_strangler_add_variables,      /* preconfiguration */
    ngx_http_strangler_init,               /* postconfiguration */

    ngx_http_strangler_create_main_conf,   /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_strangler_create_loc_conf,    /* create location configuration */
    ngx_http_strangler_merge_loc_conf      /* merge location configuration */
};


ngx_module_t  ngx_http_strangler_module = {
    NGX_MODULE_V1,
    &ngx_http_strangler_module_ctx,        /* module context */
    ngx_http_strangler_commands,           /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_strangler_override_init_process, /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


ngx_str_t *
ngx_http_strangler_backend_name(ngx_http_strangler_table_t *t, int backend)
{
    static ngx_str_t  none = ngx_string("-");

    if (backend < 0 || (size_t) backend >= t->core->nbackends) {
        return &none;
    }

    return &t->backend_names[backend];
}


static void *
ngx_http_strangler_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_strangler_main_conf_t  *smcf;

    smcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_strangler_main_conf_t));
    if (smcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&smcf->dispatchers, cf->pool, 4,
                       sizeof(ngx_http_strangler_dispatcher_t))
        != NGX_OK
        || ngx_array_init(&smcf->apis, cf->pool, 1,
                          sizeof(ngx_http_strangler_dispatcher_t))
           != NGX_OK
        || ngx_array_init(&smcf->tables, cf->pool, 4,
                          sizeof(ngx_http_strangler_table_t *))
           != NGX_OK)
    {
        return NULL;
    }

    smcf->shadow_limit = NGX_CONF_UNSET_UINT;
    smcf->shadow_timeout = NGX_CONF_UNSET_MSEC;
    smcf->compare_max_body = NGX_CONF_UNSET_SIZE;
    smcf->diff_log = NGX_CONF_UNSET_PTR;

    return smcf;
}


static void *
ngx_http_strangler_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_strangler_loc_conf_t  *slcf;

    slcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_strangler_loc_conf_t));
    if (slcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     slcf->force_header = { 0, NULL };
     */

    slcf->table = NGX_CONF_UNSET_PTR;
    slcf->dispatch = NGX_CONF_UNSET;

    return slcf;
}


static char *
ngx_http_strangler_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_strangler_loc_conf_t *prev = parent;
    ngx_http_strangler_loc_conf_t *conf = child;

    ngx_conf_merge_ptr_value(conf->table, prev->table, NULL);
    ngx_conf_merge_str_value(conf->force_header, prev->force_header, "");
    ngx_conf_merge_value(conf->dispatch, prev->dispatch, 0);

    return NGX_CONF_OK;
}


static char *
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


static char *
ngx_http_strangler(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_strangler_loc_conf_t *slcf = conf;

    ngx_http_core_loc_conf_t        *clcf;
    ngx_http_strangler_main_conf_t  *smcf;

    if (slcf->dispatch != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    slcf->dispatch = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_strangler_dispatch_handler;

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_strangler_module);

    if (ngx_http_strangler_add_dispatcher(cf, &smcf->dispatchers, slcf)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
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

static ngx_int_t
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


static ngx_int_t
ngx_http_strangler_init(ngx_conf_t *cf)
{
    ngx_uint_t                        i;
    ngx_http_strangler_main_conf_t   *smcf;
    ngx_http_strangler_dispatcher_t  *d;

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_strangler_module);

    d = smcf->dispatchers.elts;

    for (i = 0; i < smcf->dispatchers.nelts; i++) {
        if (ngx_http_strangler_check_backends(cf, &d[i]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ngx_http_strangler_zone_init_conf(cf) != NGX_OK
        || ngx_http_strangler_api_init_conf(cf) != NGX_OK
        || ngx_http_strangler_shadow_init_conf(cf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}
