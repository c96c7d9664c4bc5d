
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The jansson comparer, kept as the differential fuzzer's reference.
 */


#ifndef REF_COMPARE_H_INCLUDED_
#define REF_COMPARE_H_INCLUDED_


#include <jansson.h>

#include "strangler_compare.h"


extern int  ref_exact_numbers;

void ref_compare_json(const strangler_shadow_t *conf,
    const strangler_body_t *primary, const strangler_body_t *shadow,
    strangler_diffs_t *diffs);

/* numbers jansson cannot hold (ref_compare_json_numbers.c) */
int strangler_json_is_overflow(const json_error_t *err);
json_t *strangler_json_load_canonical(const char *text, size_t len);
json_t *ref_json_load_canonical(const char *text, size_t len, size_t flags);
const char *strangler_json_number_text(json_t *v);


#endif /* REF_COMPARE_H_INCLUDED_ */
