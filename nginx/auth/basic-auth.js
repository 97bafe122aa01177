// Basic auth's njs side (30-basic-auth.sh, auth/*.conf*).
//
// Credentials are never kept, only HMAC-SHA256 values of the Authorization
// header under a random secret made at every start: such a value cannot be
// sent as a credential, and without the secret it says nothing about the
// password.
//
// With njs >= 0.8 the secret is made here, on first use, from the system's
// random source and kept in a shared dictionary of its own: in nginx's
// shared memory only, never in a file. Older njs has no shared dictionaries,
// so the hook writes it into its 0600 snippet ($pm_auth_secret).
//
// key(): the proxy cache's key for a successful check (nginx writes a cache
// entry's key in plain text into the cache file). It also names the current
// period of $pm_auth_cache_seconds (counted from the epoch), so a success is
// never used past its period's end: a changed password is refused at the
// next boundary. A new key is a new cache element, and for those nginx lets
// one request check while the others with the same credential wait
// (proxy_cache_lock); an expired element would instead send every
// concurrent request to the check, and into its rate limit.
//
// seen()/passed(): the shared dictionary of credentials that passed a check
// (njs >= 0.8), which answers most requests (auth/gate.conf). Its key is the
// HMAC of the header alone: entries end by their timeouts, so this lookup
// needs neither Date nor Math, whose first use in each request's fresh VM
// cost more than the HMAC (bench/run auth).
//
// A check leaves two entries. The credential's own ends one period after
// the check, which bounds how long a changed password still works. Its
// answering one ends a little earlier: the first request after that renews
// the check (past the cache) while the others go on with the credential's
// own entry. Were both to end together, every request of a busy client
// would meet the cache's lock at once and wait for its 500 ms poll.
var hash = require('crypto');

function secret(r) {
    var store = typeof ngx !== 'undefined' && ngx.shared ? ngx.shared.pm_auth_secret : undefined;
    if (!store) {
        return r.variables.pm_auth_secret;
    }
    var value = store.get('secret');
    if (value === undefined) {
        // add() keeps the first of two workers' secrets; both then read it.
        // crypto: the global WebCrypto object (getRandomValues).
        store.add('secret', Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex'));
        value = store.get('secret');
    }
    return value;
}

function key(r) {
    var period = Math.floor(Date.now() / 1000 / Number(r.variables.pm_auth_cache_seconds));
    return hash.createHmac('sha256', secret(r))
        .update(period + ' ' + (r.variables.http_authorization || ''))
        .digest('hex');
}

// The shared dictionary of seen credentials (js_shared_dict_zone); undefined
// where the hook left it out (older njs, or MIRROR_AUTH_CACHE_SECONDS=0):
// then every request makes the subrequest (auth/every-request.conf).
function dictionary() {
    return typeof ngx !== 'undefined' && ngx.shared ? ngx.shared.pm_auth_seen : undefined;
}

function seenKey(r, header) {
    return hash.createHmac('sha256', secret(r)).update(header).digest('base64');
}

// How long one request may renew a credential's check while the others go
// on without it; a renewal that has not answered by then leaves its turn to
// the next request.
var RENEW_MS = 1000;

// The suffixes of a credential's other entries: its own (one period) and
// the renewal in progress.
var OWN = ' own', RENEWING = ' renewing';

// $pm_auth_seen: "1" when this request's credential passed a check less than
// a period ago: the request is then served without the subrequest; "renew"
// for the one request that checks it again, past the cache (auth/gate.conf's
// /_pm/auth-renew). Looked up by key, which nobody without the secret can
// compute: a lookup's timing tells nothing.
function seen(r) {
    var seen = dictionary();
    var header = r.variables.http_authorization;
    if (!seen || !header) {
        return '';
    }
    var key = seenKey(r, header);
    if (seen.has(key)) {
        return '1';
    }
    if (!seen.has(key + OWN)) {
        return '';
    }
    // add() is atomic across workers: one request wins the renewal.
    return seen.add(key + RENEWING, '1', RENEW_MS) ? 'renew' : '1';
}

// The check server's answer once auth_basic accepted the credential: its
// own entry for one period (the zone's timeout), its answering one until
// 2 s before that (at most half the period), the time left to renew in.
function passed(r) {
    var seen = dictionary();
    var header = r.variables.http_authorization;
    if (seen && header) {
        var key = seenKey(r, header);
        var period = Number(r.variables.pm_auth_cache_seconds) * 1000;
        seen.set(key + OWN, '1');
        seen.set(key, '1', period - Math.min(2 * RENEW_MS, period / 2));
        seen.delete(key + RENEWING);
    }
    r.return(204);
}

// The answer to a client over its check rate (auth/server.conf.template).
// Sent after a pause: a flood from many connections that got its 429 at
// once would come straight back and cost as much CPU as the clients it
// crowds out; paused, each connection sends about one request a second.
function limited(r) {
    setTimeout(function () {
        r.headersOut['Content-Type'] = 'text/plain';
        r.return(429, 'too many failed or new credentials from this address, retry later\n');
    }, 1000);
}

export default { key, seen, passed, limited };
