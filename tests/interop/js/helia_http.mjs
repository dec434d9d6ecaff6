// helia_http.mjs — helia's HTTP-only node (@helia/http: the trustless-gateway block
// broker, no libp2p, pinned in package-lock.json) driven by JSON lines, for Lester's
// trustless gateway interop test.
//
//   node js/helia_http.mjs      prints {"event":"ready"}
//   stdin, one JSON command per line, each answered on stdout with its "id":
//     {"id":1,"cmd":"get","cid":CID,"gateway":MULTIADDR,"out":FILE,"timeoutMs":N}
//         cat the file through helia's block brokers, the only provider being MULTIADDR
//         (/ip4/127.0.0.1/tcp/PORT/http, answered by this harness's router) → {bytes,
//         ms, requests: gateway requests made, accept: the Accept headers sent}
//     {"id":2,"cmd":"car","url":URL,"cid":CID,"offset":N,"length":N}
//         fetch a CAR, check each block against its CID (multiformats), load the blocks
//         into an empty MemoryBlockstore and read bytes [offset, offset+length) of the
//         file CID with ipfs-unixfs-exporter from those blocks alone → {contentType,
//         blocks: [cid...], sha256: of the bytes read, bytes}
//     {"id":3,"cmd":"stop"}
//
// No delegated routers and no public gateways: the one router below answers every
// findProviders with Lester's gateway, allowInsecure/allowLocal let helia use it.
import { catToFile, serve, stderrLog } from './jsonlines.mjs'

const log = stderrLog('helia_http.mjs')

const crypto = await import('node:crypto')
const { createHeliaLight } = await import('helia')
const { withHTTP } = await import('@helia/http')
const { unixfs } = await import('@helia/unixfs')
const { multiaddr } = await import('@multiformats/multiaddr')
const { CID } = await import('multiformats/cid')
const { varint } = await import('multiformats')
const { sha256 } = await import('multiformats/hashes/sha2')
const { identity } = await import('multiformats/hashes/identity')
const { MemoryBlockstore } = await import('blockstore-core')
const { exporter } = await import('ipfs-unixfs-exporter')

const TRANSPORT_IPFS_GATEWAY_HTTP = 0x0920

// Every findProviders answered with the gateways of the current `get` (one here).
const gateways = []
const lesterRouter = {
  name: 'lester-gateway-router',
  async * findProviders (cid) {
    for (const addr of gateways) {
      yield {
        id: CID.createV1(TRANSPORT_IPFS_GATEWAY_HTTP, identity.digest(new TextEncoder().encode(addr))),
        multiaddrs: [multiaddr(addr)],
        protocols: ['transport-ipfs-gateway-http'],
        router: 'lester-gateway-router'
      }
    }
  }
}

let requests = 0
const accepts = new Set()
const helia = withHTTP(createHeliaLight({}), {
  delegatedRouters: [],
  recursiveGateways: [],
  allowInsecure: true,
  allowLocal: true,
  transformRequestInit: (init) => {
    requests++
    accepts.add(new Headers(init.headers).get('accept'))
    return init
  }
})
helia.addRouter(lesterRouter)
await helia.start()
const ufs = unixfs(helia)

// CARv1: varint header length, DAG-CBOR header, then (varint length, CID, block)*.
function * carBlocks (bytes) {
  let [n, used] = varint.decode(bytes)
  let i = used + n
  while (i < bytes.length) {
    [n, used] = varint.decode(bytes.subarray(i))
    const section = bytes.subarray(i + used, i + used + n)
    i += used + n
    const [cid, rest] = CID.decodeFirst(section)
    yield { cid, block: rest }
  }
}

const commands = {
  async get ({ cid, gateway, out, timeoutMs }) {
    gateways.length = 0
    gateways.push(gateway)
    requests = 0
    accepts.clear()
    const r = await catToFile(ufs, CID.parse(cid), out, timeoutMs)
    return { ...r, requests, accept: [...accepts] }
  },
  async car ({ url, cid, offset, length }) {
    const res = await fetch(url, { headers: { Accept: 'application/vnd.ipld.car' } })
    if (!res.ok) throw new Error(`${url}: ${res.status}`)
    const body = new Uint8Array(await res.arrayBuffer())
    const store = new MemoryBlockstore()
    const blocks = []
    for (const { cid: c, block } of carBlocks(body)) {
      const digest = await sha256.digest(block)
      if (c.multihash.code !== sha256.code || !equal(digest.digest, c.multihash.digest)) {
        throw new Error(`block ${c} does not match its CID`)
      }
      await store.put(c, block)
      blocks.push(c.toString())
    }
    const entry = await exporter(CID.parse(cid), store)
    const h = crypto.createHash('sha256')
    let bytes = 0
    for await (const buf of entry.content({ offset, length })) {
      h.update(buf)
      bytes += buf.length
    }
    return { contentType: res.headers.get('content-type'), blocks, sha256: h.digest('hex'), bytes }
  },
  async stop () {
    await helia.stop()
    setTimeout(() => process.exit(0), 50)
    return {}
  }
}

function equal (a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

serve(commands, {}, log)
