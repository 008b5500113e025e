/*
 * page.c - the few HTML pages ownauth shows: errors, the provider
 * chooser and the type dev sign-in form.
 *
 * SECURITY 22, 27: every page is self-contained (no script, no
 * third-party resource, inline style only), cannot be framed, sends no
 * Referer onwards, is never cached, and escapes every string it shows -
 * including the configuration's, so that a display name cannot inject
 * markup either. Error pages show an OAuth error code and a fixed
 * description, never request bytes.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ownauth.h"

/* The same small style sheet on every page (CSP style-src
 * 'unsafe-inline' allows exactly this; nothing else loads). */
#define STYLE                                                           \
	"body{font-family:system-ui,sans-serif;max-width:26rem;"        \
	"margin:3rem auto;padding:0 1rem;line-height:1.4;color:#222}"   \
	"h1{font-size:1.4rem}"                                          \
	"ul{list-style:none;padding:0}"                                 \
	"li{margin:.5rem 0}"                                            \
	"a.b,button{display:block;width:100%;box-sizing:border-box;"    \
	"padding:.7rem 1rem;border:1px solid #888;border-radius:.4rem;" \
	"background:#f6f6f6;color:#222;text-decoration:none;"           \
	"font:inherit;text-align:center;cursor:pointer}"                \
	"a.b:focus,a.b:hover,button:focus,button:hover{background:#e8e8e8}" \
	"label{display:block;margin:.8rem 0 .2rem}"                     \
	"input{width:100%;box-sizing:border-box;padding:.5rem;"         \
	"font:inherit}"                                                 \
	"code{background:#f0f0f0;padding:0 .2rem}"

/* A growable string; on any failure p is NULL and stays NULL. */
struct sbuf {
	char *p;
	size_t len, cap;
	int failed;
};

static void
sb_add(struct sbuf *b, const char *s)
{
	size_t n, cap;
	char *np;

	if (b->failed || s == NULL)
		return;
	n = strlen(s);
	if (n > SIZE_MAX / 4 - b->len) {
		b->failed = 1;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL) {
			b->failed = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

/* Adds s HTML-escaped. */
static void
sb_esc(struct sbuf *b, const char *s)
{
	char *e;

	if (b->failed)
		return;
	if ((e = oa_html_escape(s != NULL ? s : "")) == NULL) {
		b->failed = 1;
		return;
	}
	sb_add(b, e);
	free(e);
}

static char *
sb_done(struct sbuf *b)
{
	if (b->failed || b->p == NULL) {
		free(b->p);
		oa_log(OA_LOG_ERROR, "page: out of memory");
		return NULL;
	}
	return b->p;
}

/* The page up to and including <body><main>; title is escaped. */
static void
sb_head(struct sbuf *b, const char *title)
{
	sb_add(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n"
	    "<meta name=\"referrer\" content=\"no-referrer\">\n<title>");
	sb_esc(b, title);
	sb_add(b, "</title>\n<style>" STYLE "</style>\n</head>\n"
	    "<body>\n<main>\n");
}

static void
sb_tail(struct sbuf *b)
{
	sb_add(b, "</main>\n</body>\n</html>\n");
}

char *
oa_page_csp(const char *form_action)
{
	char *s = NULL;

	/* Origins (separated by single spaces) go into a header: no control
	 * bytes, no ';' or ',' that would end the directive, no quotes. */
	if (form_action != NULL && (form_action[0] == '\0' ||
	    form_action[0] == ' ' || strstr(form_action, "  ") != NULL ||
	    strpbrk(form_action, ";,'\"\t\r\n") != NULL)) {
		oa_log(OA_LOG_ERROR, "oa_page_csp: bad form-action origin");
		return NULL;
	}
	if (asprintf(&s, "default-src 'none'; style-src 'unsafe-inline'; "
	    "form-action %s; frame-ancestors 'none'; base-uri 'none'",
	    form_action != NULL ? form_action : "'self'") < 0)
		return NULL;
	return s;
}

/*
 * The dev form's CSP form-action: our origin, where it posts, and the
 * client's, because the callback answers the post with a redirect to the
 * client's redirect_uri and browsers apply form-action to redirects that
 * follow a form submission (CSP3 form-action). A redirect_uri with a
 * private-use scheme (RFC 8252 §7.1) is allowed by its scheme.
 *
 * ours is our origin (where the form posts), redirect_uri the client's
 * established redirect URI. Returns "ours" when both origins are the
 * same, else "ours theirs": a malloc'd string the caller frees, or NULL
 * (memory, or a redirect_uri with neither an origin nor a scheme).
 */
char *
oa_page_dev_form_action(const char *ours, const char *redirect_uri)
{
	char *theirs, *fa = NULL;
	const char *colon;

	if ((theirs = oa_url_origin(redirect_uri)) == NULL) {
		colon = strchr(redirect_uri, ':');
		if (colon == NULL || (theirs = strndup(redirect_uri,
		    (size_t)(colon - redirect_uri) + 1)) == NULL)
			return NULL;
	}
	if (strcmp(theirs, ours) == 0)
		fa = strdup(ours);
	else if (asprintf(&fa, "%s %s", ours, theirs) < 0)
		fa = NULL;
	free(theirs);
	return fa;
}

int
oa_page_send(struct oa_cgi *c, int status, const char *html,
    const char *form_action)
{
	char *csp;
	int rc = 0;

	if (html == NULL || (csp = oa_page_csp(form_action)) == NULL)
		return -1;
	if (oa_cgi_status(c, status) == -1 ||
	    oa_cgi_header(c, "Content-Type", "text/html; charset=utf-8") ||
	    oa_cgi_header(c, "Cache-Control", "no-store") ||
	    oa_cgi_header(c, "Referrer-Policy", "no-referrer") ||
	    oa_cgi_header(c, "Content-Security-Policy", csp) ||
	    oa_cgi_header(c, "X-Content-Type-Options", "nosniff") ||
	    oa_cgi_header(c, "X-Frame-Options", "DENY") ||
	    oa_cgi_body(c, html, strlen(html)))
		rc = -1;
	free(csp);
	return rc;
}

char *
oa_page_error_html(int status, const char *error, const char *description)
{
	struct sbuf b = { 0 };
	char num[16];

	snprintf(num, sizeof(num), "%d", status);
	sb_head(&b, "Sign-in error");
	sb_add(&b, "<h1>Sign-in failed</h1>\n<p>This sign-in request cannot "
	    "be completed (");
	sb_add(&b, num);
	sb_add(&b, " ");
	sb_esc(&b, oa_cgi_status_text(status));
	sb_add(&b, ").</p>\n<p><code>");
	sb_esc(&b, error != NULL ? error : "server_error");
	sb_add(&b, "</code>");
	if (description != NULL && description[0] != '\0') {
		sb_add(&b, ": ");
		sb_esc(&b, description);
	}
	sb_add(&b, "</p>\n<p>Go back to the application and try again.</p>\n");
	sb_tail(&b);
	return sb_done(&b);
}

int
oa_page_error(struct oa_cgi *c, int status, const char *error,
    const char *description)
{
	char *html;
	int rc;

	if ((html = oa_page_error_html(status, error, description)) == NULL)
		return -1;
	rc = oa_page_send(c, status, html, NULL);
	free(html);
	return rc;
}

/*
 * Reads the form body of a POST request c (RFC 6749 §3.1, OIDC Core
 * §3.1.2.1 form posts; form_post upstreams): the Content-Type must be
 * OA_FORM_TYPE and the body at most OA_PARAMS_MAX_INPUT bytes. On success
 * points *in and *len at the body (owned by c) and returns 0. Otherwise
 * answers c with a fixed error page (415 wrong type, 413 too large, 400
 * unreadable) and returns 1, or -1 when even that could not be written;
 * *in and *len are then untouched.
 */
int
oa_page_read_form(struct oa_cgi *c, const char **in, size_t *len)
{
	int rc;

	if (!oa_media_type_is(c->content_type, OA_FORM_TYPE))
		rc = oa_page_error(c, 415, "invalid_request",
		    "POST application/x-www-form-urlencoded");
	else switch (oa_cgi_read_body(c, OA_PARAMS_MAX_INPUT, in, len)) {
	case OA_CGI_BODY_OK:
		return 0;
	case OA_CGI_BODY_TOO_LARGE:
		rc = oa_page_error(c, 413, "invalid_request",
		    "request too large");
		break;
	case OA_CGI_BODY_BAD:
	default:
		rc = oa_page_error(c, 400, "invalid_request",
		    "malformed request body");
		break;
	}
	return rc == 0 ? 1 : -1;
}

char *
oa_page_chooser_html(const struct oa_conf *conf, const char *query)
{
	struct sbuf b = { 0 };
	size_t i;

	if (conf == NULL)
		return NULL;
	sb_head(&b, "Sign in");
	sb_add(&b, "<h1>Sign in</h1>\n<nav aria-label=\"Sign-in "
	    "providers\">\n<ul>\n");
	for (i = 0; i < conf->n_providers; i++) {
		const struct oa_provider *p = &conf->providers[i];
		char *href = NULL;

		if (asprintf(&href, "%s/oauth/%s%s%s", conf->issuer, p->name,
		    query != NULL && query[0] != '\0' ? "?" : "",
		    query != NULL ? query : "") < 0) {
			b.failed = 1;
			break;
		}
		sb_add(&b, "<li><a class=\"b\" href=\"");
		sb_esc(&b, href);
		sb_add(&b, "\">Continue with ");
		sb_esc(&b, p->display_name != NULL ? p->display_name :
		    p->name);
		sb_add(&b, "</a></li>\n");
		free(href);
	}
	sb_add(&b, "</ul>\n</nav>\n");
	sb_tail(&b);
	return sb_done(&b);
}

char *
oa_page_dev_html(const char *action, const char *display_name,
    const char *state, const char *login_hint)
{
	struct sbuf b = { 0 };

	if (action == NULL || state == NULL)
		return NULL;
	sb_head(&b, "Sign in");
	sb_add(&b, "<h1>Sign in with ");
	sb_esc(&b, display_name != NULL ? display_name : "dev");
	sb_add(&b, "</h1>\n<p>A development sign-in: any email and name "
	    "are accepted.</p>\n<form method=\"post\" action=\"");
	sb_esc(&b, action);
	sb_add(&b, "\">\n<input type=\"hidden\" name=\"state\" value=\"");
	sb_esc(&b, state);
	sb_add(&b, "\">\n<label for=\"email\">Email</label>\n"
	    "<input id=\"email\" name=\"email\" type=\"email\" required "
	    "autocomplete=\"email\" maxlength=\"254\"");
	if (login_hint != NULL) {
		sb_add(&b, " value=\"");
		sb_esc(&b, login_hint);
		sb_add(&b, "\"");
	}
	sb_add(&b, ">\n<label for=\"name\">Name</label>\n"
	    "<input id=\"name\" name=\"name\" type=\"text\" "
	    "autocomplete=\"name\" maxlength=\"200\">\n"
	    "<p><button type=\"submit\">Sign in</button></p>\n</form>\n");
	sb_tail(&b);
	return sb_done(&b);
}
