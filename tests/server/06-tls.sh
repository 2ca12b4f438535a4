#!/bin/bash
# 06-tls: cofferd with --tls-cert/--tls-key (a self-signed certificate made
# with openssl) serves /healthz over HTTPS to curl -k and refuses plain
# HTTP on that port; the coffer client refuses the self-signed certificate
# cleanly and at once (one error line, non-zero exit, nothing registered).  cofferd
# refuses to listen beyond loopback without TLS unless --insecure-listen,
# and mismatched or unreadable TLS files, in one line each.
. "$(dirname "$0")/lib.sh" "$@"

command -v openssl >/dev/null || skip "no openssl"
command -v curl >/dev/null || skip "no curl"

log "a self-signed certificate"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" \
	-out "$T/cert.pem" -days 2 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1" 2>"$T/openssl.err" ||
	{ cat "$T/openssl.err" >&2; fail "openssl"; }

log "cofferd over TLS"
start_server tls --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
grep -qF "cofferd listening on https://127.0.0.1:$SRV_PORT" "$T/tls.out" ||
	fail "banner: $(cat "$T/tls.out")"
[ "$(curl -sk --max-time 10 "https://127.0.0.1:$SRV_PORT/healthz")" = ok ] ||
	fail "curl -k https://.../healthz"
[ "$(curl -s --max-time 10 --cacert "$T/cert.pem" "https://127.0.0.1:$SRV_PORT/healthz")" = ok ] ||
	fail "curl with the certificate as CA"
curl -s --max-time 10 -o /dev/null "https://127.0.0.1:$SRV_PORT/healthz" &&
	fail "curl accepted a self-signed certificate"
curl -sk --max-time 10 "https://127.0.0.1:$SRV_PORT/metrics" | grep -q '^cofferd_requests_total ' ||
	fail "metrics over TLS"
log "plain HTTP on the TLS port: no answer, server stays up"
curl -s --max-time 10 "http://127.0.0.1:$SRV_PORT/healthz" | grep -q '^ok$' &&
	fail "plain HTTP answered on the TLS port"
[ "$(curl -sk --max-time 10 "https://127.0.0.1:$SRV_PORT/healthz")" = ok ] ||
	fail "TLS server down after a plain request"

log "the coffer client refuses the self-signed certificate"
TOK=$(admin tls invite)
t0=$(now_s)
expect_fail new_client a "https://127.0.0.1:$SRV_PORT" "$TOK"
one_error_line
# no retries: a refused certificate is not a transient failure
awk -v e="$(elapsed "$t0")" 'BEGIN { exit !(e < 5) }' ||
	fail "refusing the certificate took $(elapsed "$t0") s"
grep -qiE 'certificate|SSL|TLS' "$T/err" || { show_io; fail "error does not say why"; }
[ -z "$(admin tls accounts --json)" ] || fail "an account was registered"
stop_server "$SRV_PID" || fail "cofferd exit status"

log "listening beyond loopback"
P=$(free_port)
expect 1 "$COFFERD" --data "$T/d2" --listen "0.0.0.0:$P"
[ "$(wc -l <"$T/err")" = 1 ] && has "$T/err" "--insecure-listen" || { show_io; fail "one line"; }
expect 1 "$COFFERD" --data "$T/d2" --listen "[::]:$P"
[ "$(wc -l <"$T/err")" = 1 ] || { show_io; fail "one line for [::]"; }
healthz "$P" && fail "something listens on $P"
wide() { # wide NAME OPTIONS...: cofferd on 0.0.0.0:$P
	local name=$1
	shift
	"$COFFERD" --data "$T/$name.data" --listen "0.0.0.0:$P" \
		--log "$T/$name.log" "$@" >"$T/$name.out" 2>"$T/$name.stderr" &
	W=$!
	SRV_PIDS+=("$W")
	wait_listening "$T/$name.out" "$W" || fail "$name: $(cat "$T/$name.stderr")"
}
wide plain --insecure-listen
has "$T/plain.out" "listening on http://0.0.0.0:$P"
healthz "$P" || fail "--insecure-listen 0.0.0.0"
stop_server "$W" || fail "exit status"
wide tls0 --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
has "$T/tls0.out" "listening on https://0.0.0.0:$P"
[ "$(curl -sk --max-time 10 "https://127.0.0.1:$P/healthz")" = ok ] ||
	fail "TLS on 0.0.0.0"
stop_server "$W" || fail "exit status"

log "bad TLS options, one line each"
expect 1 "$COFFERD" --data "$T/d3" --listen "127.0.0.1:$P" --tls-cert "$T/cert.pem"
one_line() {
	[ "$(wc -l <"$T/err")" = 1 ] && grep -q '^cofferd: ' "$T/err" ||
		{ show_io; fail "expected one line starting with 'cofferd: '"; }
}
one_line
expect 1 "$COFFERD" --data "$T/d3" --listen "127.0.0.1:$P" \
	--tls-cert "$T/nonexistent.pem" --tls-key "$T/key.pem"
one_line
head -c 600 /dev/urandom | base64 >"$T/junk.pem"
expect 1 "$COFFERD" --data "$T/d3" --listen "127.0.0.1:$P" \
	--tls-cert "$T/junk.pem" --tls-key "$T/key.pem"
one_line
expect 1 "$COFFERD" --data "$T/d3" --listen "127.0.0.1:$P" \
	--tls-cert "$T/key.pem" --tls-key "$T/cert.pem"
one_line
healthz "$P" && fail "something listens on $P"
true
