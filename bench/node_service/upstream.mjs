// The plain upstream, no composing at all: GET /page answers fixtures/fragment.html (~2 KB).
// The ceiling any composing layer on this machine stays under.
// usage: node upstream.mjs <port>
import http from 'node:http';
import fs from 'node:fs';

const HTML = fs.readFileSync(new URL('../fixtures/fragment.html', import.meta.url));
const port = Number(process.argv[2]);

const server = http.createServer((req, res) => {
    if (req.url === '/page') {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': HTML.length });
        res.end(HTML);
    } else {
        res.writeHead(404, { 'Content-Length': 0 });
        res.end();
    }
});
server.keepAliveTimeout = 65000;
server.listen(port, '127.0.0.1', () => console.log(`upstream listening on ${port}`));
