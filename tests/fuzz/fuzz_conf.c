/*
 * fuzz_conf.c - libFuzzer target for the config parser (lib/conf.c) and
 * the URL splitter it relies on (lib/url.c). Untrusted here means: any
 * bytes at all, NULs and over-long lines included. The parser must never
 * crash, leak or read past size; on success the result must satisfy the
 * invariants the programs rely on.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ownauth.h"

static void
check_conf(const struct oa_conf *c)
{
	size_t i;

	/* Invariants: a violation aborts, which the fuzzer reports. */
	if (c->issuer == NULL || c->data_dir == NULL || c->keys_dir == NULL)
		abort();
	if (!oa_url_is_secure_or_loopback(c->issuer))
		abort();
	for (i = 0; i < c->n_clients; i++) {
		const struct oa_client *cl = &c->clients[i];
		if (cl->redirect_uris.n == 0 || cl->audience == NULL ||
		    (!cl->allow_code && !cl->allow_token))
			abort();
		if (oa_conf_client(c, cl->name) != cl)
			abort();
	}
	for (i = 0; i < c->n_providers; i++) {
		const struct oa_provider *p = &c->providers[i];
		if (p->display_name == NULL)
			abort();
		if (p->type == OA_PROV_DEV &&
		    !oa_url_is_secure_or_loopback(c->issuer))
			abort();
		if (p->type != OA_PROV_DEV && p->client_id == NULL)
			abort();
		if (p->token_endpoint != NULL &&
		    !oa_url_is_secure_or_loopback(p->token_endpoint))
			abort();
		if (oa_conf_provider(c, p->name) != p)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oa_conf *conf = NULL;
	char err[512];
	char *s, *scheme = NULL, *host = NULL, *path = NULL;
	int port;

	/* check_files = 0: the fuzzer must not touch the file system. */
	if (oa_conf_parse("fuzz.conf", (const char *)data, size, 0, &conf,
	    err, sizeof(err)) == 0) {
		check_conf(conf);
		oa_conf_free(conf);
	} else if (conf != NULL || err[0] == '\0')
		abort();

	/* The same bytes as one URL (up to the first NUL). */
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (oa_url_split(s, &scheme, &host, &port, &path) == 0) {
		if (host[0] == '\0' || port < 0 || port > 65535 ||
		    strchr(host, '@') != NULL || strchr(path, '#') != NULL)
			abort();
		free(scheme);
		free(host);
		free(path);
	}
	(void)oa_host_is_loopback(s);
	free(s);
	return 0;
}
