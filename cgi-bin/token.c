/*
 * token.c - token.fcgi: the token endpoint (authorization_code and
 * refresh_token grants), revocation, logout and userinfo (SPEC §2.3), as
 * FastCGI or plain CGI. The endpoints live in lib/token_ep.c.
 */
#include "ownauth.h"

int
main(void)
{
	struct oa_token_ep *ep;
	int rc;

	oa_log_set_prog("token");
	/* Before anything uses OpenSSL: a lighter start (SPEC §11; token
	 * links no libssl, see oa_crypto_init). */
	oa_crypto_init();
	/* No core dumps, before the private keys are loaded. */
	oa_cgi_init();
	/* The program's own environment, before any request's. */
	if ((ep = oa_token_ep_new(oa_conf_default_path())) == NULL) {
		oa_log(OA_LOG_ERROR, "out of memory");
		return 1;
	}
	rc = oa_cgi_main(oa_token_ep_handle, ep);
	oa_token_ep_free(ep);
	return rc == 0 ? 0 : 1;
}
