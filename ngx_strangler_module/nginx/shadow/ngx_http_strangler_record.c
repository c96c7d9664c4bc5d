
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Traffic capture, the request's side: `strangler_capture FILE
 * [max_size=SIZE] [keep=N];` and, for a request of a route with a
 * `capture` block picked by its sample, a copy of its body as it goes by
 * to the owner (a request body filter, as shadowing's), the owner's
 * status, compared headers and body (response filters, bodies kept up to
 * strangler_compare_max_body and hashed beyond, as shadowing keeps them),
 * and, when the answer is complete, one redacted JSON line handed to the
 * capture file (ngx_http_strangler_record_file.c).
 */


#include "ngx_http_strangler_record.h"


#define NGX_HTTP_STRANGLER_RECORD_MAX_SIZE  (100 * 1048576)
#define NGX_HTTP_STRANGLER_RECORD_KEEP      5


struct ngx_http_strangler_record_s {
    const strangler_route_t        *route;
    ngx_http_strangler_record_log_t *log;
    size_t                          max;      /* compare_max_body */

    ngx_chain_t                    *body;     /* the request's, copied */
    ngx_chain_t                   **body_last;
    size_t                          body_len;

    strangler_str_t                *headers;  /* per shadow.headers */
    strangler_body_t                answer;
    ngx_uint_t                      status;

    unsigned                        body_expected:1;
    unsigned                        body_done:1;
    unsigned                        body_omitted:1;
    unsigned                        started:1;  /* the answer's header */
    unsigned                        done:1;     /* written or given up */
};


static ngx_int_t ngx_http_strangler_record_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_strangler_record_header_filter(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_strangler_record_answer_filter(
    ngx_http_request_t *r, ngx_chain_t *in);
static ngx_http_strangler_record_t *ngx_http_strangler_record_get(
    ngx_http_request_t *r);
static void ngx_http_strangler_record_headers(ngx_http_request_t *r,
    ngx_http_strangler_record_t *rec);
static void ngx_http_strangler_record_end(ngx_http_request_t *r,
    ngx_http_strangler_record_t *rec);
static ngx_int_t ngx_http_strangler_record_request(ngx_http_request_t *r,
    ngx_http_strangler_record_t *rec, strangler_record_t *out);
static void ngx_http_strangler_record_cleanup(void *data);


static ngx_http_request_body_filter_pt  ngx_http_next_request_body_filter;
static ngx_http_output_header_filter_pt ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt   ngx_http_next_body_filter;

static ngx_int_t  ngx_http_strangler_record_request_id = NGX_ERROR;


/* strangler_capture FILE [max_size=SIZE] [keep=N] | off */

char *
ngx_http_strangler_capture_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_strangler_main_conf_t *smcf = conf;

    off_t       max_size;
    ngx_int_t   keep;
    ngx_str_t  *value, s;
    ngx_uint_t  i;

    if (smcf->record_log != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0 && cf->args->nelts == 2) {
        smcf->record_log = NULL;
        return NGX_CONF_OK;
    }

    max_size = NGX_HTTP_STRANGLER_RECORD_MAX_SIZE;
    keep = NGX_HTTP_STRANGLER_RECORD_KEEP;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "max_size=", 9) == 0) {
            s.data = value[i].data + 9;
            s.len = value[i].len - 9;

            max_size = ngx_parse_offset(&s);

            if (max_size == NGX_ERROR || max_size == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid "
                                   "max_size \"%V\": a size such as 100m",
                                   &s);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "keep=", 5) == 0) {
            keep = ngx_atoi(value[i].data + 5, value[i].len - 5);

            if (keep == NGX_ERROR || keep > 1000) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid keep "
                                   "\"%V\": the number of rotated files "
                                   "kept, 0 to 1000", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\":"
                           " expected max_size=SIZE or keep=N", &value[i]);
        return NGX_CONF_ERROR;
    }

    smcf->record_log = ngx_http_strangler_record_log_create(cf, smcf,
                                                            &value[1],
                                                            max_size,
                                                            (ngx_uint_t) keep);

    return smcf->record_log ? NGX_CONF_OK : NGX_CONF_ERROR;
}


ngx_int_t
ngx_http_strangler_record_init_conf(ngx_conf_t *cf)
{
    ngx_str_t                        name = ngx_string("request_id");
    ngx_http_strangler_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_strangler_module);

    if (smcf->record_log == NGX_CONF_UNSET_PTR) {
        smcf->record_log = NULL;
    }

    if (smcf->record_log == NULL) {
        return NGX_OK;
    }

    ngx_http_strangler_record_request_id = ngx_http_get_variable_index(cf,
                                                                       &name);
    if (ngx_http_strangler_record_request_id == NGX_ERROR) {
        return NGX_ERROR;
    }

    ngx_http_next_request_body_filter = ngx_http_top_request_body_filter;
    ngx_http_top_request_body_filter = ngx_http_strangler_record_body_filter;

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_strangler_record_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_strangler_record_answer_filter;

    return NGX_OK;
}


/* a request of a captured route, picked by its sample */

void
ngx_http_strangler_record_start(ngx_http_request_t *r,
    ngx_http_strangler_ctx_t *ctx)
{
    ngx_pool_cleanup_t              *cln;
    const strangler_route_t         *route;
    ngx_http_strangler_record_t     *rec;
    ngx_http_strangler_main_conf_t  *smcf;

    route = ctx->decision.route;

    if (route == NULL || !route->capture.enabled || ctx->is_shadow
        || r != r->main || ctx->record)
    {
        return;
    }

    smcf = ngx_http_get_module_main_conf(r, ngx_http_strangler_module);

    if (smcf->record_log == NULL
        || (route->capture.sample_ppm < STRANGLER_SAMPLE_SCALE
            && (uint32_t) ngx_random() % STRANGLER_SAMPLE_SCALE
               >= route->capture.sample_ppm))
    {
        return;
    }

    rec = ngx_pcalloc(r->pool, sizeof(ngx_http_strangler_record_t));
    if (rec == NULL) {
        return;
    }

    if (route->shadow.headers.n) {
        rec->headers = ngx_pcalloc(r->pool, route->shadow.headers.n
                                            * sizeof(strangler_str_t));
        if (rec->headers == NULL) {
            return;
        }
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return;
    }

    cln->handler = ngx_http_strangler_record_cleanup;
    cln->data = &rec->answer;

    rec->route = route;
    rec->log = smcf->record_log;
    rec->max = smcf->compare_max_body;
    rec->body_last = &rec->body;
    rec->body_expected = r->headers_in.content_length_n > 0
                         || r->headers_in.chunked;

    ctx->record = rec;
}


static void
ngx_http_strangler_record_cleanup(void *data)
{
    strangler_body_free(data);
}


static ngx_http_strangler_record_t *
ngx_http_strangler_record_get(ngx_http_request_t *r)
{
    ngx_http_strangler_ctx_t  *ctx;

    if (r != r->main) {
        return NULL;
    }

    ctx = ngx_http_strangler_get_ctx(r);

    if (ctx == NULL || ctx->record == NULL || ctx->record->done) {
        return NULL;
    }

    return ctx->record;
}


/* the request's body, copied as it goes by to the owner */

static ngx_int_t
ngx_http_strangler_record_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    size_t                        size;
    ngx_buf_t                    *b, *copy;
    ngx_chain_t                  *cl, *ln;
    ngx_http_strangler_record_t  *rec;

    rec = ngx_http_strangler_record_get(r);

    if (rec == NULL || rec->body_done) {
        return ngx_http_next_request_body_filter(r, in);
    }

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (b->last_buf) {
            rec->body_done = 1;
        }

        if (rec->body_omitted) {
            continue;
        }

        size = ngx_buf_in_memory(b) ? (size_t) (b->last - b->pos) : 0;

        if ((!ngx_buf_in_memory(b) && ngx_buf_size(b))
            || rec->body_len + size > rec->max)
        {
            rec->body_omitted = 1;
            continue;
        }

        if (size == 0) {
            continue;
        }

        copy = ngx_create_temp_buf(r->pool, size);
        ln = ngx_alloc_chain_link(r->pool);

        if (copy == NULL || ln == NULL) {
            rec->body_omitted = 1;
            continue;
        }

        copy->last = ngx_cpymem(copy->pos, b->pos, size);

        ln->buf = copy;
        ln->next = NULL;
        *rec->body_last = ln;
        rec->body_last = &ln->next;
        rec->body_len += size;
    }

    return ngx_http_next_request_body_filter(r, in);
}


static ngx_int_t
ngx_http_strangler_record_header_filter(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_str_t                    *ce;
    ngx_http_strangler_record_t  *rec;

    rec = ngx_http_strangler_record_get(r);

    if (rec == NULL || rec->started) {
        return ngx_http_next_header_filter(r);
    }

    rec->started = 1;
    rec->status = r->headers_out.status;

    ce = r->headers_out.content_encoding
         ? &r->headers_out.content_encoding->value : NULL;

    strangler_body_init(&rec->answer, rec->max,
                        ce && ce->len == 4
                        && ngx_strncasecmp(ce->data, (u_char *) "gzip", 4)
                           == 0);

    ngx_http_strangler_record_headers(r, rec);

    /* the copy filter reads file buffers into memory for us */
    r->filter_need_in_memory = 1;

    rc = ngx_http_next_header_filter(r);

    /* HEAD, 204, 304: nginx sends no last buffer after the header */

    if (r->header_only && rc != NGX_ERROR && !rec->done) {
        ngx_http_strangler_record_end(r, rec);
    }

    return rc;
}


static ngx_int_t
ngx_http_strangler_record_answer_filter(ngx_http_request_t *r,
    ngx_chain_t *in)
{
    ngx_buf_t                    *b;
    ngx_chain_t                  *cl;
    ngx_http_strangler_record_t  *rec;

    rec = ngx_http_strangler_record_get(r);

    if (rec == NULL || !rec->started) {
        return ngx_http_next_body_filter(r, in);
    }

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            strangler_body_add(&rec->answer, b->pos, b->last - b->pos);

        } else if (ngx_buf_size(b) && rec->answer.error == NULL) {
            rec->answer.error = "not in memory";
        }

        if (b->last_buf) {
            ngx_http_strangler_record_end(r, rec);
            break;
        }
    }

    return ngx_http_next_body_filter(r, in);
}


/* the answer's headers that its route's shadow.headers compares */

static void
ngx_http_strangler_record_headers(ngx_http_request_t *r,
    ngx_http_strangler_record_t *rec)
{
    u_char                  *p;
    ngx_uint_t               i, k;
    ngx_list_part_t         *part;
    ngx_table_elt_t         *h;
    const strangler_str_t   *name;

    for (k = 0; k < rec->route->shadow.headers.n; k++) {
        name = &rec->route->shadow.headers.items[k];

        if (name->len == 12
            && ngx_strncasecmp((u_char *) name->data,
                               (u_char *) "Content-Type", 12) == 0)
        {
            if (r->headers_out.content_type.len) {
                rec->headers[k].data =
                                (const char *) r->headers_out.content_type.data;
                rec->headers[k].len = r->headers_out.content_type.len;
            }

            continue;
        }

        if (name->len == 14
            && ngx_strncasecmp((u_char *) name->data,
                               (u_char *) "Content-Length", 14) == 0)
        {
            if (r->headers_out.content_length_n >= 0) {
                p = ngx_pnalloc(r->pool, NGX_OFF_T_LEN);
                if (p == NULL) {
                    continue;
                }

                rec->headers[k].data = (const char *) p;
                rec->headers[k].len = ngx_sprintf(p, "%O",
                                             r->headers_out.content_length_n)
                                      - p;
            }

            continue;
        }

        part = &r->headers_out.headers.part;
        h = part->elts;

        for (i = 0; /* void */ ; i++) {

            if (i >= part->nelts) {
                if (part->next == NULL) {
                    break;
                }

                part = part->next;
                h = part->elts;
                i = 0;
            }

            if (h[i].hash && h[i].key.len == name->len
                && ngx_strncasecmp(h[i].key.data, (u_char *) name->data,
                                   name->len) == 0)
            {
                rec->headers[k].data = (const char *) h[i].value.data;
                rec->headers[k].len = h[i].value.len;
                break;
            }
        }
    }
}


/* the answer is complete: the line goes to the file */

static void
ngx_http_strangler_record_end(ngx_http_request_t *r,
    ngx_http_strangler_record_t *rec)
{
    char                *line;
    size_t               len;
    strangler_record_t   out;

    rec->done = 1;

    strangler_body_end(&rec->answer);

    if (ngx_http_strangler_record_request(r, rec, &out) != NGX_OK) {
        return;
    }

    line = strangler_record_format(&rec->route->capture, &out, &len);

    if (line == NULL) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "strangler: a capture record could not be made");
        return;
    }

    ngx_http_strangler_record_log_add(rec->log, (u_char *) line, len);

    free(line);
}


static ngx_int_t
ngx_http_strangler_record_request(ngx_http_request_t *r,
    ngx_http_strangler_record_t *rec, strangler_record_t *out)
{
    u_char                     *p;
    ngx_uint_t                  i, n;
    ngx_chain_t                *cl;
    ngx_list_part_t            *part;
    ngx_table_elt_t            *h;
    strangler_header_t         *hs;
    ngx_http_variable_value_t  *id;

    ngx_memzero(out, sizeof(strangler_record_t));

#define ngx_http_strangler_rec_str(field, s)                                  \
    out->field.data = (const char *) (s).data;                                \
    out->field.len = (s).len

    ngx_http_strangler_rec_str(time, ngx_cached_http_log_iso8601);
    ngx_http_strangler_rec_str(method, r->method_name);
    ngx_http_strangler_rec_str(uri, r->unparsed_uri);

#undef ngx_http_strangler_rec_str

    out->route.data = rec->route->name.data;
    out->route.len = rec->route->name.len;

    id = ngx_http_get_indexed_variable(r,
                                       ngx_http_strangler_record_request_id);
    if (id && !id->not_found) {
        out->request_id.data = (const char *) id->data;
        out->request_id.len = id->len;
    }

    /* the request's headers, in order */

    n = 0;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        n += part->nelts;
    }

    hs = ngx_palloc(r->pool, (n ? n : 1) * sizeof(strangler_header_t));
    if (hs == NULL) {
        return NGX_ERROR;
    }

    n = 0;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            hs[n].name.data = (const char *) h[i].key.data;
            hs[n].name.len = h[i].key.len;
            hs[n].value.data = (const char *) h[i].value.data;
            hs[n].value.len = h[i].value.len;
            n++;
        }
    }

    out->headers = hs;
    out->nheaders = n;

    /* the request's body, in one piece */

    if (rec->body_omitted || (rec->body_expected && !rec->body_done)) {
        out->body_omitted = 1;

    } else if (rec->body_expected) {
        p = ngx_pnalloc(r->pool, rec->body_len + 1);
        if (p == NULL) {
            return NGX_ERROR;
        }

        out->body.data = (const char *) p;
        out->body.len = rec->body_len;

        for (cl = rec->body; cl; cl = cl->next) {
            p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
        }
    }

    out->status = (int) rec->status;
    out->header_names = &rec->route->shadow.headers;
    out->header_values = rec->headers;
    out->answer = &rec->answer;

    return NGX_OK;
}


/* a new worker says at once when it cannot write the file */

void
ngx_http_strangler_record_init_process(ngx_cycle_t *cycle)
{
    ngx_http_strangler_main_conf_t  *smcf;

    smcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_strangler_module);

    if (smcf && smcf->record_log) {
        (void) ngx_http_strangler_record_log_check(smcf->record_log,
                                                   cycle->log);
    }
}


/* a worker's last lines, written before it exits */

void
ngx_http_strangler_record_exit(ngx_cycle_t *cycle)
{
    ngx_http_strangler_main_conf_t  *smcf;

    smcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_strangler_module);

    if (smcf && smcf->record_log) {
        ngx_http_strangler_record_log_flush_now(smcf->record_log);
    }
}
