// OSV API v1 over the advisories the build wrote to /srv/pypi/osv (mirror/vulndb.py).
//
// The matching is mirror/osvmatch.py's, line for line: the build compiled
// every record into sorted events and PEP 440 order keys (plain strings whose
// code-unit order is PEP 440 order), so per request this file only parses the
// query's version into the same key (versionKey), reads one per-project file
// and compares strings. Written for njs 0.7.9 (Debian bookworm): no shared
// dictionaries, nothing kept between requests, the body read from memory.
var fs = require('fs');
var crypto = require('crypto');

var DATA = '/srv/pypi/osv';
var MAX_BATCH = 1000; // OSV's own limit per querybatch
var MAX_DIGITS = 999; // the key's length prefix has 3 digits (osvmatch._MAX_DIGITS)
// A PEP 503-normalized project name; nothing else ever reaches a file path.
var NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
// packaging's VERSION_PATTERN (ASCII only, as osvmatch.version_key), numbered groups:
// 1 epoch, 2 release, 3 pre letter, 4 pre number, 5 implicit post, 6 post letter,
// 7 post number, 8 dev, 9 dev number, 10 local.
var VERSION = new RegExp('^v?(?:([0-9]+)!)?([0-9]+(?:\\.[0-9]+)*)'
    + '(?:[-_.]?(alpha|a|beta|b|preview|pre|c|rc)[-_.]?([0-9]+)?)?'
    + '(?:-([0-9]+)|[-_.]?(post|rev|r)[-_.]?([0-9]+)?)?'
    + '(?:[-_.]?(dev)[-_.]?([0-9]+)?)?'
    + '(?:\\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?$', 'i');
// Python's \s over ASCII (str.isspace), which packaging strips around a version.
var SPACE = /^[\t\n\v\f\r\x1c-\x1f ]+|[\t\n\v\f\r\x1c-\x1f ]+$/g;
var PRE = {a: 'B', alpha: 'B', b: 'C', beta: 'C', c: 'D', pre: 'D', preview: 'D', rc: 'D'};

function BadRequest(message) {
    this.message = message;
}

function num(digits) {
    var s = digits.replace(/^0+/, '') || '0';
    if (s.length > MAX_DIGITS) {
        throw new BadRequest('too many digits');
    }
    return ('00' + s.length).slice(-3) + s;
}

// osvmatch.version_key: the order key of a PEP 440 version, null when it is not one.
function versionKey(text) {
    if (typeof text !== 'string' || /[^\x00-\x7f]/.test(text)) {
        return null;
    }
    var m = VERSION.exec(text.replace(SPACE, ''));
    if (!m) {
        return null;
    }
    try {
        var release = m[2].split('.');
        while (release.length && /^0+$/.test(release[release.length - 1])) {
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
        var parts = m[10].toLowerCase().split(/[-_.]/);
        for (var i = 0; i < parts.length; i++) {
            key += /^[0-9]+$/.test(parts[i]) ? 'b' + num(parts[i]) : 'a' + parts[i] + '!';
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

function normalize(name) {
    return name.toLowerCase().replace(/[-_.]+/g, '-');
}

function decode(text, what) {
    try {
        return decodeURIComponent(text);
    } catch (e) {
        throw new BadRequest(what + ' is not percent-encoded correctly');
    }
}

// A query object -> {name, version}: version undefined = every version, null = not a version.
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
    var version = query.version;
    if (version !== undefined && typeof version !== 'string') {
        throw new BadRequest('version must be a string');
    }
    var name;
    if (pkg.purl !== undefined) {
        if (typeof pkg.purl !== 'string' || !/^pkg:/i.test(pkg.purl)) {
            throw new BadRequest('purl must be a string pkg:pypi/NAME[@VERSION]');
        }
        var rest = pkg.purl.slice(4).split('#')[0].split('?')[0].replace(/^\/+/, '');
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
        if (typeof pkg.name !== 'string' || pkg.name === '') {
            throw new BadRequest('package.name is required');
        }
        if (pkg.ecosystem !== 'PyPI') {
            throw new BadRequest('package.ecosystem must be "PyPI"');
        }
        name = pkg.name;
    }
    name = normalize(name);
    if (!NAME.test(name)) {
        throw new BadRequest('package name is not a valid project name');
    }
    return {name: name, version: version === undefined ? undefined : versionKey(version)};
}

// The records of the package that match, as [{id, modified, at}], sorted by id (the build sorted them).
function lookup(query) {
    var text;
    try {
        text = fs.readFileSync(DATA + '/projects/' + query.name + '.json', 'utf8');
    } catch (e) {
        return []; // a package the data does not know
    }
    var records = JSON.parse(text).records;
    var found = [];
    for (var i = 0; i < records.length; i++) {
        if (matches(records[i].affected, query.version)) {
            records[i].name = query.name;
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

// POST /osv/v1/query -> {"vulns": [full records]} or {}
function query(r) {
    var found = lookup(parseQuery(body(r)));
    if (!found.length) {
        return answer(r, 200, '{}\n');
    }
    // The project's records back to back, ASCII: `at` is [offset, length] in it.
    // A Buffer, sliced by byte offsets: substr on a long njs string walks it from the start each time.
    var all = fs.readFileSync(DATA + '/projects/' + found[0].name + '.records');
    var texts = [];
    for (var i = 0; i < found.length; i++) {
        texts.push(all.toString('utf8', found[i].at[0], found[i].at[0] + found[i].at[1]));
    }
    answer(r, 200, '{"vulns":[' + texts.join(',') + ']}\n');
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
    var text = fs.readFileSync(DATA + '/' + where[0]);
    answer(r, 200, text.toString('utf8', where[1], where[1] + where[2]) + '\n');
}

// POST /osv/v1/querybatch -> {"results": [{"vulns": [{"id", "modified"}]} or {}, one per query]}
function querybatch(r) {
    var request = body(r);
    if (request === null || typeof request !== 'object' || !Array.isArray(request.queries)) {
        throw new BadRequest('queries is required: {"queries": [...]}');
    }
    if (request.queries.length > MAX_BATCH) {
        throw new BadRequest('too many queries: at most ' + MAX_BATCH);
    }
    var parsed = request.queries.map(parseQuery); // any bad query: 400 for the batch, as OSV
    var results = parsed.map(function (q) {
        var found = lookup(q);
        return found.length ? {vulns: found.map(function (v) { return {id: v.id, modified: v.modified}; })} : {};
    });
    answer(r, 200, JSON.stringify({results: results}) + '\n');
}

export default {query: guarded(query), querybatch: guarded(querybatch), vuln: guarded(vuln), versionKey: versionKey};
