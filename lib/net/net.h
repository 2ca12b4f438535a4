/*
 * net.h: the cofferd store: the store interface over HTTP(S) with libcurl
 * (the only includer of <curl/curl.h>).  Every request is signed by the
 * device key; transfers reuse connections, run in parallel from the
 * caller's threads, and are retried with exponential backoff and jitter on
 * timeouts, dropped connections and 5xx answers (the server's replay
 * protection makes a re-signed retry safe).  Nothing the server answers is
 * trusted beyond availability: the repository layer verifies every byte.
 * libcurl is loaded (dlopen) and initialised by the first store opened.
 */
#ifndef CF_NET_H
#define CF_NET_H

#include "device/device.h"
#include "store/store.h"

/** cf_net_global_init(err): load libcurl and run curl_global_init, once
 * (thread-safe); cf_store_http_open() calls it.  A program that also uses
 * libcurl itself (cofferd's S3 store) calls it first, from main(). */
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

/** cf_http_ref_get(s, name, out, version, err): a ref of the store's
 * repository; 1 if there is none. */
int cf_http_ref_get(struct cf_store *s, const char *name, struct cf_buf *out,
    uint64_t *version, struct cf_err *err) CF_WUR;
/** cf_http_ref_cas(s, name, expect, p, n, err): set it if its version is
 * ${expect} (0: if it does not exist); 1 if it changed meanwhile. */
int cf_http_ref_cas(struct cf_store *s, const char *name, uint64_t expect,
    const uint8_t *p, size_t n, struct cf_err *err) CF_WUR;
/** cf_http_device_add(s, pk, scope, zone, err): let key ${pk} act for
 * the account (the server's list; the account's own list is the chain),
 * in repository ${zone} only unless it is NULL. */
int cf_http_device_add(struct cf_store *s, const uint8_t pk[static 32],
    unsigned scope, const char *zone, struct cf_err *err) CF_WUR;
/** cf_http_device_remove(s, pk, err): make the server refuse ${pk}. */
int cf_http_device_remove(struct cf_store *s, const uint8_t pk[static 32],
    struct cf_err *err) CF_WUR;
/** cf_http_repos(s, fn, arg, err): the account's repositories. */
int cf_http_repos(struct cf_store *s, int (*fn)(void *, const char *),
    void *arg, struct cf_err *err) CF_WUR;
/** cf_http_pair_create(s, id, err): a pairing mailbox. */
int cf_http_pair_create(struct cf_store *s, char id[static 16],
    struct cf_err *err) CF_WUR;
/** cf_http_pair_put(s, id, slot, p, n, err): post one message. */
int cf_http_pair_put(struct cf_store *s, const char *id, const char *slot,
    const uint8_t *p, size_t n, struct cf_err *err) CF_WUR;
/** cf_http_pair_get(s, id, slot, out, err): 1 if not posted yet. */
int cf_http_pair_get(struct cf_store *s, const char *id, const char *slot,
    struct cf_buf *out, struct cf_err *err) CF_WUR;
/** cf_http_pair_void(s, id, err): close the mailbox. */
int cf_http_pair_void(struct cf_store *s, const char *id,
    struct cf_err *err) CF_WUR;

#endif
