
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The directives that go with strangler_etcd: TLS to https:// endpoints
 * (strangler_etcd_ssl_*, on nginx's own SSL layer) and etcd's user and
 * password authentication (strangler_etcd_user, _password,
 * _password_file); checked, and the SSL context made, once the whole
 * configuration is read.  And the one place that records why etcd cannot
 * be used, for the error log and the fleet's status.
 */


#include "ngx_http_strangler_etcd.h"


static ngx_int_t ngx_http_strangler_etcd_conf_auth(ngx_conf_t *cf,
    ngx_http_strangler_etcd_conf_t *ecf);
static ngx_int_t ngx_http_strangler_etcd_password_read(ngx_conf_t *cf,
    ngx_http_strangler_etcd_conf_t *ecf);


#if (NGX_SSL)

static ngx_conf_bitmask_t  ngx_http_strangler_etcd_ssl_protocols[] = {
    { ngx_string("TLSv1"), NGX_SSL_TLSv1 },
    { ngx_string("TLSv1.1"), NGX_SSL_TLSv1_1 },
    { ngx_string("TLSv1.2"), NGX_SSL_TLSv1_2 },
    { ngx_string("TLSv1.3"), NGX_SSL_TLSv1_3 },
    { ngx_null_string, 0 }
};

#endif


/* the options, set on the etcd configuration rather than the module's */

static ngx_command_t  ngx_http_strangler_etcd_options[] = {

    { ngx_string("strangler_etcd_ssl_certificate"), 0,
      ngx_conf_set_str_slot, 0,
      offsetof(ngx_http_strangler_etcd_conf_t, ssl_certificate), NULL },

    { ngx_string("strangler_etcd_ssl_certificate_key"), 0,
      ngx_conf_set_str_slot, 0,
      offsetof(ngx_http_strangler_etcd_conf_t, ssl_certificate_key), NULL },

    { ngx_string("strangler_etcd_ssl_trusted_certificate"), 0,
      ngx_conf_set_str_slot, 0,
      offsetof(ngx_http_strangler_etcd_conf_t, ssl_trusted_certificate),
      NULL },

    { ngx_string("strangler_etcd_ssl_verify"), 0,
      ngx_conf_set_flag_slot, 0,
      offsetof(ngx_http_strangler_etcd_conf_t, ssl_verify), NULL },

    { ngx_string("strangler_etcd_ssl_server_name"), 0,
      ngx_conf_set_flag_slot, 0,
      offsetof(ngx_http_strangler_etcd_conf_t, ssl_server_name), NULL },

#if (NGX_SSL)
    { ngx_string("strangler_etcd_ssl_protocols"), 0,
      ngx_conf_set_bitmask_slot, 0,
      offsetof(ngx_http_strangler_etcd_conf_t, ssl_protocols),
      &ngx_http_strangler_etcd_ssl_protocols },
#endif

    { ngx_string("strangler_host_name"), 0,
      ngx_conf_set_str_slot, 0,
      offsetof(ngx_http_strangler_etcd_conf_t, host_name), NULL },

    { ngx_string("strangler_host_api"), 0,
      ngx_conf_set_str_slot, 0,
      offsetof(ngx_http_strangler_etcd_conf_t, host_api), NULL },

    { ngx_string("strangler_host_ttl"), 0,
      ngx_conf_set_sec_slot, 0,
      offsetof(ngx_http_strangler_etcd_conf_t, host_ttl), NULL },

    { ngx_string("strangler_fence"), 0,
      ngx_conf_set_flag_slot, 0,
      offsetof(ngx_http_strangler_etcd_conf_t, fence), NULL },

    { ngx_string("strangler_etcd_user"), 0,
      ngx_conf_set_str_slot, 0,
      offsetof(ngx_http_strangler_etcd_conf_t, user), NULL },

    { ngx_string("strangler_etcd_password"), 0,
      ngx_conf_set_str_slot, 0,
      offsetof(ngx_http_strangler_etcd_conf_t, password), NULL },

    { ngx_string("strangler_etcd_password_file"), 0,
      ngx_conf_set_str_slot, 0,
      offsetof(ngx_http_strangler_etcd_conf_t, password_file), NULL },

      ngx_null_command
};


/* the etcd configuration, made by the first directive that needs it */

ngx_http_strangler_etcd_conf_t *
ngx_http_strangler_etcd_conf(ngx_conf_t *cf,
    ngx_http_strangler_main_conf_t *smcf)
{
    ngx_http_strangler_etcd_conf_t  *ecf;

    if (smcf->etcd) {
        return smcf->etcd;
    }

    ecf = ngx_pcalloc(cf->pool, sizeof(ngx_http_strangler_etcd_conf_t));
    if (ecf == NULL
        || ngx_array_init(&ecf->endpoints, cf->pool, 3,
                          sizeof(ngx_http_strangler_etcd_endpoint_t))
           != NGX_OK)
    {
        return NULL;
    }

    ecf->ssl_verify = NGX_CONF_UNSET;
    ecf->host_ttl = NGX_CONF_UNSET;
    ecf->fence = NGX_CONF_UNSET;
    ecf->ssl_server_name = NGX_CONF_UNSET;

    smcf->etcd = ecf;

    return ecf;
}


/* strangler_etcd_ssl_*, strangler_etcd_user, ... */

char *
ngx_http_strangler_etcd_option(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_command_t                   *opt;
    ngx_http_strangler_etcd_conf_t  *ecf;

    ecf = ngx_http_strangler_etcd_conf(cf, conf);
    if (ecf == NULL) {
        return NGX_CONF_ERROR;
    }

    for (opt = ngx_http_strangler_etcd_options; opt->name.len; opt++) {
        if (opt->name.len == cmd->name.len
            && ngx_strncmp(opt->name.data, cmd->name.data, cmd->name.len)
               == 0)
        {
            return opt->set(cf, opt, ecf);
        }
    }

    return "is not supported by this build (no SSL)";
}


/*
 * Once the configuration is read: an endpoint list is all http:// or all
 * https://; https:// verifies etcd's certificate unless told not to, so
 * it needs the CA; TLS directives without https:// are refused rather
 * than leaving the fleet in clear text unnoticed.
 */

ngx_int_t
ngx_http_strangler_etcd_conf_ssl(ngx_conf_t *cf,
    ngx_http_strangler_etcd_conf_t *ecf)
{
    ngx_uint_t           tls;
#if (NGX_SSL)
    X509                *cert;
    ngx_pool_cleanup_t  *cln;
#endif

    if (ecf->https && ecf->http) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"strangler_etcd\" mixes http:// and https:// "
                      "endpoints: use https:// for all of them");
        return NGX_ERROR;
    }

    tls = ecf->ssl_certificate.data || ecf->ssl_certificate_key.data
          || ecf->ssl_trusted_certificate.data
          || ecf->ssl_verify != NGX_CONF_UNSET
          || ecf->ssl_server_name != NGX_CONF_UNSET || ecf->ssl_protocols;

    if (!ecf->https) {
        if (tls) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"strangler_etcd_ssl_*\" is set but the etcd "
                          "endpoints are not https://");
            return NGX_ERROR;
        }

        return ngx_http_strangler_etcd_conf_auth(cf, ecf);
    }

#if (NGX_SSL)

    ngx_conf_init_value(ecf->ssl_verify, 1);
    ngx_conf_init_value(ecf->ssl_server_name, 1);

    if (ecf->ssl_protocols == 0) {
        ecf->ssl_protocols = NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3;
    }

    if (ecf->ssl_verify && ecf->ssl_trusted_certificate.len == 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "https:// etcd endpoints need "
                      "\"strangler_etcd_ssl_trusted_certificate\" (the CA "
                      "of etcd's certificate) to verify etcd, or "
                      "\"strangler_etcd_ssl_verify off\"");
        return NGX_ERROR;
    }

    if ((ecf->ssl_certificate.len == 0)
        != (ecf->ssl_certificate_key.len == 0))
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"strangler_etcd_ssl_certificate\" and "
                      "\"strangler_etcd_ssl_certificate_key\" go together");
        return NGX_ERROR;
    }

    ecf->ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (ecf->ssl == NULL) {
        return NGX_ERROR;
    }

    ecf->ssl->log = cf->log;

    if (ngx_ssl_create(ecf->ssl, ecf->ssl_protocols, NULL) != NGX_OK) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(ecf->ssl);
        return NGX_ERROR;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = ecf->ssl;

    if (ecf->ssl_certificate.len) {
        if (ngx_ssl_certificate(cf, ecf->ssl, &ecf->ssl_certificate,
                                &ecf->ssl_certificate_key, NULL)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        /* etcd would refuse it at every call: say so at start */
        cert = SSL_CTX_get0_certificate(ecf->ssl->ctx);

        if (cert && X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) {
            ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                          "\"strangler_etcd_ssl_certificate\" \"%V\" has "
                          "expired: etcd will refuse it",
                          &ecf->ssl_certificate);
        }
    }

    if (ecf->ssl_verify
        && ngx_ssl_trusted_certificate(cf, ecf->ssl,
                                       &ecf->ssl_trusted_certificate, 100)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_strangler_etcd_conf_auth(cf, ecf);

#else

    ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                  "https:// etcd endpoints need nginx built with SSL");
    return NGX_ERROR;

#endif
}


/*
 * A user and a password (in the configuration, or in a file that only
 * the master, which reads the configuration as root, needs to read, and
 * that `nginx -T` does not print): the body of /v3/auth/authenticate.
 */

static ngx_int_t
ngx_http_strangler_etcd_conf_auth(ngx_conf_t *cf,
    ngx_http_strangler_etcd_conf_t *ecf)
{
    char    *text;
    json_t  *body;

    if (ecf->password.data && ecf->password_file.data) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"strangler_etcd_password\" and "
                      "\"strangler_etcd_password_file\" are exclusive");
        return NGX_ERROR;
    }

    if (ecf->password_file.data
        && ngx_http_strangler_etcd_password_read(cf, ecf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if ((ecf->user.len == 0) != (ecf->password.data == NULL)) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"strangler_etcd_user\" needs "
                      "\"strangler_etcd_password\" or "
                      "\"strangler_etcd_password_file\", and they need it");
        return NGX_ERROR;
    }

    if (ecf->user.len == 0) {
        return NGX_OK;
    }

    if (!ecf->https) {
        ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                      "the etcd password goes in clear text to http:// "
                      "endpoints");
    }

    body = json_pack("{s:s%, s:s%}",
                     "name", ecf->user.data, ecf->user.len,
                     "password", ecf->password.data, ecf->password.len);
    text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);

    if (text == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"strangler_etcd_user\" and its password must be "
                      "UTF-8");
        return NGX_ERROR;
    }

    ecf->auth.len = ngx_strlen(text);
    ecf->auth.data = ngx_pnalloc(cf->pool, ecf->auth.len);

    if (ecf->auth.data) {
        ngx_memcpy(ecf->auth.data, text, ecf->auth.len);
    }

    ngx_explicit_memzero(text, ecf->auth.len);
    free(text);

    return ecf->auth.data ? NGX_OK : NGX_ERROR;
}


/* the first line of the file, without its line end */

static ngx_int_t
ngx_http_strangler_etcd_password_read(ngx_conf_t *cf,
    ngx_http_strangler_etcd_conf_t *ecf)
{
    u_char     *p, *last;
    ssize_t     n;
    ngx_fd_t    fd;
    ngx_str_t  *name;

    name = &ecf->password_file;

    if (ngx_conf_full_name(cf->cycle, name, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(cf->pool, NGX_HTTP_STRANGLER_ETCD_PASSWORD_MAX + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    fd = ngx_open_file(name->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, ngx_errno,
                      "\"strangler_etcd_password_file\": "
                      ngx_open_file_n " \"%V\" failed", name);
        return NGX_ERROR;
    }

    n = read(fd, p, NGX_HTTP_STRANGLER_ETCD_PASSWORD_MAX + 1);

    if (n == -1) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, ngx_errno,
                      "\"strangler_etcd_password_file\": read \"%V\" failed",
                      name);
    }

    ngx_close_file(fd);

    if (n == -1) {
        return NGX_ERROR;
    }

    last = ngx_strlchr(p, p + n, LF);
    if (last == NULL) {
        last = p + n;
    }

    if (last > p && last[-1] == CR) {
        last--;
    }

    if (n > NGX_HTTP_STRANGLER_ETCD_PASSWORD_MAX || last == p) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"strangler_etcd_password_file\" \"%V\" is %s",
                      name, last == p ? "empty" : "too long");
        return NGX_ERROR;
    }

    ecf->password.data = p;
    ecf->password.len = last - p;

    return NGX_OK;
}


/*
 * Why etcd cannot be used, for the fleet's status: logged as an error
 * (`alarm`: TLS, authentication) when it is new to the host, else quietly;
 * a NULL text: it can be used again.
 */

void
ngx_http_strangler_etcd_error(ngx_http_strangler_etcd_conf_t *ecf,
    u_char *text, size_t len, ngx_uint_t alarm, ngx_log_t *log)
{
    u_char                          safe[NGX_HTTP_STRANGLER_ETCD_ERR];
    size_t                          i;
    ngx_uint_t                      same, level;
    ngx_slab_pool_t                *shpool;
    ngx_http_strangler_etcd_sh_t   *sh;

    sh = ecf->zone->sh->etcd;
    shpool = ecf->zone->shpool;

    if (text == NULL) {
        if (sh->error_len) {
            ngx_shmtx_lock(&shpool->mutex);
            sh->error_len = 0;
            ngx_shmtx_unlock(&shpool->mutex);
        }

        return;
    }

    len = ngx_min(len, sizeof(sh->error));

    /* etcd's words may be anything: printable ASCII for the log and JSON */

    for (i = 0; i < len; i++) {
        safe[i] = (text[i] < 0x20 || text[i] > 0x7e) ? '?' : text[i];
    }

    ngx_shmtx_lock(&shpool->mutex);

    same = (sh->error_len == len && ngx_memcmp(sh->error, safe, len) == 0);

    if (!same) {
        ngx_memcpy(sh->error, safe, len);
        sh->error_len = len;
    }

    ngx_shmtx_unlock(&shpool->mutex);

    level = (alarm && !same) ? NGX_LOG_ERR : NGX_LOG_INFO;

    ngx_log_error(level, log, 0, "strangler: etcd: %*s", len, safe);
}
