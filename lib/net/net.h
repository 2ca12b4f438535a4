/*
 * net.h: the cofferd store: the store interface over HTTP(S) with libcurl
 * (the only includer of <curl/curl.h>).  Every request is signed by the
 * device key; transfers reuse connections, run in parallel from the
 * caller's threads, and are retried with exponential backoff and jitter on
 * timeouts, dropped connections and 5xx answers (the server's replay
 * protection makes a re-signed retry safe).  Nothing the server answers is
 * trusted beyond availability: the repository layer verifies every byte.
 * The caller must call curl_global_init() once (cf_net_global_init).
 */
#ifndef CF_NET_H
#define CF_NET_H

#include "device/device.h"
#include "store/store.h"

/** cf_net_global_init(err): curl_global_init; once, from main(). */
int cf_net_global_init(struct cf_err *err) CF_WUR;
/** cf_store_is_url(where): 1 for http:// and https:// repositories. */
int cf_store_is_url(const char *where);
/** cf_store_http_open(url, dev, err): a store for
 * http(s)://HOST[:PORT][/REPO] (REPO defaults to "default"); keeps its
 * own copy of the device key. */
struct cf_store *cf_store_http_open(const char *url,
    const struct cf_device *dev, struct cf_err *err);
/** cf_http_register(s, invite, err): create this device's account with an
 * invitation token (NULL: open registration). */
int cf_http_register(struct cf_store *s, const char *invite,
    struct cf_err *err) CF_WUR;

#endif
