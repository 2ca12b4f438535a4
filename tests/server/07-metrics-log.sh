#!/bin/bash
# 07-metrics-log: /metrics is Prometheus text (cofferd_requests_total and
# the other counters move as requests come in, unsigned, GET only); the
# access log has one line per request of exactly time, method, path,
# status, account, byte counts and duration, and never a header value: no
# Authorization (scheme, key, nonce, signature), no X-Coffer-Hash, no
# invitation token; the token is not in the data folder either.
. "$(dirname "$0")/lib.sh" "$@"

start_server srv
export COFFER_REPO=$SRV_URL
M() { curl -s --max-time 10 "$SRV_URL/metrics"; }
metric() { M | sed -n "s/^$1 \([0-9]*\)$/\1/p"; }

log "metrics format"
curl -s -D "$T/h" -o "$T/m" --max-time 10 "$SRV_URL/metrics"
grep -qi '^content-type: text/plain; version=0.0.4' "$T/h" || { cat "$T/h"; fail "content type"; }
grep -vE '^(# TYPE cofferd_[a-z0-9_]+ (counter|gauge)|cofferd_[a-z0-9_]+ [0-9]+)$' "$T/m" &&
	fail "lines that are not Prometheus text"
for m in requests_total responses_4xx_total responses_5xx_total \
	auth_failures_total replays_refused_total bytes_received_total \
	bytes_sent_total objects_stored_total objects_read_total \
	objects_deleted_total lists_total requests_active uploads_active; do
	grep -q "^cofferd_$m [0-9]*$" "$T/m" || fail "no cofferd_$m"
done
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$SRV_URL/metrics")" = 405 ] ||
	fail "POST /metrics"
[ "$(curl -s -o /dev/null -w '%{http_code}' -I "$SRV_URL/metrics")" = 200 ] ||
	fail "HEAD /metrics"

log "counters move"
TOK=$(admin srv invite)
R0=$(metric cofferd_requests_total)
S0=$(metric cofferd_objects_stored_total)
expect 0 new_client a "$SRV_URL" "$TOK"
gen tree "$T/src" --seed 7 --files 30 --max 200000 >/dev/null
expect 0 as a coffer backup "$T/src"
expect 0 as a coffer restore latest --target "$T/r"
treecmp "$T/src" "$T/r$T/src"
R1=$(metric cofferd_requests_total)
NLOG=$(grep -c ' account=' "$SRV_LOG")
[ "$R1" -gt "$R0" ] && [ "$R1" -ge "$NLOG" ] ||
	fail "requests_total $R0 -> $R1 for $NLOG logged requests"
[ "$(metric cofferd_objects_stored_total)" -gt "$S0" ] || fail "objects_stored_total"
[ "$(metric cofferd_bytes_received_total)" -gt 100000 ] || fail "bytes_received_total"
[ "$(metric cofferd_objects_read_total)" -gt 0 ] || fail "objects_read_total"
for _ in $(seq 1 20); do # the last request may still be finishing
	[ "$(metric cofferd_requests_active)" = 1 ] && break
	sleep 0.05
done
[ "$(metric cofferd_requests_active)" = 1 ] || fail "requests_active (this one)"
E4=$(metric cofferd_responses_4xx_total)
A4=$(metric cofferd_auth_failures_total)
RP=$(metric cofferd_replays_refused_total)
curl -s -o /dev/null "$SRV_URL/v1/r/default/o/data/" # unsigned: 401
curl -s -o /dev/null "$SRV_URL/nowhere"              # 404
python3 - "$SRV_PORT" "$SIGNREQ" "$T/a.cfg" "$T/captured" <<'PY' || fail "replay"
import sys
sys.path.insert(0, __import__("os").environ["SERVER_HERE"])
from raw import Client
c = Client(int(sys.argv[1]), sys.argv[2])
u = "/v1/r/default/o/keys/"
h = c.signed_headers(sys.argv[3], "GET", u)
assert c.send("GET", u, h)[0] == 200
assert c.send("GET", u, h)[0] == 401
# a signed ref update whose body hash is not in its path
h = c.signed_headers(sys.argv[3], "PUT", "/v1/r/default/ref/r1",
                     body=b"ref body", extra={"If-None-Match": "*"})
assert c.send("PUT", "/v1/r/default/ref/r1", h, b"ref body")[0] == 200
open(sys.argv[4], "w").write(h["Authorization"] + "\n" + h["X-Coffer-Hash"] + "\n")
PY
[ "$(metric cofferd_responses_4xx_total)" -ge $((E4 + 3)) ] || fail "4xx counter"
[ "$(metric cofferd_auth_failures_total)" -ge $((A4 + 2)) ] || fail "auth failure counter"
[ "$(metric cofferd_replays_refused_total)" = $((RP + 1)) ] || fail "replay counter"

log "the access log: exactly its fields, never a header value"
stop_server "$SRV_PID" || fail "cofferd exit status"
grep -vE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z ((GET|HEAD|PUT|POST|DELETE) /[!-~]* [0-9]{3} account=[0-9]+ in=[0-9]+ out=[0-9]+ ms=[0-9]+\.[0-9]|shutting down: finishing requests in flight)$' "$SRV_LOG" &&
	fail "access log lines with other content"
PK=$("$SIGNREQ" "$T/a.cfg" GET / | sed -n 3p)
AUTH=$(sed -n 1p "$T/captured")
for s in Coffer-Ed25519 Authorization X-Coffer-Hash "sig=" "nonce=" "$PK" \
	"$(sed -n 2p "$T/captured")" "${AUTH##*sig=}" \
	"$(sed 's/.*nonce=\([0-9a-f]*\).*/\1/' <<<"$AUTH")" "$TOK" "ref body"; do
	hasnt "$SRV_LOG" "$s"
done
grep -rqaF -- "$TOK" "$SRV_DATA" && fail "the invitation token is stored in clear"
grep -q '^GET /v1/r/default/o/keys/ 401 ' <(cut -d' ' -f2- "$SRV_LOG") ||
	fail "the replay is not logged as 401"
true
