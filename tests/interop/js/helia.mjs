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
//     {"id":6,"cmd":"peers"}                  open connections → {peers: [{peer, addr,
//                                             direction}]} (who dialled whom)
//   with the DHT (below) also:
//     {"id":7,"cmd":"provide","cid":CID}      helia.routing.provide → {ms}
//     {"id":8,"cmd":"findprovs","cid":CID}    helia.routing.findProviders → {providers:
//                                             [{peer, addrs, router}]}
//
// Loopback only: TCP on 127.0.0.1, Noise, yamux, identify, ping, Bitswap (helia's
// default: /ipfs/bitswap/1.2.0 only); no routers, no bootstrap, no HTTP gateways.
// Opt-in DHT: env HELIA_DHT=1 (or a JSON object {"clientMode": bool, "protocol": ID})
// adds @libp2p/kad-dht on /ipfs/kad/1.0.0 (client mode unless told; addresses kept as
// they are, loopback included). withLibp2pLight already adds libp2p's content and
// peer routing as helia's 'libp2p-router', so Bitswap's provider lookups and
// helia.routing.provide then go through the DHT.
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
const { peerIdFromCID } = await import('@libp2p/peer-id')
const { CID } = await import('multiformats/cid')
const { fixedSize } = await import('ipfs-unixfs-importer/chunker')
const { balanced } = await import('ipfs-unixfs-importer/layout')

const services = { identify: identify(), ping: ping() }
const dhtEnv = process.env.HELIA_DHT ?? ''
const dhtOpts = dhtEnv === '' ? null : (dhtEnv.trim().startsWith('{') ? JSON.parse(dhtEnv) : {})
if (dhtOpts) {
  const { kadDHT, passthroughMapper } = await import('@libp2p/kad-dht')
  services.dht = kadDHT({
    protocol: dhtOpts.protocol ?? '/ipfs/kad/1.0.0',
    clientMode: dhtOpts.clientMode ?? true,
    peerInfoMapper: passthroughMapper
  })
}
let helia = createHeliaLight({})
helia = withLibp2pLight(helia, {
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services
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
  async peers () {
    return {
      peers: helia.libp2p.getConnections().map(c => ({
        peer: c.remotePeer.toString(), addr: c.remoteAddr.toString(), direction: c.direction
      }))
    }
  },
  async provide ({ cid, timeoutMs }) {
    const t0 = performance.now()
    await helia.routing.provide(CID.parse(cid), { signal: AbortSignal.timeout(timeoutMs ?? 60000) })
    return { ms: performance.now() - t0 }
  },
  async findprovs ({ cid, timeoutMs }) {
    const providers = []
    const signal = AbortSignal.timeout(timeoutMs ?? 60000)
    for await (const p of helia.routing.findProviders(CID.parse(cid), { signal })) {
      providers.push({ peer: peerIdFromCID(p.id).toString(), addrs: p.multiaddrs.map(String), router: p.router })
    }
    return { providers }
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
  protocols: helia.libp2p.getProtocols(),
  dht: dhtOpts != null
}, log)
