
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * What traffic capture (`strangler_capture`) has written and dropped,
 * over every worker since the zone was made: the `capture` object of
 * `GET status` and, in `GET metrics`,
 *
 *     strangler_capture_records_total{result="written|dropped"}
 *     strangler_capture_bytes_total
 *
 * Neither is there without strangler_capture.
 */


#include "ngx_http_strangler_api.h"
#include "ngx_http_strangler_record.h"


json_t *
ngx_http_strangler_report_capture(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    char                             *at;
    size_t                            len;
    time_t                            when;
    json_t                           *error;
    ngx_str_t                        *file;
    ngx_http_strangler_sh_capture_t  *cap;
    u_char                            text[NGX_HTTP_STRANGLER_CAPTURE_ERR];

    if (ctx->zone->smcf->record_log == NULL) {
        return json_null();
    }

    file = ngx_http_strangler_record_log_path(ctx->zone->smcf->record_log);
    cap = &ctx->zone->sh->capture;

    /* the reason is written under the mutex, once writes start to fail */

    ngx_shmtx_lock(&ctx->zone->shpool->mutex);

    when = cap->error_at;
    len = cap->error_len;
    ngx_memcpy(text, cap->error, len);

    ngx_shmtx_unlock(&ctx->zone->shpool->mutex);

    error = json_null();

    if (when) {
        at = ngx_http_strangler_report_time(r->pool, when);
        if (at == NULL) {
            return NULL;
        }

        error = json_pack("{s:s%, s:s}", "message", (char *) text, len,
                          "at", at);
    }

    return json_pack("{s:s%, s:I, s:I, s:I, s:o}",
                     "file", (char *) file->data, file->len,
                     "written", (json_int_t) cap->written,
                     "dropped", (json_int_t) cap->dropped,
                     "bytes", (json_int_t) cap->bytes,
                     "last_error", error);
}


void
ngx_http_strangler_metrics_capture(ngx_http_strangler_text_t *out,
    ngx_http_strangler_api_ctx_t *ctx)
{
    ngx_http_strangler_sh_capture_t  *cap;

    if (ctx->zone->smcf->record_log == NULL) {
        return;
    }

    cap = &ctx->zone->sh->capture;

    ngx_http_strangler_text(out,
        "# HELP strangler_capture_records_total "
        "Capture records written to strangler_capture's file, and dropped "
        "(a full disk, an unwritable file, a disk slower than the "
        "traffic).\n"
        "# TYPE strangler_capture_records_total counter\n"
        "strangler_capture_records_total{result=\"written\"} %uA\n"
        "strangler_capture_records_total{result=\"dropped\"} %uA\n"
        "# HELP strangler_capture_bytes_total "
        "Bytes of capture records written.\n"
        "# TYPE strangler_capture_bytes_total counter\n"
        "strangler_capture_bytes_total %uA\n",
        cap->written, cap->dropped, cap->bytes);
}
