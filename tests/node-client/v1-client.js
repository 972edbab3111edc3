// Drives docker-registry-client's V1 client against Wharf. Inputs come from the environment,
// set by tests/Wharf.Server.Tests/NodeClientTests.cs; exits non-zero with the first failure.
'use strict';
const assert = require('assert');
const crypto = require('crypto');
const util = require('util');
const drc = require('docker-registry-client');

const host = process.env.WHARF_HOST;           // 127.0.0.1:PORT
const repo = process.env.WHARF_REPO;           // e.g. acme/web
const tag = process.env.WHARF_TAG;
const ids = JSON.parse(process.env.WHARF_IDS);  // root first
const layerSha = JSON.parse(process.env.WHARF_LAYER_SHA256);
const jsonSha = JSON.parse(process.env.WHARF_JSON_SHA256);

function call(client, method, opts) {
    return new Promise((resolve, reject) => {
        const cb = (err, result, res) => (err ? reject(err) : resolve({ result, res }));
        if (opts === undefined) { client[method](cb); } else { client[method](opts, cb); }
    });
}

async function main() {
    const log = require('bunyan').createLogger({ name: 'wharf-test', level: 'fatal' });
    const client = drc.createClientV1({
        name: `${host}/${repo}`,
        scheme: 'http',
        username: process.env.WHARF_USER,
        password: process.env.WHARF_PASSWORD,
        log,
    });
    try {
        const ping = await call(client, 'ping');
        assert.strictEqual(ping.result, true, 'ping body is the JSON literal true');
        assert.strictEqual(ping.res.headers['x-docker-registry-standalone'].toLowerCase(), 'true');

        const imgs = await call(client, 'listRepoImgs', {});
        const listed = imgs.result.map((i) => i.id);
        for (const id of ids) { assert.ok(listed.includes(id), `listRepoImgs lists ${id}`); }
        assert.ok(imgs.result.every((i) => !('Tag' in i)), 'no Tag members');

        const tags = await call(client, 'listRepoTags');
        assert.strictEqual(tags.result[tag], ids[ids.length - 1], 'tag list maps the tag to the top image');

        const imgId = await call(client, 'getImgId', { tag });
        assert.strictEqual(imgId.result, ids[ids.length - 1]);

        const ancestry = await call(client, 'getImgAncestry', { imgId: imgId.result });
        assert.deepStrictEqual(ancestry.result, ids.slice().reverse());

        for (let i = 0; i < ids.length; i++) {
            const json = await call(client, 'getImgJson', { imgId: ids[i] });
            assert.strictEqual(json.result.id, ids[i]);
            const raw = await new Promise((resolve, reject) => {
                client.getImgLayerStream({ imgId: ids[i] }, (err, stream) => {
                    if (err) { reject(err); return; }
                    const hash = crypto.createHash('sha256');
                    stream.on('data', (chunk) => hash.update(chunk));
                    stream.on('end', () => resolve(hash.digest('hex')));
                    stream.on('error', reject);
                    stream.resume();
                });
            });
            assert.strictEqual(raw, layerSha[i], `layer bytes of ${ids[i]}`);
            assert.ok(jsonSha[i].length === 64);
        }

        const search = await call(client, 'search', { term: repo.split('/').pop() });
        assert.ok(search.result.num_results > 0, 'search finds the repository');
        assert.ok(search.result.results.some((r) => r.name.includes(repo)), 'a result names the repository');
        console.log('node docker-registry-client V1: all checks passed');
    } finally {
        client.close();
    }
}

main().catch((err) => {
    console.error(err && err.stack ? err.stack : util.inspect(err));
    process.exit(1);
});
