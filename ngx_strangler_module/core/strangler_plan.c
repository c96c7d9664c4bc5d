
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The readiness rules.  A route not fully moved has one next step:
 *
 *   legacy     -> shadow  start shadowing; needs a new service to copy to
 *   shadowing  -> reads   move the reads
 *   reads      -> owner   move the owner (a split: `reads`, finish them)
 *
 * Moving reads or the owner needs, from the shadow comparisons, at least
 * min_compared compared copies and at most max_differences fields whose
 * verdict is "difference" (the field statistics' verdict, after noise);
 * from both sides' answers (served and to copies), a new side's 5xx share
 * at most max_error_ratio times the legacy side's, and a p99 at most
 * max_latency_ratio times the legacy one's; and `quiet`: no guard trip,
 * and no field with a difference first seen, for that long.  Moving the
 * owner also needs the reads on the new side for `quiet`, and no
 * difference in shadowed (dry-run) writes.
 */


#include <stdio.h>
#include <string.h>

#include "strangler_compare.h"
#include "strangler_plan.h"


static void strangler_plan_evidence(const strangler_readiness_t *rd,
    const strangler_plan_evidence_t *ev, strangler_plan_verdict_t *v);
static void strangler_plan_fields(const strangler_readiness_t *rd,
    const strangler_plan_evidence_t *ev, strangler_plan_verdict_t *v);
static void strangler_plan_sides(const strangler_readiness_t *rd,
    const strangler_plan_evidence_t *ev, strangler_plan_verdict_t *v);
static void strangler_plan_owner(const strangler_readiness_t *rd,
    const strangler_plan_evidence_t *ev, strangler_plan_verdict_t *v);
static strangler_plan_reason_t *strangler_plan_reason(
    strangler_plan_verdict_t *v, strangler_plan_code_t code);
static const char *strangler_plan_count(char *buf, size_t size, uint64_t n);
static const char *strangler_plan_duration(char *buf, size_t size,
    int64_t s);
static double strangler_plan_share(uint64_t n, uint64_t of);


/* the first bound of the upper time histogram (strangler_guard.h) */
static const int32_t  strangler_plan_first_bound[] = { STRANGLER_TIME_BOUNDS };


static const char  *strangler_stage_names[STRANGLER_STAGE_COUNT] = {
    "legacy", "shadowing", "reads", "owned"
};


static const char  *strangler_step_names[STRANGLER_STEP_COUNT] = {
    "shadow", "reads", "owner", "none"
};


static const char  *strangler_plan_codes[STRANGLER_PLAN_NCODES] = {
    "no_new_side", "too_few_compared", "differences", "errors", "latency",
    "guard_tripped", "not_quiet", "reads_not_moved", "write_differences"
};


/* the order of steps in the plan: reads before owners before shadows */
static const int  strangler_step_rank[STRANGLER_STEP_COUNT] = {
    2, 0, 1, 3
};


void
strangler_readiness_default(strangler_readiness_t *rd)
{
    rd->min_compared = STRANGLER_READINESS_MIN_COMPARED;
    rd->max_differences = STRANGLER_READINESS_MAX_DIFFERENCES;
    rd->max_error_ratio = STRANGLER_READINESS_MAX_ERROR_RATIO;
    rd->max_latency_ratio = STRANGLER_READINESS_MAX_LATENCY_RATIO;
    rd->quiet = STRANGLER_READINESS_QUIET;
}


void
strangler_plan_judge(const strangler_readiness_t *rd,
    const strangler_plan_evidence_t *ev, strangler_plan_verdict_t *v)
{
    size_t  k;

    /* no memset: the reasons are many, and each is set whole when added */
    v->is_ready = 0;
    v->differences = 0;
    v->nreasons = 0;

    for (k = 0; k < STRANGLER_SIDE_COUNT; k++) {
        v->error_share[k] = -1;
        v->p99_ms[k] = -1;
    }

    switch (ev->stage) {

    case STRANGLER_STAGE_LEGACY:
        v->next = STRANGLER_STEP_SHADOW;

        if (!ev->has_new_side) {
            (void) strangler_plan_reason(v, STRANGLER_PLAN_NO_NEW_SIDE);
        }

        break;

    case STRANGLER_STAGE_SHADOWING:
        v->next = STRANGLER_STEP_READS;
        strangler_plan_evidence(rd, ev, v);
        break;

    case STRANGLER_STAGE_READS:
        v->next = ev->split ? STRANGLER_STEP_READS : STRANGLER_STEP_OWNER;
        strangler_plan_evidence(rd, ev, v);

        if (v->next == STRANGLER_STEP_OWNER) {
            strangler_plan_owner(rd, ev, v);
        }

        break;

    default:
        v->next = STRANGLER_STEP_NONE;
        return;
    }

    v->is_ready = (v->nreasons == 0);
}


/*
 * The evidence moving reads or the owner needs; the sides' figures only
 * here: a legacy or owned route's evidence may have no sides (the API
 * reads only what the order needs)
 */

static void
strangler_plan_evidence(const strangler_readiness_t *rd,
    const strangler_plan_evidence_t *ev, strangler_plan_verdict_t *v)
{
    size_t                    k;
    strangler_plan_reason_t  *r;

    for (k = 0; k < STRANGLER_SIDE_COUNT; k++) {
        v->p99_ms[k] = strangler_guard_p99(ev->side[k].time_bucket);

        if (ev->side[k].requests) {
            v->error_share[k] = strangler_plan_share(ev->side[k].errors,
                                                     ev->side[k].requests);
        }
    }

    if (ev->compared < rd->min_compared) {
        r = strangler_plan_reason(v, STRANGLER_PLAN_TOO_FEW_COMPARED);
        r->n[0] = ev->compared;
        r->n[1] = rd->min_compared;
    }

    strangler_plan_fields(rd, ev, v);
    strangler_plan_sides(rd, ev, v);

    if (ev->guard_tripped && ev->now - ev->guard_tripped < rd->quiet) {
        r = strangler_plan_reason(v, STRANGLER_PLAN_GUARD_TRIPPED);
        r->seconds[0] = ev->now - ev->guard_tripped;
    }
}


/* the fields judged differences; the most frequent one is named */

static void
strangler_plan_fields(const strangler_readiness_t *rd,
    const strangler_plan_evidence_t *ev, strangler_plan_verdict_t *v)
{
    size_t                         i;
    int64_t                        newest;
    strangler_plan_reason_t       *r;
    strangler_field_counts_t       c;
    const strangler_plan_field_t  *f, *worst, *young;

    worst = NULL;
    young = NULL;
    newest = 0;

    for (i = 0; i < ev->nfields; i++) {
        f = &ev->fields[i];

        c.compared = ev->compared;
        c.differences = f->differences;
        c.noise_compared = ev->noise_compared;
        c.noise = f->noise;

        if (!strangler_field_is_difference(&c, ev->noise_relative_ppm,
                                           ev->noise_absolute_ppm))
        {
            continue;
        }

        v->differences++;

        if (worst == NULL || f->differences > worst->differences) {
            worst = f;
        }

        if (f->first > newest) {
            newest = f->first;
            young = f;
        }
    }

    if (v->differences > rd->max_differences && worst) {
        r = strangler_plan_reason(v, STRANGLER_PLAN_DIFFERENCES);
        r->path = worst->path;
        r->n[0] = v->differences;
        r->share[0] = strangler_plan_share(worst->differences, ev->compared);
        r->share[1] = strangler_plan_share(worst->noise, ev->noise_compared);
    }

    if (young && ev->now - newest < rd->quiet) {
        r = strangler_plan_reason(v, STRANGLER_PLAN_NOT_QUIET);
        r->path = young->path;
        r->seconds[0] = ev->now - newest;
        r->seconds[1] = rd->quiet;
    }
}


/* 5xx share and p99 of the new side against the legacy side's */

static void
strangler_plan_sides(const strangler_readiness_t *rd,
    const strangler_plan_evidence_t *ev, strangler_plan_verdict_t *v)
{
    int                       over;
    double                    legacy, fresh;
    strangler_plan_reason_t  *r;

    legacy = v->error_share[STRANGLER_SIDE_LEGACY];
    fresh = v->error_share[STRANGLER_SIDE_NEW];

    if (fresh > 0) {
        over = (legacy <= 0) ? 1 : (fresh > rd->max_error_ratio * legacy);

        if (over) {
            r = strangler_plan_reason(v, STRANGLER_PLAN_ERRORS);
            r->share[0] = fresh;
            r->share[1] = legacy > 0 ? legacy : 0;
        }
    }

    /* within the first bucket, the histogram cannot tell the two apart */

    if (v->p99_ms[STRANGLER_SIDE_NEW] > strangler_plan_first_bound[0]
        && v->p99_ms[STRANGLER_SIDE_LEGACY] >= 0
        && (double) v->p99_ms[STRANGLER_SIDE_NEW]
           > rd->max_latency_ratio
             * (v->p99_ms[STRANGLER_SIDE_LEGACY] > 0
                ? (double) v->p99_ms[STRANGLER_SIDE_LEGACY] : 1.0))
    {
        r = strangler_plan_reason(v, STRANGLER_PLAN_LATENCY);
        r->n[0] = (uint64_t) v->p99_ms[STRANGLER_SIDE_NEW];
        r->n[1] = (uint64_t) v->p99_ms[STRANGLER_SIDE_LEGACY];
        r->share[0] = rd->max_latency_ratio;
    }
}


/* the owner moves last: reads moved and quiet, writes that agree */

static void
strangler_plan_owner(const strangler_readiness_t *rd,
    const strangler_plan_evidence_t *ev, strangler_plan_verdict_t *v)
{
    strangler_plan_reason_t  *r;

    if (ev->reads_since == 0 || ev->now - ev->reads_since < rd->quiet) {
        r = strangler_plan_reason(v, STRANGLER_PLAN_READS_NOT_MOVED);
        r->seconds[0] = ev->reads_since ? ev->now - ev->reads_since : -1;
        r->seconds[1] = rd->quiet;
    }

    if (ev->writes_mismatched) {
        r = strangler_plan_reason(v, STRANGLER_PLAN_WRITE_DIFFERENCES);
        r->n[0] = ev->writes_mismatched;
        r->n[1] = ev->writes_compared;
    }
}


static strangler_plan_reason_t *
strangler_plan_reason(strangler_plan_verdict_t *v, strangler_plan_code_t code)
{
    strangler_plan_reason_t  *r;

    /* each code once at most: there is room for all */
    r = &v->reason[v->nreasons++];
    memset(r, 0, sizeof(strangler_plan_reason_t));
    r->code = code;

    return r;
}


const char *
strangler_plan_text(const strangler_plan_reason_t *r, char *buf,
    size_t size)
{
    char  a[32], b[32];

    switch (r->code) {

    case STRANGLER_PLAN_NO_NEW_SIDE:
        snprintf(buf, size, "no new service to shadow to: set shadow.to "
                 "(or reads) to one");
        break;

    case STRANGLER_PLAN_TOO_FEW_COMPARED:
        snprintf(buf, size, "%s compared of %s",
                 strangler_plan_count(a, sizeof(a), r->n[0]),
                 strangler_plan_count(b, sizeof(b), r->n[1]));
        break;

    case STRANGLER_PLAN_DIFFERENCES:
        snprintf(buf, size, "%.100s differs in %.1f%% of copies, noise "
                 "%.1f%%%s%s%s", r->path, 100 * r->share[0],
                 100 * r->share[1], r->n[0] > 1 ? " (" : "",
                 r->n[0] > 1 ? strangler_plan_count(a, sizeof(a), r->n[0])
                             : "",
                 r->n[0] > 1 ? " fields differ)" : "");
        break;

    case STRANGLER_PLAN_ERRORS:
        snprintf(buf, size, "new side 5xx %.1f%% vs legacy %.1f%%",
                 100 * r->share[0], 100 * r->share[1]);
        break;

    case STRANGLER_PLAN_LATENCY:
        snprintf(buf, size, "new side p99 %llu ms vs legacy %llu ms (at "
                 "most %gx)", (unsigned long long) r->n[0],
                 (unsigned long long) r->n[1], r->share[0]);
        break;

    case STRANGLER_PLAN_GUARD_TRIPPED:
        snprintf(buf, size, "guard tripped %s ago",
                 strangler_plan_duration(a, sizeof(a), r->seconds[0]));
        break;

    case STRANGLER_PLAN_NOT_QUIET:
        snprintf(buf, size, "%.100s first differed %s ago, quiet is %s",
                 r->path,
                 strangler_plan_duration(a, sizeof(a), r->seconds[0]),
                 strangler_plan_duration(b, sizeof(b), r->seconds[1]));
        break;

    case STRANGLER_PLAN_READS_NOT_MOVED:
        if (r->seconds[0] < 0) {
            snprintf(buf, size, "reads are not on the new side everywhere");

        } else {
            snprintf(buf, size, "reads on the new side for %s of %s",
                     strangler_plan_duration(a, sizeof(a), r->seconds[0]),
                     strangler_plan_duration(b, sizeof(b), r->seconds[1]));
        }

        break;

    case STRANGLER_PLAN_WRITE_DIFFERENCES:
        snprintf(buf, size, "shadowed writes (dry-run) differ in %s of %s "
                 "copies", strangler_plan_count(a, sizeof(a), r->n[0]),
                 strangler_plan_count(b, sizeof(b), r->n[1]));
        break;

    default:
        snprintf(buf, size, "-");
    }

    return buf;
}


void
strangler_plan_key(const strangler_plan_verdict_t *v,
    const strangler_plan_evidence_t *ev, strangler_plan_key_t *key)
{
    key->is_ready = v->is_ready;
    key->next = v->next;
    key->requests = ev->requests;
}


int
strangler_plan_order(const strangler_plan_key_t *a,
    const strangler_plan_key_t *b)
{
    if (a->is_ready != b->is_ready) {
        return a->is_ready ? -1 : 1;
    }

    if (a->next != b->next) {
        return strangler_step_rank[a->next] - strangler_step_rank[b->next];
    }

    return (a->requests > b->requests) - (a->requests < b->requests);
}


void
strangler_plan_add(strangler_plan_evidence_t *sum,
    const strangler_plan_evidence_t *ev)
{
    size_t  k, i;

    if (ev->stage < sum->stage) {
        sum->stage = ev->stage;
        sum->split = ev->split;

    } else if (ev->stage == sum->stage) {
        sum->split |= ev->split;
    }

    sum->has_new_side |= ev->has_new_side;
    sum->requests += ev->requests;
    sum->compared += ev->compared;
    sum->noise_compared += ev->noise_compared;
    sum->writes_compared += ev->writes_compared;
    sum->writes_mismatched += ev->writes_mismatched;

    for (k = 0; k < STRANGLER_SIDE_COUNT; k++) {
        sum->side[k].requests += ev->side[k].requests;
        sum->side[k].errors += ev->side[k].errors;

        for (i = 0; i < STRANGLER_TIME_NBUCKETS; i++) {
            sum->side[k].time_bucket[i] += ev->side[k].time_bucket[i];
        }
    }

    if (ev->guard_tripped > sum->guard_tripped) {
        sum->guard_tripped = ev->guard_tripped;
    }

    if (sum->reads_since == 0 || ev->reads_since == 0) {
        sum->reads_since = 0;

    } else if (ev->reads_since > sum->reads_since) {
        sum->reads_since = ev->reads_since;
    }

    if (ev->now > sum->now) {
        sum->now = ev->now;
    }
}


const char *
strangler_stage_name(strangler_stage_t stage)
{
    return (stage < STRANGLER_STAGE_COUNT) ? strangler_stage_names[stage]
                                           : "-";
}


const char *
strangler_step_name(strangler_step_t step)
{
    return (step < STRANGLER_STEP_COUNT) ? strangler_step_names[step] : "-";
}


const char *
strangler_plan_code_name(strangler_plan_code_t code)
{
    return (code < STRANGLER_PLAN_NCODES) ? strangler_plan_codes[code] : "-";
}


int
strangler_stage_parse(const char *name, size_t len)
{
    int  s;

    for (s = 0; s < STRANGLER_STAGE_COUNT; s++) {
        if (strlen(strangler_stage_names[s]) == len
            && memcmp(strangler_stage_names[s], name, len) == 0)
        {
            return s;
        }
    }

    return -1;
}


size_t
strangler_plan_json_str(char *out, size_t size, const char *s, size_t len)
{
    size_t          i, n, o;
    unsigned char   c;

    if (size < 3) {
        return 0;
    }

    o = 0;
    out[o++] = '"';

    for (i = 0; i < len; i += n) {
        c = (unsigned char) s[i];
        n = strangler_utf8_len((const unsigned char *) s + i, len - i);

        if (o + 8 >= size) {
            break;
        }

        if (n == 0) {
            memcpy(out + o, "\\ufffd", 6);
            o += 6;
            n = 1;

        } else if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char) c;

        } else if (c < 0x20) {
            o += (size_t) snprintf(out + o, size - o, "\\u%04x", c);

        } else {
            memcpy(out + o, s + i, n);
            o += n;
        }
    }

    out[o++] = '"';
    out[o] = '\0';

    return o;
}


/* 1,234,567 */

static const char *
strangler_plan_count(char *buf, size_t size, uint64_t n)
{
    char    digits[32];
    size_t  i, len, o;

    len = (size_t) snprintf(digits, sizeof(digits), "%llu",
                            (unsigned long long) n);

    for (i = 0, o = 0; i < len && o + 2 < size; i++) {
        if (i && (len - i) % 3 == 0) {
            buf[o++] = ',';
        }

        buf[o++] = digits[i];
    }

    buf[o] = '\0';

    return buf;
}


/* "40 s", "18 min", "3 h", "2 d" */

static const char *
strangler_plan_duration(char *buf, size_t size, int64_t s)
{
    if (s < 0) {
        s = 0;
    }

    if (s < 120) {
        snprintf(buf, size, "%lld s", (long long) s);

    } else if (s < 120 * 60 && s % 3600) {
        snprintf(buf, size, "%lld min", (long long) (s / 60));

    } else if (s < 48 * 3600) {
        snprintf(buf, size, "%lld h", (long long) (s / 3600));

    } else {
        snprintf(buf, size, "%lld d", (long long) (s / 86400));
    }

    return buf;
}


static double
strangler_plan_share(uint64_t n, uint64_t of)
{
    return of ? (double) n / (double) of : 0;
}
