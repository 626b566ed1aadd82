// The Podium podlet (express + @podium/podlet): serves the ~2 KB fragment, ready made.
// usage: node podlet.mjs <port>
import express from 'express';
import Podlet from '@podium/podlet';
import fs from 'node:fs';

const port = Number(process.argv[2]);
const FRAGMENT = fs.readFileSync(new URL('../fixtures/fragment.html', import.meta.url), 'utf8');

const podlet = new Podlet({ name: 'runsPodlet', version: '1.0.0', pathname: '/', development: false });
const app = express();
app.disable('x-powered-by');
app.use(podlet.middleware());
app.get(podlet.manifest(), (req, res) => { res.json(podlet); });
app.get(podlet.content(), (req, res) => { res.podiumSend(FRAGMENT); });
const server = app.listen(port, '127.0.0.1', () => console.log(`podlet listening on ${port}`));
server.keepAliveTimeout = 65000;
