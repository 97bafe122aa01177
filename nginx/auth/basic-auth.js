// Key of the auth cache (30-basic-auth.sh, auth/http.conf.template).
//
// nginx writes a cache entry's key in plain text into the cache file, so the
// key must not be the Authorization header: it is HMAC-SHA256 of the header
// under a random secret made at every start. It cannot be sent as a
// credential, and without the secret it says nothing about the password.
//
// The key also names the current period of $pm_auth_cache_seconds (counted
// from the epoch), so an entry is never used past its period's end: a changed
// password is refused at the next boundary. A new key is a new cache element,
// and for those nginx lets one request check while the others with the same
// credential wait (proxy_cache_lock); an expired element would instead send
// every concurrent request to the check, and into its rate limit.
var crypto = require('crypto');

function key(r) {
    var period = Math.floor(Date.now() / 1000 / Number(r.variables.pm_auth_cache_seconds));
    return crypto.createHmac('sha256', r.variables.pm_auth_secret)
        .update(period + ' ' + (r.variables.http_authorization || ''))
        .digest('hex');
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

export default { key, limited };
