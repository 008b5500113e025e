/*
 * t.h - the unit tests' tiny harness. Each test file is one program:
 * CHECK() records a failure with file and line and goes on; main()
 * returns t_done(), which prints a summary and fails when anything did.
 */
#ifndef OA_T_H
#define OA_T_H

#include <stdio.h>
#include <string.h>

static int t_failed, t_run;

#define CHECK(cond)                                                      \
	do {                                                             \
		t_run++;                                                 \
		if (!(cond)) {                                           \
			t_failed++;                                      \
			fprintf(stderr, "%s:%d: FAIL: %s\n", __FILE__,   \
			    __LINE__, #cond);                            \
		}                                                        \
	} while (0)

#define CHECK_STR(a, b)                                                  \
	do {                                                             \
		const char *t_a_ = (a), *t_b_ = (b);                     \
		t_run++;                                                 \
		if (t_a_ == NULL || t_b_ == NULL ||                      \
		    strcmp(t_a_, t_b_) != 0) {                           \
			t_failed++;                                      \
			fprintf(stderr,                                  \
			    "%s:%d: FAIL: %s == %s\n  got:  %s\n"        \
			    "  want: %s\n", __FILE__, __LINE__, #a, #b,  \
			    t_a_ ? t_a_ : "(null)",                      \
			    t_b_ ? t_b_ : "(null)");                     \
		}                                                        \
	} while (0)

static inline int
t_done(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, t_run, t_failed);
	return t_failed ? 1 : 0;
}

#endif
