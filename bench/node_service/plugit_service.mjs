// A PlugIt service in plain node:http (PI_BASE_URL "/"), fast enough never to be the bottleneck
// when the proxy in front of it is measured: the same role as the podlet behind Podium's layout.
//   ping?data=X, version                        the protocol's own calls
//   meta/page, template/page, action/page       the composed page: fixtures/page.html + service.json
//   meta/cached, template/cached, action/cached the same page with cache_time 600, shared, public
//   pm                                          proxy mode (same path on the service): fixtures/fragment.html
// usage: node plugit_service.mjs <port>
import http from 'node:http';
import fs from 'node:fs';
import crypto from 'node:crypto';

const fixture = (name) => fs.readFileSync(new URL(`../fixtures/${name}`, import.meta.url));
const DATA = fixture('service.json');
const HTML = fixture('fragment.html');
const TEMPLATE = fixture('page.html');
const TAG = crypto.createHash('md5').update(TEMPLATE).digest('hex');
const VERSION = Buffer.from(JSON.stringify({ result: 'Ok', version: '1', protocol: 'EBUio-PlugIt' }));
const port = Number(process.argv[2]);

const metas = {
    page: { template_tag: TAG },
    cached: { template_tag: TAG, cache_time: 600, cache_by_user: false, public: true },
};
const ROUTE = /^\/(meta|template|action)\/(page|cached)$/;

function send(res, status, type, body, extra = {}) {
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': body.length, ...extra });
    res.end(body);
}

function answer(req, res) {
    const url = new URL(req.url, 'http://service');
    const path = url.pathname;
    if (path === '/ping') {
        const data = url.searchParams.get('data') ?? '';
        return send(res, 200, 'application/json', Buffer.from(JSON.stringify({ data })));
    }
    if (path === '/version') return send(res, 200, 'application/json', VERSION);
    if (path === '/pm') return send(res, 200, 'text/html; charset=utf-8', HTML);
    const m = path.match(ROUTE);
    if (!m) return send(res, 404, 'text/plain', Buffer.from('not found'));
    const [, call, route] = m;
    if (call === 'meta') {
        const expire = new Date(Date.now() + 3600e3).toUTCString();
        return send(res, 200, 'application/json', Buffer.from(JSON.stringify(metas[route])),
            { Expire: expire, 'Cache-Control': 'public, max-age=3600' });
    }
    if (call === 'template') return send(res, 200, 'text/html; charset=utf-8', TEMPLATE);
    return send(res, 200, 'application/json', DATA);
}

const server = http.createServer(answer);
server.keepAliveTimeout = 65000;
server.listen(port, '127.0.0.1', () => console.log(`plugit service listening on ${port}`));
