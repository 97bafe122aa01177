// OSV API v1 over the advisories the build wrote to /srv/pypi/osv (mirror/advisories/vulndb.py).
//
// The matching is mirror/advisories/osvmatch.py's, line for line: the build compiled
// every record into sorted events and PEP 440 order keys (plain strings whose
// code-unit order is PEP 440 order), so per request this file only parses the
// query's version into the same key (versionKey), reads one per-project file
// and compares strings. Written for njs 0.7.9 (Debian bookworm): no shared
// dictionaries, nothing kept between requests, the body read from memory.
//
// A stranger sends the requests: every field has a length cap, each project's
// file is parsed at most once per request, and njs frees nothing before the
// request ends, so the bytes parsed and the ids answered per request are
// capped too. A batch over the caps is answered in pages the way OSV's own API
// pages: the queries left over carry `next_page_token`; the client asks again
// with `page_token` (OSV's documented querybatch pagination; uv audit follows it).
var fs = require('fs');
var crypto = require('crypto');

var DATA = '/srv/pypi/osv';
var MAX_BATCH = 1000; // OSV's own limit per querybatch
var MAX_DIGITS = 999; // the key's length prefix has 3 digits (osvmatch._MAX_DIGITS)
// Length caps per field, checked before any parsing (real names are under 100
// characters, real versions under 40; OSV's purls are name and version).
var MAX_NAME = 256;
var MAX_PURL = 512;
var MAX_VERSION = 128;
var MAX_TOKEN = 32;
// Per request: project files parsed (bytes of projects/<name>.json; a parsed
// byte costs njs about 20 bytes of memory until the request ends), ids listed
// in a querybatch answer, record bytes in a query answer. One project is always
// served, so a request holds at most these plus the largest project.
var MAX_PARSED_BYTES = 2 * 1024 * 1024;
var MAX_BATCH_IDS = 10000;
var MAX_QUERY_BYTES = 1024 * 1024;
// page_token "pm1-N": N matching records (in id order) came on earlier pages.

// packaging's VERSION_PATTERN (ASCII only, as osvmatch.version_key), numbered groups:
// 1 epoch, 2 release, 3 pre letter, 4 pre number, 5 implicit post, 6 post letter,
// 7 post number, 8 dev, 9 dev number, 10 local.
// A literal, not new RegExp(): njs compiles a literal once with the module,
// where the constructor runs again in every request's copy of the VM.
var VERSION = /^v?(?:([0-9]+)!)?([0-9]+(?:\.[0-9]+)*)(?:[-_.]?(alpha|a|beta|b|preview|pre|c|rc)[-_.]?([0-9]+)?)?(?:-([0-9]+)|[-_.]?(post|rev|r)[-_.]?([0-9]+)?)?(?:[-_.]?(dev)[-_.]?([0-9]+)?)?(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?$/i;
var PRE = {a: 'B', alpha: 'B', b: 'C', beta: 'C', c: 'D', pre: 'D', preview: 'D', rc: 'D'};

function BadRequest(message) {
    this.message = message;
}

// Each regular expression run costs njs 0.7.9 about 5 KB that it frees only
// when the request ends (measured: 1,000 queries' versions took 90 MB), so
// the code a query runs scans characters itself and runs one expression,
// VERSION, per version.

function isDigit(code) {
    return code >= 48 && code <= 57;
}

function allDigits(text) {
    for (var i = 0; i < text.length; i++) {
        if (!isDigit(text.charCodeAt(i))) {
            return false;
        }
    }
    return text.length > 0;
}

function num(digits) {
    var start = 0;
    while (start < digits.length - 1 && digits.charCodeAt(start) === 48) {
        start++;
    }
    var s = digits.slice(start);
    if (s.length > MAX_DIGITS) {
        throw new BadRequest('too many digits');
    }
    return ('00' + s.length).slice(-3) + s;
}

// Python's str.isspace over ASCII, which packaging strips around a version.
function isSpace(code) {
    return code === 32 || (code >= 9 && code <= 13) || (code >= 0x1c && code <= 0x1f);
}

// text without the whitespace around it, in one pass from each end (a regular
// expression for the trailing run retried at every space: quadratic); null
// when it is not all ASCII.
function strip(text) {
    for (var i = 0; i < text.length; i++) {
        if (text.charCodeAt(i) > 0x7f) {
            return null;
        }
    }
    var start = 0, end = text.length;
    while (start < end && isSpace(text.charCodeAt(start))) {
        start++;
    }
    while (end > start && isSpace(text.charCodeAt(end - 1))) {
        end--;
    }
    return text.slice(start, end);
}

// text split at every -, _ and . (a local version's separators).
function localParts(text) {
    var parts = [], start = 0;
    for (var i = 0; i <= text.length; i++) {
        var c = i < text.length ? text.charCodeAt(i) : 46;
        if (c === 45 || c === 95 || c === 46) {
            parts.push(text.slice(start, i));
            start = i + 1;
        }
    }
    return parts;
}

// osvmatch.version_key: the order key of a PEP 440 version, null when it is not one.
function versionKey(text) {
    var stripped = typeof text === 'string' ? strip(text) : null;
    var m = stripped === null ? null : VERSION.exec(stripped);
    if (!m) {
        return null;
    }
    try {
        var release = m[2].split('.');
        while (release.length && num(release[release.length - 1]) === '0010') {
            release.pop();
        }
        var key = num(m[1] || '0') + release.map(num).join('') + '!';
        var post = m[5] !== undefined ? m[5] : (m[6] !== undefined ? (m[7] || '0') : undefined);
        if (m[3] === undefined && post === undefined && m[8] !== undefined) {
            key += 'A';
        } else if (m[3] === undefined) {
            key += 'E';
        } else {
            key += PRE[m[3].toLowerCase()] + num(m[4] || '0');
        }
        key += post === undefined ? 'A' : 'B' + num(post);
        key += m[8] === undefined ? 'C' : 'B' + num(m[9] || '0');
        if (m[10] === undefined) {
            return key + 'A';
        }
        key += 'B';
        var parts = localParts(m[10].toLowerCase());
        for (var i = 0; i < parts.length; i++) {
            key += allDigits(parts[i]) ? 'b' + num(parts[i]) : 'a' + parts[i] + '!';
        }
        return key;
    } catch (e) {
        if (e instanceof BadRequest) {
            return null;
        }
        throw e;
    }
}

// osvmatch.in_range
function inRange(range, key) {
    var i;
    for (i = 0; i < range.limits.length; i++) {
        if (key >= range.limits[i]) {
            return false;
        }
    }
    var affected = false;
    for (i = 0; i < range.events.length; i++) {
        var bound = range.events[i][0], kind = range.events[i][1];
        if (kind === 'i') {
            if (key >= bound) {
                affected = true;
            }
        } else if (kind === 'f') {
            if (key >= bound) {
                affected = false;
            }
        } else if (key > bound) {
            affected = false;
        }
    }
    return affected;
}

// osvmatch.matches; a query without a version matches every record of the package (as OSV).
function matches(entries, key) {
    if (key === undefined) {
        return true;
    }
    if (key === null) {
        return false;
    }
    for (var i = 0; i < entries.length; i++) {
        if (entries[i].versions.indexOf(key) !== -1) {
            return true;
        }
        for (var j = 0; j < entries[i].ranges.length; j++) {
            if (inRange(entries[i].ranges[j], key)) {
                return true;
            }
        }
    }
    return false;
}

// PEP 503's normalized name when it is one of [a-z0-9]+(-[a-z0-9]+)*, else null:
// nothing else ever reaches a file path.
function projectName(text) {
    var lower = text.toLowerCase(), segments = [], start = 0;
    for (var i = 0; i <= lower.length; i++) {
        var c = i < lower.length ? lower.charCodeAt(i) : 46;
        if (c === 45 || c === 95 || c === 46) {
            if (i === start) { // a separator first, last or after another: only runs between segments
                if (i === 0 || i === lower.length) {
                    return null;
                }
            } else {
                segments.push(lower.slice(start, i));
            }
            start = i + 1;
        } else if (!(isDigit(c) || (c >= 97 && c <= 122))) {
            return null;
        }
    }
    return segments.length ? segments.join('-') : null;
}

function decode(text, what) {
    try {
        return decodeURIComponent(text);
    } catch (e) {
        throw new BadRequest(what + ' is not percent-encoded correctly');
    }
}

// A string field no longer than max characters, or undefined when absent.
function field(value, what, max) {
    if (value === undefined) {
        return undefined;
    }
    if (typeof value !== 'string') {
        throw new BadRequest(what + ' must be a string');
    }
    if (value.length > max) {
        throw new BadRequest(what + ' is longer than ' + max + ' characters');
    }
    return value;
}

// page_token -> how many matching records to skip (0 without one).
function pageOffset(token) {
    if (field(token, 'page_token', MAX_TOKEN) === undefined) {
        return 0;
    }
    var digits = token.slice(4);
    if (token.slice(0, 4) !== 'pm1-' || digits.length > 7 || !allDigits(digits)) {
        throw new BadRequest('page_token is not one this service gave');
    }
    return Number(digits);
}

function pageToken(offset) {
    return 'pm1-' + offset;
}

// A query object -> {name, version, offset}: version undefined = every version, null = not a version.
function parseQuery(query) {
    if (query === null || typeof query !== 'object' || Array.isArray(query)) {
        throw new BadRequest('a query must be a JSON object');
    }
    if (query.commit !== undefined) {
        throw new BadRequest('commit queries are not supported: this endpoint serves PyPI only');
    }
    var pkg = query.package;
    if (pkg === null || typeof pkg !== 'object' || Array.isArray(pkg)) {
        throw new BadRequest('package is required: {"name": ..., "ecosystem": "PyPI"} or {"purl": ...}');
    }
    var version = field(query.version, 'version', MAX_VERSION);
    var offset = pageOffset(query.page_token);
    var name;
    if (pkg.purl !== undefined) {
        var purl = field(pkg.purl, 'purl', MAX_PURL);
        if (purl.slice(0, 4).toLowerCase() !== 'pkg:') {
            throw new BadRequest('purl must be a string pkg:pypi/NAME[@VERSION]');
        }
        var rest = purl.slice(4).split('#')[0].split('?')[0];
        var first = 0;
        while (rest.charCodeAt(first) === 47) {
            first++;
        }
        rest = rest.slice(first);
        var slash = rest.indexOf('/');
        if (slash === -1 || rest.slice(0, slash).toLowerCase() !== 'pypi') {
            throw new BadRequest('ecosystem must be PyPI (purl type pypi)');
        }
        rest = rest.slice(slash + 1);
        var at = rest.lastIndexOf('@');
        if (at !== -1) {
            if (version !== undefined) {
                throw new BadRequest('version given twice: in version and in the purl');
            }
            version = decode(rest.slice(at + 1), 'the purl version');
            rest = rest.slice(0, at);
        }
        name = decode(rest, 'the purl name');
    } else {
        name = field(pkg.name, 'package.name', MAX_NAME);
        if (!name) {
            throw new BadRequest('package.name is required');
        }
        if (pkg.ecosystem !== 'PyPI') {
            throw new BadRequest('package.ecosystem must be "PyPI"');
        }
    }
    name = projectName(name);
    if (name === null) {
        throw new BadRequest('package name is not a valid project name');
    }
    return {name: name, version: version === undefined ? undefined : versionKey(version), offset: offset};
}

// What one request has read: each project parsed once, and how many bytes that took.
function Reads() {
    this.projects = {};
    this.parsed = 0;
}

// Whether the next unread project would go over the request's parsing budget.
// The first one never does: a request always makes progress.
Reads.prototype.full = function (name) {
    return !Object.prototype.hasOwnProperty.call(this.projects, name) && this.parsed >= MAX_PARSED_BYTES;
};

// The project's compiled records, sorted by id ([] for a project the data does not know).
Reads.prototype.records = function (name) {
    if (!Object.prototype.hasOwnProperty.call(this.projects, name)) {
        var text = null;
        try {
            text = fs.readFileSync(DATA + '/projects/' + name + '.json', 'utf8');
        } catch (e) {
            // a package the data does not know
        }
        this.parsed += text === null ? 0 : text.length;
        this.projects[name] = text === null ? [] : JSON.parse(text).records;
    }
    return this.projects[name];
};

// The records of the query's package that match, as [{id, modified, at}], in id order.
function lookup(reads, query) {
    var records = reads.records(query.name);
    var found = [];
    for (var i = 0; i < records.length; i++) {
        if (matches(records[i].affected, query.version)) {
            found.push(records[i]);
        }
    }
    return found;
}

function body(r) {
    var text;
    try {
        text = r.requestText;
    } catch (e) {
        throw new BadRequest('request body unreadable');
    }
    if (!text) {
        throw new BadRequest('a JSON body is required');
    }
    try {
        return JSON.parse(text);
    } catch (e) {
        throw new BadRequest('the body is not JSON');
    }
}

function answer(r, status, text) {
    r.headersOut['Content-Type'] = 'application/json';
    r.return(status, text);
}

function guarded(handler) {
    return function (r) {
        try {
            handler(r);
        } catch (e) {
            if (e instanceof BadRequest) {
                // OSV's error shape: code 3 is INVALID_ARGUMENT. No error-log line per bad request.
                answer(r, 400, JSON.stringify({code: 3, message: e.message}) + '\n');
            } else {
                r.error('osv: ' + e); // one line: something in the data or this file is wrong
                answer(r, 500, JSON.stringify({code: 13, message: 'internal error'}) + '\n');
            }
        }
    };
}

// POST /osv/v1/query -> {"vulns": [full records]} or {}; past MAX_QUERY_BYTES
// of records, the rest on the next page ({"vulns": [...], "next_page_token"}).
function query(r) {
    var request = body(r);
    var q = parseQuery(request);
    var found = lookup(new Reads(), q).slice(q.offset);
    if (!found.length) {
        return answer(r, 200, '{}\n');
    }
    // The project's records back to back, ASCII: `at` is [offset, length] in it.
    // A Buffer, sliced by byte offsets: substr on a long njs string walks it from the start each time.
    var all = fs.readFileSync(DATA + '/projects/' + q.name + '.records');
    var texts = [], size = 0;
    for (var i = 0; i < found.length && (i === 0 || size + found[i].at[1] <= MAX_QUERY_BYTES); i++) {
        texts.push(all.toString('utf8', found[i].at[0], found[i].at[0] + found[i].at[1]));
        size += found[i].at[1];
    }
    var more = i < found.length ? ',"next_page_token":' + JSON.stringify(pageToken(q.offset + i)) : '';
    answer(r, 200, '{"vulns":[' + texts.join(',') + ']' + more + '}\n');
}

// GET /osv/v1/vulns/<ID> (nginx/osv.conf checked the id's characters) -> the record, or 404
function vuln(r) {
    var id = r.variables.pm_osv_id;
    var shard = crypto.createHash('md5').update(id).digest('hex').slice(0, 2);
    var index = {};
    try {
        index = JSON.parse(fs.readFileSync(DATA + '/ids/' + shard + '.json', 'utf8'));
    } catch (e) {
        // no data at all, or no record in this shard
    }
    // Own properties only: an id such as "constructor" must not find Object's.
    var where = Object.prototype.hasOwnProperty.call(index, id) ? index[id] : null;
    if (!where) {
        return answer(r, 404, JSON.stringify({code: 5, message: 'no record ' + id}) + '\n');
    }
    answer(r, 200, readAt(DATA + '/' + where[0], where[1], where[2]) + '\n');
}

// length bytes of a file from offset: one record, not its project's whole file (uv audit
// fetches every finding's record by id, many at once).
function readAt(path, offset, length) {
    var buffer = Buffer.alloc(length), done = 0;
    var fd = fs.openSync(path, 'r');
    try {
        while (done < length) {
            var n = fs.readSync(fd, buffer, done, length - done, offset + done);
            if (n <= 0) {
                throw new Error(path + ' is shorter than its index says');
            }
            done += n;
        }
    } finally {
        fs.closeSync(fd);
    }
    return buffer.toString('utf8');
}

// POST /osv/v1/querybatch -> {"results": [{"vulns": [{"id", "modified"}]} or {}, one per query]}.
// Past the request's budget (MAX_PARSED_BYTES, MAX_BATCH_IDS) a result ends with
// "next_page_token" and the queries after it are left for the next page.
function querybatch(r) {
    var request = body(r);
    if (request === null || typeof request !== 'object' || !Array.isArray(request.queries)) {
        throw new BadRequest('queries is required: {"queries": [...]}');
    }
    if (request.queries.length > MAX_BATCH) {
        throw new BadRequest('too many queries: at most ' + MAX_BATCH);
    }
    var parsed = request.queries.map(parseQuery); // any bad query: 400 for the batch, as OSV
    var reads = new Reads();
    var matched = {}; // the same query again (a body repeating one purl) is matched once
    var listed = 0, stopped = false;
    var results = parsed.map(function (q) {
        if (stopped || reads.full(q.name)) {
            stopped = true;
            return {next_page_token: pageToken(q.offset)};
        }
        var key = q.name + ' ' + (q.version === undefined ? '*' : q.version === null ? '-' : q.version);
        if (!Object.prototype.hasOwnProperty.call(matched, key)) {
            matched[key] = lookup(reads, q);
        }
        var found = matched[key].slice(q.offset, q.offset + Math.max(MAX_BATCH_IDS - listed, 0));
        var result = {};
        listed += found.length;
        if (found.length) {
            result.vulns = found.map(function (v) { return {id: v.id, modified: v.modified}; });
        }
        if (q.offset + found.length < matched[key].length) {
            stopped = true;
            result.next_page_token = pageToken(q.offset + found.length);
        }
        return result;
    });
    answer(r, 200, JSON.stringify({results: results}) + '\n');
}

export default {query: guarded(query), querybatch: guarded(querybatch), vuln: guarded(vuln), versionKey: versionKey};
