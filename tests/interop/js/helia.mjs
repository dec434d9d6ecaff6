// helia.mjs — a helia node (IPFS in JS, pinned in package.json) driven by JSON lines,
// for Lester's Bitswap interop tests and the helia → helia benchmark.
//
//   node js/helia.mjs           prints {"event":"ready","peerId":...,"addrs":[...]}
//   stdin, one JSON command per line, each answered on stdout with its "id":
//     {"id":1,"cmd":"add","path":FILE}        import with kubo's parameters → {cid, ms}
//     {"id":2,"cmd":"dial","addr":MULTIADDR}  → {peer}
//     {"id":3,"cmd":"get","cid":CID,"out":FILE,"timeoutMs":N}   fetch over Bitswap and
//                                             write the bytes → {bytes, ms}
//     {"id":4,"cmd":"adddir","path":DIR,"shardSplitThresholdBytes":N}   import a
//                                             directory tree (kubo's parameters; directories
//                                             whose links estimate passes N bytes become
//                                             HAMT shards, fanout 256) → {cid}
//     {"id":5,"cmd":"stop"}
//
// Loopback only: TCP on 127.0.0.1, Noise, yamux, identify, ping, Bitswap (helia's
// default: /ipfs/bitswap/1.2.0 only); no routers, no bootstrap, no HTTP gateways.
import { catToFile, serve, stderrLog } from './jsonlines.mjs'

const log = stderrLog('helia.mjs')

const fs = await import('node:fs')
const pathMod = await import('node:path')
const { createHeliaLight } = await import('helia')
const { withLibp2pLight } = await import('@helia/libp2p')
const { withBitswap } = await import('@helia/bitswap')
const { unixfs } = await import('@helia/unixfs')
const { tcp } = await import('@libp2p/tcp')
const { noise } = await import('@chainsafe/libp2p-noise')
const { yamux } = await import('@libp2p/yamux')
const { identify } = await import('@libp2p/identify')
const { ping } = await import('@libp2p/ping')
const { multiaddr } = await import('@multiformats/multiaddr')
const { CID } = await import('multiformats/cid')
const { fixedSize } = await import('ipfs-unixfs-importer/chunker')
const { balanced } = await import('ipfs-unixfs-importer/layout')

let helia = createHeliaLight({})
helia = withLibp2pLight(helia, {
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: { identify: identify(), ping: ping() }
})
helia = withBitswap(helia)
await helia.start()
const ufs = unixfs(helia)

const kubo = {
  cidVersion: 1,
  rawLeaves: true,
  reduceSingleLeafToSelf: true,
  chunker: fixedSize({ chunkSize: 262144 }),
  layout: balanced({ maxChildrenPerNode: 174 })
}

const commands = {
  async add ({ path }) {
    const t0 = performance.now()
    const cid = await ufs.addByteStream(fs.createReadStream(path, { highWaterMark: 1 << 20 }), kubo)
    return { cid: cid.toString(), ms: performance.now() - t0 }
  },
  async adddir ({ path, shardSplitThresholdBytes }) {
    const base = pathMod.basename(pathMod.resolve(path))
    function * walk (dir, prefix) {
      yield { path: prefix }
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = pathMod.join(dir, e.name)
        if (e.isDirectory()) yield * walk(full, prefix + '/' + e.name)
        else if (e.isFile()) yield { path: prefix + '/' + e.name, content: fs.readFileSync(full) }
      }
    }
    let root
    for await (const entry of ufs.addAll(walk(path, base), { ...kubo, shardSplitThresholdBytes })) {
      if (entry.path === base) root = entry
    }
    return { cid: root.cid.toString() }
  },
  async dial ({ addr }) {
    const conn = await helia.libp2p.dial(multiaddr(addr))
    return { peer: conn.remotePeer.toString() }
  },
  async get ({ cid, out, timeoutMs }) {
    return catToFile(ufs, CID.parse(cid), out, timeoutMs)
  },
  async stop () {
    await helia.stop()
    setTimeout(() => process.exit(0), 50)
    return {}
  }
}

serve(commands, {
  peerId: helia.libp2p.peerId.toString(),
  addrs: helia.libp2p.getMultiaddrs().map(String),
  protocols: helia.libp2p.getProtocols()
}, log)
