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
// HMAC of the header alone: the zone's timeout (one period) ends an entry,
// so this lookup needs neither Date nor Math, whose first use in each
// request's fresh VM cost more than the HMAC (bench/run auth).
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

// $pm_auth_seen: "1" when this request's credential passed a check less than
// a period ago: the request is then served without the subrequest. Looked up
// by key, which nobody without the secret can compute: a lookup's timing
// tells nothing.
function seen(r) {
    var seen = dictionary();
    var header = r.variables.http_authorization;
    if (!seen || !header) {
        return '';
    }
    return seen.has(seenKey(r, header)) ? '1' : '';
}

// The check server's answer once auth_basic accepted the credential:
// remembered for one period (the zone's timeout), then checked again.
function passed(r) {
    var seen = dictionary();
    var header = r.variables.http_authorization;
    if (seen && header) {
        seen.set(seenKey(r, header), '1');
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
