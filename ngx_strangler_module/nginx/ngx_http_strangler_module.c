
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Directives, configuration and start-up checks.
 */


#include "ngx_http_strangler_api.h"
#include "ngx_http_strangler_request.h"
#include "ngx_http_strangler_etcd.h"
#include "ngx_http_strangler_record.h"
#include "ngx_http_strangler_handoff.h"


static void *ngx_http_strangler_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_strangler_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_strangler_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_strangler(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_strangler_force_header(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_strangler_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_strangler_init_process(ngx_cycle_t *cycle);
static void ngx_http_strangler_exit_process(ngx_cycle_t *cycle);
static ngx_http_strangler_zone_ctx_t *ngx_http_strangler_process_zone(
    ngx_cycle_t *cycle);


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
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_strangler_force_header,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("strangler_api_user"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_strangler_api_user,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("strangler_ambiguous_path"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_strangler_loc_conf_t, ambiguous_path),
      ngx_http_strangler_ambiguous_path_modes },

    { ngx_string("strangler_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_strangler_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("strangler_state"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
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

    { ngx_string("strangler_etcd"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_strangler_etcd,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("strangler_etcd_ssl_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_strangler_etcd_option,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("strangler_etcd_ssl_certificate_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_strangler_etcd_option,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("strangler_etcd_ssl_trusted_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_strangler_etcd_option,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("strangler_etcd_ssl_verify"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_http_strangler_etcd_option,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("strangler_etcd_ssl_server_name"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_http_strangler_etcd_option,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("strangler_etcd_ssl_protocols"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_strangler_etcd_option,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("strangler_etcd_user"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_strangler_etcd_option,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("strangler_etcd_password"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_strangler_etcd_option,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("strangler_etcd_password_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_strangler_etcd_option,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("strangler_handoff"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_strangler_handoff_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("strangler_diff_log"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_strangler_diff_log,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("strangler_capture"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_strangler_capture_directive,
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
    ngx_http_strangler_init_process,       /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_strangler_exit_process,       /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


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
    smcf->record_log = NGX_CONF_UNSET_PTR;
    smcf->keep_orphaned = NGX_HTTP_STRANGLER_KEEP_ORPHANED;
    smcf->handoff_drain = NGX_CONF_UNSET_MSEC;
    smcf->handoff_hold = NGX_CONF_UNSET_UINT;

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
     *     slcf->force_if = NULL;
     *     slcf->api_user = NULL;
     */

    slcf->table = NGX_CONF_UNSET_PTR;
    slcf->dispatch = NGX_CONF_UNSET;
    slcf->ambiguous_path = NGX_CONF_UNSET_UINT;
    slcf->api = NGX_CONF_UNSET;

    return slcf;
}


static char *
ngx_http_strangler_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_strangler_loc_conf_t *prev = parent;
    ngx_http_strangler_loc_conf_t *conf = child;

    ngx_http_core_loc_conf_t  *clcf;

    ngx_conf_merge_ptr_value(conf->table, prev->table, NULL);
    /* the header and its condition are inherited together */

    if (conf->force_header.data == NULL) {
        conf->force_if = prev->force_if;
    }

    ngx_conf_merge_str_value(conf->force_header, prev->force_header, "");
    ngx_conf_merge_value(conf->dispatch, prev->dispatch, 0);
    ngx_conf_merge_uint_value(conf->ambiguous_path, prev->ambiguous_path,
                              NGX_HTTP_STRANGLER_AMBIGUOUS_REJECT);
    ngx_conf_merge_value(conf->api, prev->api, 0);

    if (conf->api_user == NULL) {
        conf->api_user = prev->api_user;
    }

    /*
     * A limit_except block has its own location configuration, without
     * the content handler of the location around it: give it that
     * handler, as the proxy module does, so that the methods it lets
     * through reach the module rather than nginx's static handler.
     */
    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->lmt_excpt && clcf->handler == NULL) {
        if (conf->api) {
            clcf->handler = ngx_http_strangler_api_handler;

        } else if (conf->dispatch) {
            clcf->handler = ngx_http_strangler_dispatch_handler;
        }
    }

    return NGX_CONF_OK;
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


/* strangler_force_header NAME [if=CONDITION]; as access_log's if= */

static char *
ngx_http_strangler_force_header(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_strangler_loc_conf_t *slcf = conf;

    ngx_str_t                         *value, cond;
    ngx_http_compile_complex_value_t   ccv;

    if (slcf->force_header.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;
    slcf->force_header = value[1];

    if (cf->args->nelts == 2) {
        return NGX_CONF_OK;
    }

    if (value[2].len <= 3 || ngx_strncmp(value[2].data, "if=", 3) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\": "
                           "expected \"if=CONDITION\"", &value[2]);
        return NGX_CONF_ERROR;
    }

    cond.len = value[2].len - 3;
    cond.data = value[2].data + 3;

    slcf->force_if = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (slcf->force_if == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &cond;
    ccv.complex_value = slcf->force_if;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
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

    /* the zone first: the others register their hooks with it */

    if (ngx_http_strangler_zone_init_conf(cf) != NGX_OK
        || ngx_http_strangler_state_init_conf(cf) != NGX_OK
        || ngx_http_strangler_fields_init_conf(cf) != NGX_OK
        || ngx_http_strangler_log_init_conf(cf) != NGX_OK
        || ngx_http_strangler_guard_init_conf(cf, smcf) != NGX_OK
        || ngx_http_strangler_api_init_conf(cf) != NGX_OK
        || ngx_http_strangler_etcd_init_conf(cf) != NGX_OK
        || ngx_http_strangler_shadow_init_conf(cf) != NGX_OK
        || ngx_http_strangler_record_init_conf(cf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * A new worker sizes its shadow slots, records itself in the zone, checks
 * that it can write the state file, settles the overrides its
 * configuration no longer has routes or backends for, frees the blocks no
 * running configuration has, and starts judging the guards' windows.
 */

static ngx_int_t
ngx_http_strangler_init_process(ngx_cycle_t *cycle)
{
    ngx_int_t                        joined;
    ngx_http_strangler_zone_ctx_t   *z;
    ngx_http_strangler_main_conf_t  *smcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    smcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_strangler_module);
    if (smcf == NULL) {
        return NGX_OK;
    }

    ngx_http_strangler_shadow_init_process(cycle, smcf);
    ngx_http_strangler_record_init_process(cycle);

    z = ngx_http_strangler_zone_ctx(smcf);
    if (z == NULL) {
        return NGX_OK;
    }

    joined = ngx_http_strangler_zone_join(z, cycle->log);

    if (smcf->state_file.len) {
        (void) ngx_http_strangler_file_check(&smcf->state_file, cycle->log);
    }

    ngx_http_strangler_override_prune(cycle, smcf, z);
    ngx_http_strangler_etcd_start(cycle, smcf);

    /* unrecorded, this process may not free what others might use */
    if (joined == NGX_OK) {
        (void) ngx_http_strangler_zone_reclaim(z, z->gen, cycle->log);
    }

    return ngx_http_strangler_guard_init_process(cycle, smcf);
}


static void
ngx_http_strangler_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_strangler_zone_ctx_t  *z;

    ngx_http_strangler_record_exit(cycle);

    z = ngx_http_strangler_process_zone(cycle);

    if (z != NULL) {
        /* the watching worker lets go of etcd's watch before it exits */
        ngx_http_strangler_etcd_stop(cycle, z->smcf);
        ngx_http_strangler_zone_leave(z);
    }
}


/* the zone, in a process that serves requests */

static ngx_http_strangler_zone_ctx_t *
ngx_http_strangler_process_zone(ngx_cycle_t *cycle)
{
    ngx_http_strangler_main_conf_t  *smcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NULL;
    }

    smcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_strangler_module);

    return smcf ? ngx_http_strangler_zone_ctx(smcf) : NULL;
}
