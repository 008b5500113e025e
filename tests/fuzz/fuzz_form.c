/*
 * fuzz_form.c - the declared-parameter parser (lib/req.c) on
 * application/x-www-form-urlencoded bodies: the token endpoint,
 * revocation, logout and the form_post callback (SPEC §2.2, §2.3).
 *
 * The code path is the one of fuzz_query.c (a query string and a form
 * body are the same encoding); this target runs it with the body-side
 * parameter lists and has its own corpus, tests/fuzz/corpus/form/.
 */
#define FUZZ_FORM 1
#include "fuzz_query.c"
