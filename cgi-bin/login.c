/*
 * login.c - login.fcgi: the authorization endpoint (SPEC §2.1), as
 * FastCGI or plain CGI. The endpoint lives in lib/login_ep.c.
 */
#include "ownauth.h"

int
main(void)
{
	struct oa_login_ep *ep;
	int rc;

	oa_log_set_prog("login");
	/* Before anything uses OpenSSL: a lighter start (SPEC §11). */
	oa_crypto_init();
	/* Before the keys are in memory: no core dumps. */
	oa_cgi_init();
	/* The program's own environment, before any request's. */
	if ((ep = oa_login_ep_new(oa_conf_default_path())) == NULL) {
		oa_log(OA_LOG_ERROR, "out of memory");
		return 1;
	}
	rc = oa_cgi_main(oa_login_ep_handle, ep);
	oa_login_ep_free(ep);
	return rc == 0 ? 0 : 1;
}
