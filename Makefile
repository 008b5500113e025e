# ownauth - one GNU Makefile, no configure step.
#
#   make            build lib/libownauth.a, cgi-bin/*.fcgi, bin/ownauth
#   make check      install what the tests need, build, run every test
#   make fuzz       libFuzzer runs of every fuzz target (FUZZ_SECONDS each)
#   make bench      wrk benchmarks (see bench/)
#   make demo       a demo instance on http://127.0.0.1:8080
#   make install    PREFIX/DESTDIR install (see install.sh for user installs)
#
# B is the build directory: "." builds in the tree (the programs land where
# SPEC §1 says); the sanitizer build uses B=build/asan.

CC      ?= cc
CFLAGS  ?= -O2 -g
LDFLAGS ?=
PREFIX  ?= /usr/local
DESTDIR ?=
B       ?= .
# The config path compiled into the programs (install.sh sets it).
OA_CONF_PATH ?= /etc/ownauth/ownauth.conf

WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wformat=2 -Wno-unused-parameter
HARDEN = -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE

pc = $(shell pkg-config $(1) $(2) 2>/dev/null || echo $(3))
CJSON_CFLAGS  := $(call pc,--cflags,libcjson,-I/usr/include/cjson)
CJSON_LIBS    := $(call pc,--libs,libcjson,-lcjson)
CRYPTO_CFLAGS := $(call pc,--cflags,libcrypto,)
CRYPTO_LIBS   := $(call pc,--libs,libcrypto,-lcrypto)
FCGI_CFLAGS   := $(call pc,--cflags,fcgi,)
FCGI_LIBS     := $(call pc,--libs,fcgi,-lfcgi)
CURL_CFLAGS   := $(call pc,--cflags,libcurl,)
CURL_LIBS     := $(call pc,--libs,libcurl,-lcurl)
DB_LIBS       := -ldb-5.3

ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(HARDEN) $(CFLAGS) -Ilib \
             $(CJSON_CFLAGS) $(CRYPTO_CFLAGS) $(FCGI_CFLAGS) $(CURL_CFLAGS) \
             -DOA_CONF_PATH='"$(OA_CONF_PATH)"'
ALL_LDFLAGS = -pie -Wl,-z,relro,-z,now -Wl,--as-needed $(LDFLAGS)

LIB_SRC  := $(sort $(wildcard lib/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o)
LIBA     := $(B)/lib/libownauth.a

# Each program links only what it uses (SPEC: jwks.fcgi loads neither
# libcurl nor Berkeley DB; --as-needed drops what is not referenced).
BASE_LIBS := $(CJSON_LIBS) $(CRYPTO_LIBS)
# jwks.fcgi calls no libcrypto function (see lib/wellknown.c): the one
# libcrypto symbol it needs is OPENSSL_cleanse, which cgi.c, file.c and
# b64.c wipe with. It comes from libcrypto.a when there is one, so that a
# plain-CGI start (SPEC §11) maps no libcrypto.so and binds none of its
# 3,000 symbols; its link rule below refuses any other libcrypto code.
CRYPTO_A := $(wildcard $(shell $(CC) -print-file-name=libcrypto.a))
CRYPTO_STATIC := -Wl,-Bstatic $(CRYPTO_LIBS) -Wl,-Bdynamic
LIBS_jwks     := $(FCGI_LIBS) $(CJSON_LIBS) \
                 $(if $(CRYPTO_A),$(CRYPTO_STATIC),$(CRYPTO_LIBS))
LIBS_login    := $(FCGI_LIBS) $(BASE_LIBS)
LIBS_token    := $(FCGI_LIBS) $(DB_LIBS) $(BASE_LIBS)
LIBS_callback := $(FCGI_LIBS) $(CURL_LIBS) $(DB_LIBS) $(BASE_LIBS)
LIBS_ownauth  := $(DB_LIBS) $(BASE_LIBS)

PROG_SRC := $(sort $(wildcard cgi-bin/*.c))
PROGS    := $(PROG_SRC:cgi-bin/%.c=$(B)/cgi-bin/%.fcgi)
CLI      := $(B)/bin/ownauth

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNITS    := $(UNIT_SRC:tests/unit/%.c=$(B)/obj/t/%)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAY := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/obj/t/%.replay)
HELPER_SRC := $(sort $(wildcard tests/helpers/*.c))
HELPERS  := $(HELPER_SRC:tests/helpers/%.c=$(B)/obj/t/%)

.PHONY: all check fuzz bench demo install clean deps test unit fuzz-replay \
        integration asan e2e format lint valgrind helpers
.SUFFIXES:

all: $(LIBA) $(PROGS) $(CLI)

$(B)/obj/%.o: %.c lib/ownauth.h $(wildcard lib/*_int.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBA): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(B)/cgi-bin/%.fcgi: $(B)/obj/cgi-bin/%.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBA) $(LIBS_$*)

# jwks.fcgi: the same, then a check that it holds or calls no libcrypto
# code but OPENSSL_cleanse (and the CPU probe that comes with it).
$(B)/cgi-bin/jwks.fcgi: $(B)/obj/cgi-bin/jwks.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBA) $(LIBS_jwks)
	@if nm $@ | grep -Eq ' [TtUuWw] (EVP|OSSL|RAND|ERR|BN|PEM|OPENSSL_init)_'; \
	then echo "$@: links libcrypto code (see lib/wellknown.c)" >&2; \
	  rm -f $@; exit 1; fi

# The CLI: bin/ownauth.c plus the bin/cli_*.c it dispatches to (their
# private header is bin/cli.h).
CLI_OBJ := $(patsubst %.c,$(B)/obj/%.o,bin/ownauth.c $(sort $(wildcard bin/cli_*.c)))
$(CLI_OBJ): $(wildcard bin/*.h)
$(CLI): $(CLI_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(LIBA) $(LIBS_ownauth)

# Unit tests and test helpers link everything the library may use.
TEST_LIBS := $(FCGI_LIBS) $(CURL_LIBS) $(DB_LIBS) $(BASE_LIBS) -lpthread
$(B)/obj/t/test_%: $(B)/obj/tests/unit/test_%.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBA) $(TEST_LIBS)

$(B)/obj/t/%: $(B)/obj/tests/helpers/%.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBA) $(TEST_LIBS)

# Fuzz targets built with a replay main (any compiler) for `make check`.
$(B)/obj/t/%.replay: $(B)/obj/tests/fuzz/%.o $(B)/obj/tests/fuzz/replay_main.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LIBA) $(TEST_LIBS)
$(B)/obj/tests/fuzz/replay_main.o: tests/fuzz/replay_main.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

unit: $(UNITS) $(CLI) $(PROGS)
	@set -e; for t in $(UNITS); do echo "== $$t"; OA_SRC=$(CURDIR) $$t; done

fuzz-replay: $(FUZZ_REPLAY)
	@set -e; for t in $(FUZZ_REPLAY); do \
	  n=$$(basename $$t .replay); n=$${n#fuzz_}; \
	  echo "== replay $$n"; $$t tests/fuzz/corpus/$$n; done

# The unit tests and fuzz replays under valgrind's memcheck (the plain
# build: valgrind and ASan do not mix). Definite leaks and every memory
# error fail; tests/valgrind.supp holds Berkeley DB's own padding writes.
VALGRIND = valgrind -q --error-exitcode=99 --leak-check=full \
           --errors-for-leak-kinds=definite --suppressions=tests/valgrind.supp
valgrind: $(UNITS) $(FUZZ_REPLAY)
	@set -e; for t in $(UNITS); do echo "== valgrind $$t"; \
	  OA_SRC=$(CURDIR) OA_TEST_SLOW=1 $(VALGRIND) $$t; done
	@set -e; for t in $(FUZZ_REPLAY); do \
	  n=$$(basename $$t .replay); n=$${n#fuzz_}; \
	  echo "== valgrind replay $$n"; $(VALGRIND) $$t tests/fuzz/corpus/$$n; done

# ASan + UBSan build of everything, in build/asan.
SAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=all
asan:
	$(MAKE) B=build/asan CFLAGS="$(SAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined" \
	  all $(patsubst $(B)/%,build/asan/%,$(UNITS) $(FUZZ_REPLAY) $(HELPERS))

helpers: $(HELPERS)

integration: all $(HELPERS)
	OA_BUILD=$(CURDIR)/$(B) tests/integration/run

# `make check`: dependencies, build, unit tests and fuzz replay (plain and
# under ASan+UBSan), then the integration suite against the plain build
# and again against the sanitizer build.
check: deps
	$(MAKE) all helpers
	$(MAKE) unit fuzz-replay
	$(MAKE) valgrind
	$(MAKE) asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(MAKE) B=build/asan CFLAGS="$(SAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined" unit fuzz-replay
	OA_BUILD=$(CURDIR) tests/integration/run
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  OA_BUILD=$(CURDIR)/build/asan tests/integration/run

deps:
	./install.sh --deps --test

FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer
fuzz:
	$(MAKE) B=build/fuzz CC=$(FUZZ_CC) CFLAGS="$(FUZZ_FLAGS) -fsanitize=fuzzer-no-link" \
	  LDFLAGS="-fsanitize=address,undefined" build/fuzz/lib/libownauth.a
	@set -e; for f in $(FUZZ_SRC); do n=$$(basename $$f .c); t=$${n#fuzz_}; \
	  $(FUZZ_CC) $(ALL_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer -o build/fuzz/$$n $$f \
	    build/fuzz/lib/libownauth.a $(TEST_LIBS); \
	  mkdir -p build/fuzz/corpus-$$t; \
	  echo "== fuzz $$t for $(FUZZ_SECONDS)s"; \
	  build/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) -max_len=16384 \
	    build/fuzz/corpus-$$t tests/fuzz/corpus/$$t; done

bench: all helpers
	bench/run $(B)

demo:
	./install.sh --deps
	$(MAKE) all
	etc/demo.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/ownauth/cgi-bin
	install -m 0755 $(CLI) $(DESTDIR)$(PREFIX)/bin/ownauth
	install -m 0755 $(PROGS) $(DESTDIR)$(PREFIX)/lib/ownauth/cgi-bin/

format:
	clang-format -i lib/*.c lib/*.h cgi-bin/*.c bin/*.c tests/unit/*.c tests/fuzz/*.c

clean:
	rm -rf obj build lib/libownauth.a cgi-bin/*.fcgi bin/ownauth
