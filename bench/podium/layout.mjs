// The Podium layout (express + @podium/layout): fetches the podlet's fragment on every request
// and wraps it in the site layout (fixtures/shell.html, ~2 KB).
// usage: node layout.mjs <port> <podletPort> [processes]
// With processes > 1 the layout runs as a node:cluster of that many workers sharing the port
// (round-robin hand-out by the primary, Node's default on Linux), as `plugit proxy --workers N`
// runs N uvicorn workers sharing one socket. The podlet stays one process, as the PlugIt
// service does.
import cluster from 'node:cluster';
import express from 'express';
import Layout from '@podium/layout';
import fs from 'node:fs';

const port = Number(process.argv[2]);
const podletPort = Number(process.argv[3]);
const processes = Number(process.argv[4] || 1);

if (processes > 1 && cluster.isPrimary) {
    for (let i = 0; i < processes; i++) cluster.fork();
    cluster.on('exit', (worker, code) => {
        console.log(`layout worker ${worker.process.pid} exited with ${code}`);
        process.exit(1);
    });
    process.on('SIGTERM', () => {
        for (const worker of Object.values(cluster.workers)) worker.kill('SIGTERM');
        process.exit(0);
    });
} else {
    serve();
}

function serve() {
    const SHELL = fs.readFileSync(new URL('../fixtures/shell.html', import.meta.url), 'utf8');
    const [HEAD, TAIL] = SHELL.split('<!--CONTENT-->');
    const layout = new Layout({ name: 'plugitLayout', pathname: '/' });
    layout.view((incoming, body, head) => HEAD + body + TAIL);
    const runs = layout.client.register({
        name: 'runsPodlet',
        uri: `http://127.0.0.1:${podletPort}/manifest.json`,
    });
    const app = express();
    app.disable('x-powered-by');
    app.use(layout.middleware());
    app.get('/page', async (req, res, next) => {
        try {
            const result = await runs.fetch(res.locals.podium);
            res.podiumSend(result.content);
        } catch (err) { next(err); }
    });
    const server = app.listen(port, '127.0.0.1', () => console.log(`layout ${process.pid} listening on ${port}`));
    server.keepAliveTimeout = 65000;
}
