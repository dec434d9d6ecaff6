// A js-libp2p peer driven by JSON lines, for Lester's interop tests.
//
// Start: node peer.mjs ['<json options>']   (or env LESTER_JS_PEER_OPTS='<json>')
// stdout: one JSON object per line (the "ready" line, command replies, events)
// stdin:  one JSON command per line, each with an "id"
// stderr: diagnostics only (DEBUG=libp2p:* adds libp2p's own logs there)
// See tests/interop/README.md for the options and the command protocol.

// Node 20 lacks Promise.withResolvers, which the libp2p 3.x tree calls. It must
// exist before libp2p is loaded, hence the dynamic imports below.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new this((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}

import { createInterface } from 'node:readline'
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'

// Everything that is not protocol goes to stderr; stdout belongs to the JSON lines.
const log = (...args) => { process.stderr.write(`[peer.mjs ${new Date().toISOString()}] ${args.join(' ')}\n`) }
console.log = (...args) => log(...args)
console.info = (...args) => log(...args)
console.warn = (...args) => log('WARN', ...args)
console.debug = (...args) => log(...args)

let stdoutOk = true
function emit (obj) {
  if (!stdoutOk) return
  try {
    process.stdout.write(JSON.stringify(obj) + '\n')
  } catch (err) {
    stdoutOk = false
    log('stdout write failed:', err?.message)
  }
}
process.stdout.on('error', (err) => { stdoutOk = false; log('stdout error:', err?.message) })

// Before "ready" any error is fatal (reported as {"event":"error"}, exit 2); after it,
// stray errors are logged and the peer carries on.
let started = false
function fatalOrLog (what, err) {
  log(`${what}:`, err?.stack ?? err)
  if (!started) {
    emit({ event: 'error', error: errorText(err) })
    process.exit(2)
  }
}
process.on('uncaughtException', (err) => fatalOrLog('uncaughtException', err))
process.on('unhandledRejection', (err) => fatalOrLog('unhandledRejection', err))

// ---------------------------------------------------------------- options

const DEFAULTS = {
  listen: ['/ip4/127.0.0.1/tcp/0'],
  seed: null, // 64 hex chars: Ed25519 seed for a fixed identity
  keyType: 'Ed25519', // identity key: Ed25519 | secp256k1 | RSA (fresh; seed is Ed25519 only;
  // ECDSA keys are made, but the pinned @libp2p/peer-id cannot derive their peer IDs)
  keyParam: null, // RSA bits (default 2048) or ECDSA curve (P-256, P-384, P-521; default P-256)
  agentVersion: null, // identify agentVersion (js default: libp2p/<version> node/<v>)
  echo: true, // serve /lester/echo/1.0.0
  bulk: true, // serve /lester/bulk/1.0.0
  echoProtocol: '/lester/echo/1.0.0',
  bulkProtocol: '/lester/bulk/1.0.0',
  maxStreams: 1024, // per-protocol inbound/outbound stream limits for echo/bulk
  identifyPush: false, // also run /ipfs/id/push/1.0.0
  connectionMonitor: true, // js pings each connection every ~10 s and drops it on failure
  dht: false, // false | true | { protocol, clientMode, namespaces, ... }
  gossipsub: false, // false | true | { ...GossipsubOpts that are JSON }
  events: { stream: true } // unsolicited per-stream events for served echo/bulk streams
}

function parseOptions () {
  let raw = process.argv[2] ?? process.env.LESTER_JS_PEER_OPTS ?? '{}'
  if (raw.trim() === '') raw = '{}'
  const given = JSON.parse(raw)
  const opts = { ...DEFAULTS, ...given }
  if (typeof opts.listen === 'string') opts.listen = [opts.listen]
  if (opts.dht === true) opts.dht = {}
  if (opts.gossipsub === true) opts.gossipsub = {}
  opts.events = { ...DEFAULTS.events, ...(given.events ?? {}) }
  return opts
}

// ---------------------------------------------------------------- helpers

const { createLibp2p } = await import('libp2p')
const { tcp } = await import('@libp2p/tcp')
const { noise } = await import('@chainsafe/libp2p-noise')
const { yamux } = await import('@libp2p/yamux')
const { identify, identifyPush } = await import('@libp2p/identify')
const { ping } = await import('@libp2p/ping')
const { generateKeyPairFromSeed, generateKeyPair } = await import('@libp2p/crypto/keys')
const { peerIdFromString } = await import('@libp2p/peer-id')
const { multiaddr } = await import('@multiformats/multiaddr')
const { CID } = await import('multiformats/cid')
const { sha256 } = await import('multiformats/hashes/sha2')
const raw = await import('multiformats/codecs/raw')

const te = new TextEncoder()
const td = new TextDecoder()
const hex = (u8) => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength).toString('hex')
const fromHex = (s) => new Uint8Array(Buffer.from(s, 'hex'))
const MiB = 1024 * 1024
const round = (x, n = 3) => Math.round(x * 10 ** n) / 10 ** n

function errorText (err) {
  if (err == null) return 'unknown error'
  if (typeof Event !== 'undefined' && err instanceof Event) {
    // some libp2p internals reject with the stream/socket event itself
    const inner = err.error ?? err.detail
    const what = err.type === 'close' ? ' (stream or connection closed before the operation completed)' : ''
    return `${err.constructor?.name ?? 'Event'} '${err.type}'${what}${inner != null && inner !== err ? ': ' + errorText(inner) : ''}`
  }
  if (err instanceof AggregateError && err.errors?.length) {
    return `${err.name}: ${err.message} [${err.errors.map(e => errorText(e)).join('; ')}]`
  }
  return `${err.name ?? 'Error'}: ${err.message ?? String(err)}`
}

function toBytes (data) {
  // Uint8Array | Uint8ArrayList -> Uint8Array (copying only when needed)
  if (data instanceof Uint8Array) return data
  return data.subarray()
}

function withTimeout (ms, what) {
  const ctl = new AbortController()
  const t = setTimeout(() => ctl.abort(new Error(`${what} timed out after ${ms} ms`)), ms)
  return { signal: ctl.signal, done: () => clearTimeout(t) }
}

function rates (bytes, ms) {
  const s = ms / 1000
  return {
    mbps: s > 0 ? round(bytes / 1e6 / s, 2) : null, // MB/s (10^6 bytes)
    mibps: s > 0 ? round(bytes / MiB / s, 2) : null // MiB/s
  }
}

// Write `total` bytes taken from `source` (a buffer sent in slices, repeated if
// shorter than total) honouring backpressure.
async function writeAll (stream, source, total, slice = 256 * 1024) {
  let sent = 0
  let off = 0
  while (sent < total) {
    if (stream.writeStatus !== 'writable') throw new Error(`stream not writable (${stream.writeStatus}, status ${stream.status})`)
    const n = Math.min(slice, total - sent, source.byteLength - off)
    const ok = stream.send(source.subarray(off, off + n))
    sent += n
    off += n
    if (off >= source.byteLength) off = 0
    if (!ok) await stream.onDrain()
  }
  return sent
}

// Resolves when the remote has closed its writable end and everything it sent has
// been delivered ('end'), rejects if the stream is reset/aborted first.
function remoteEnded (stream) {
  return new Promise((resolve, reject) => {
    if (stream.readableEnded) { resolve(); return }
    const onEnd = () => { cleanup(); resolve() }
    const onClose = (evt) => {
      cleanup()
      if (evt?.error != null) reject(evt.error)
      else resolve()
    }
    const cleanup = () => {
      stream.removeEventListener('end', onEnd)
      stream.removeEventListener('close', onClose)
    }
    stream.addEventListener('end', onEnd)
    stream.addEventListener('close', onClose)
    if (stream.status !== 'open' && stream.status !== 'closing') {
      cleanup()
      if (stream.status === 'closed') resolve()
      else reject(new Error(`stream is ${stream.status}`))
    }
  })
}

function peerOf (s) {
  if (s == null) throw new Error('missing peer')
  return peerIdFromString(String(s))
}

// ---------------------------------------------------------------- node

const opts = parseOptions()

let privateKey
if (opts.seed != null) {
  const seed = fromHex(String(opts.seed))
  if (seed.byteLength !== 32) throw new Error('seed must be 32 bytes (64 hex chars)')
  privateKey = await generateKeyPairFromSeed('Ed25519', seed)
} else {
  privateKey = await generateKeyPair(opts.keyType, opts.keyParam ?? undefined)
}

const services = {
  identify: identify(),
  ping: ping()
}
if (opts.identifyPush) services.identifyPush = identifyPush()

if (opts.dht) {
  const { kadDHT, passthroughMapper } = await import('@libp2p/kad-dht')
  const d = opts.dht
  const validators = {}
  const selectors = {}
  for (const ns of d.namespaces ?? ['lester']) {
    validators[ns] = async () => {} // accept any record
    selectors[ns] = () => 0 // keep the first of several
  }
  const init = {
    protocol: d.protocol ?? '/lester/kad/1.0.0',
    clientMode: d.clientMode ?? false,
    peerInfoMapper: passthroughMapper,
    allowQueryWithZeroPeers: d.allowQueryWithZeroPeers ?? true,
    validators,
    selectors
  }
  for (const k of ['kBucketSize', 'alpha', 'disjointPaths', 'querySelfInterval', 'initialQuerySelfInterval',
    'maxInboundStreams', 'maxOutboundStreams', 'onPeerConnectTimeout', 'incomingMessageTimeout']) {
    if (d[k] != null) init[k] = d[k]
  }
  services.dht = kadDHT(init)
}

if (opts.gossipsub) {
  const { gossipsub } = await import('@libp2p/gossipsub')
  const { scoreParams, directPeers, ...rest } = opts.gossipsub
  const init = {
    allowPublishToZeroTopicPeers: true,
    // every loopback peer shares 127.0.0.1: do not penalise IP colocation
    scoreParams: { IPColocationFactorWeight: 0, ...(scoreParams ?? {}) },
    ...rest
  }
  if (Array.isArray(directPeers)) {
    init.directPeers = directPeers.map(p => ({ id: peerOf(p.id), addrs: (p.addrs ?? []).map(a => multiaddr(a)) }))
  }
  services.pubsub = gossipsub(init)
}

const node = await createLibp2p({
  privateKey,
  addresses: { listen: opts.listen },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  connectionManager: {
    inboundConnectionThreshold: 10_000,
    maxIncomingPendingConnections: 1_000
  },
  connectionMonitor: { enabled: opts.connectionMonitor !== false },
  nodeInfo: opts.agentVersion != null ? { userAgent: String(opts.agentVersion) } : undefined,
  services,
  start: false
})

// ---------------------------------------------------------------- events

const identified = new Map() // peerId string -> last IdentifyResult
const identifyWaiters = new Map() // peerId string -> [resolve]

function identifyJson (r, source) {
  return {
    peer: r.peerId.toString(),
    agentVersion: r.agentVersion ?? null,
    protocolVersion: r.protocolVersion ?? null,
    protocols: [...(r.protocols ?? [])].sort(),
    listenAddrs: (r.listenAddrs ?? []).map(a => a.toString()),
    observedAddr: r.observedAddr != null ? r.observedAddr.toString() : null,
    publicKey: r.publicKey != null ? hex(r.publicKey) : null,
    signedPeerRecord: r.signedPeerRecord != null
      ? { seq: String(r.signedPeerRecord.seq), addresses: (r.signedPeerRecord.addresses ?? []).map(a => a.toString()) }
      : null,
    source
  }
}

node.addEventListener('peer:connect', (evt) => emit({ event: 'connect', peer: evt.detail.toString() }))
node.addEventListener('peer:disconnect', (evt) => emit({ event: 'disconnect', peer: evt.detail.toString() }))
node.addEventListener('connection:open', (evt) => {
  const c = evt.detail
  emit({ event: 'connection_open', peer: c.remotePeer.toString(), addr: c.remoteAddr.toString(), direction: c.direction, id: c.id })
})
node.addEventListener('connection:close', (evt) => {
  const c = evt.detail
  emit({ event: 'connection_close', peer: c.remotePeer.toString(), addr: c.remoteAddr.toString(), direction: c.direction, id: c.id })
})
node.addEventListener('peer:identify', (evt) => {
  const r = evt.detail
  const p = r.peerId.toString()
  identified.set(p, r)
  emit({ event: 'identify', ...identifyJson(r, 'event') })
  const ws = identifyWaiters.get(p)
  if (ws != null) { identifyWaiters.delete(p); ws.forEach(w => w()) }
})

if (services.pubsub != null) {
  node.services.pubsub.addEventListener('message', (evt) => {
    const m = evt.detail
    emit({
      event: 'message',
      topic: m.topic,
      from: m.from?.toString() ?? null,
      seqno: m.sequenceNumber != null ? String(m.sequenceNumber) : null,
      data: td.decode(m.data),
      dataHex: hex(m.data),
      signed: m.type === 'signed'
    })
  })
  node.services.pubsub.addEventListener('subscription-change', (evt) => {
    const d = evt.detail
    emit({
      event: 'subscription_change',
      peer: d.peerId.toString(),
      subscriptions: d.subscriptions.map(s => ({ topic: s.topic, subscribe: s.subscribe }))
    })
  })
}

// ---------------------------------------------------------------- handlers

const handlerOpts = { maxInboundStreams: opts.maxStreams, maxOutboundStreams: opts.maxStreams }

// echo everything until EOF, then close
function serveEcho (stream, connection) {
  const peer = connection.remotePeer.toString()
  const t0 = performance.now()
  let bytes = 0
  let finished = false
  stream.maxReadBufferLength = 64 * MiB
  const finish = async (err) => {
    if (finished) return
    finished = true
    stream.removeEventListener('message', onMessage)
    if (err == null) {
      try { await stream.close() } catch (e) { err = e }
    }
    if (err != null) {
      log(`echo from ${peer}: ${errorText(err)}`)
      try { stream.abort(err instanceof Error ? err : new Error(String(err))) } catch {}
    }
    if (opts.events.stream) {
      emit({ event: 'echo_served', peer, bytes, ms: round(performance.now() - t0), ok: err == null, ...(err != null ? { error: errorText(err) } : {}) })
    }
  }
  const onMessage = (evt) => {
    bytes += evt.data.byteLength
    try {
      if (!stream.send(evt.data)) {
        stream.pause()
        stream.onDrain().then(() => {
          try { if (stream.readStatus === 'paused') stream.resume() } catch {}
        }, (e) => finish(e))
      }
    } catch (e) {
      finish(e)
    }
  }
  stream.addEventListener('message', onMessage)
  stream.addEventListener('end', () => finish())
  stream.addEventListener('close', (evt) => finish(evt.error))
  if (stream.readableEnded) finish()
}

// read everything, count it, then close
function serveBulk (stream, connection) {
  const peer = connection.remotePeer.toString()
  let t0 = null
  let bytes = 0
  let finished = false
  const finish = async (err) => {
    if (finished) return
    finished = true
    const ms = t0 != null ? performance.now() - t0 : 0
    if (err == null) {
      try { await stream.close() } catch (e) { err = e }
    }
    if (err != null) {
      log(`bulk from ${peer}: ${errorText(err)}`)
      try { stream.abort(err instanceof Error ? err : new Error(String(err))) } catch {}
    }
    if (opts.events.stream) {
      emit({ event: 'bulk_served', peer, bytes, ms: round(ms), ...rates(bytes, ms), ok: err == null, ...(err != null ? { error: errorText(err) } : {}) })
    }
  }
  stream.addEventListener('message', (evt) => {
    if (t0 == null) t0 = performance.now()
    bytes += evt.data.byteLength
  })
  stream.addEventListener('end', () => finish())
  stream.addEventListener('close', (evt) => finish(evt.error))
  if (stream.readableEnded) finish()
}

if (opts.echo) await node.handle(opts.echoProtocol, serveEcho, handlerOpts)
if (opts.bulk) await node.handle(opts.bulkProtocol, serveBulk, handlerOpts)

// ---------------------------------------------------------------- commands

async function connectionTo (peerStr, { dial = true } = {}) {
  const pid = peerOf(peerStr)
  const open = node.getConnections(pid).filter(c => c.status === 'open')
  if (open.length > 0) return open[0]
  if (!dial) throw new Error(`not connected to ${peerStr}`)
  return await node.dial(pid)
}

async function echoOne (conn, protocol, payload, signal) {
  const stream = await conn.newStream(protocol, { signal, maxOutboundStreams: opts.maxStreams })
  stream.maxReadBufferLength = 64 * MiB
  let received = 0
  let mismatchAt = -1
  const onMessage = (evt) => {
    const chunk = toBytes(evt.data)
    if (mismatchAt < 0) {
      const end = received + chunk.byteLength
      if (end > payload.byteLength) {
        mismatchAt = received
      } else if (Buffer.compare(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength),
        Buffer.from(payload.buffer, payload.byteOffset + received, chunk.byteLength)) !== 0) {
        mismatchAt = received
      }
    }
    received += chunk.byteLength
  }
  stream.addEventListener('message', onMessage)
  const ended = remoteEnded(stream)
  const onAbort = () => { try { stream.abort(signal.reason ?? new Error('aborted')) } catch {} }
  signal.addEventListener('abort', onAbort)
  try {
    await writeAll(stream, payload, payload.byteLength, 64 * 1024)
    await stream.close({ signal })
    await ended
  } finally {
    signal.removeEventListener('abort', onAbort)
    stream.removeEventListener('message', onMessage)
  }
  return { received, ok: mismatchAt < 0 && received === payload.byteLength, mismatchAt }
}

let bulkSource = null

const commands = {
  async dial ({ addr, timeoutMs = 30_000 }) {
    if (addr == null) throw new Error('missing addr')
    const t = withTimeout(timeoutMs, 'dial')
    try {
      const conn = await node.dial(multiaddr(String(addr)), { signal: t.signal })
      return { peer: conn.remotePeer.toString(), remoteAddr: conn.remoteAddr.toString(), direction: conn.direction, multiplexer: conn.multiplexer ?? null, encryption: conn.encryption ?? null }
    } finally { t.done() }
  },

  async ping ({ peer, addr, timeoutMs = 30_000 }) {
    const target = addr != null ? multiaddr(String(addr)) : peerOf(peer)
    const t = withTimeout(timeoutMs, 'ping')
    try {
      const rtt = await node.services.ping.ping(target, { signal: t.signal })
      return { rtt }
    } finally { t.done() }
  },

  // What js learned about `peer` from identify. Uses the last identify result the
  // node saw; with none yet, waits up to `wait` ms for the automatic one, then runs
  // identify itself. `refresh: true` always runs a new identify exchange.
  async identify ({ peer, refresh = false, wait = 3_000, timeoutMs = 30_000 }) {
    const p = peerOf(peer).toString()
    if (!refresh && !identified.has(p) && wait > 0) {
      await new Promise((resolve) => {
        const t = setTimeout(resolve, wait)
        const list = identifyWaiters.get(p) ?? []
        list.push(() => { clearTimeout(t); resolve() })
        identifyWaiters.set(p, list)
      })
    }
    let res
    if (!refresh && identified.has(p)) {
      res = identifyJson(identified.get(p), 'event')
    } else {
      const conn = await connectionTo(p, { dial: false })
      const t = withTimeout(timeoutMs, 'identify')
      try {
        res = identifyJson(await node.services.identify.identify(conn, { signal: t.signal }), 'request')
      } finally { t.done() }
    }
    // what the peer store holds (merged from identify and other sources)
    try {
      const stored = await node.peerStore.get(peerOf(p))
      res.peerStore = {
        protocols: [...stored.protocols].sort(),
        addresses: stored.addresses.map(a => a.multiaddr.toString()),
        agentVersion: stored.metadata.has('AgentVersion') ? td.decode(stored.metadata.get('AgentVersion')) : null,
        protocolVersion: stored.metadata.has('ProtocolVersion') ? td.decode(stored.metadata.get('ProtocolVersion')) : null
      }
    } catch (err) {
      res.peerStore = null
    }
    return res
  },

  async peers () {
    const byPeer = new Map()
    for (const c of node.getConnections()) {
      const p = c.remotePeer.toString()
      const e = byPeer.get(p) ?? { peer: p, addrs: [], connections: [] }
      e.addrs.push(c.remoteAddr.toString())
      e.connections.push({ id: c.id, addr: c.remoteAddr.toString(), direction: c.direction, status: c.status, multiplexer: c.multiplexer ?? null, encryption: c.encryption ?? null, streams: c.streams.length, rtt: c.rtt ?? null })
      byPeer.set(p, e)
    }
    return { peers: [...byPeer.values()] }
  },

  async echo ({ peer, streams = 1, bytes = 1024, protocol = opts.echoProtocol, timeoutMs = 300_000 }) {
    const conn = await connectionTo(peer)
    const payloads = []
    for (let i = 0; i < streams; i++) payloads.push(new Uint8Array(randomBytes(bytes)))
    const t = withTimeout(timeoutMs, 'echo')
    const t0 = performance.now()
    try {
      const results = await Promise.allSettled(payloads.map(pl => echoOne(conn, protocol, pl, t.signal)))
      const ms = performance.now() - t0
      const okCount = results.filter(r => r.status === 'fulfilled' && r.value.ok).length
      const errors = results.filter(r => r.status === 'rejected').map(r => errorText(r.reason))
      const mismatched = results.filter(r => r.status === 'fulfilled' && !r.value.ok).length
      const received = results.reduce((a, r) => a + (r.status === 'fulfilled' ? r.value.received : 0), 0)
      const total = streams * bytes
      const out = {
        streams, bytes, okStreams: okCount, failedStreams: streams - okCount, mismatched,
        sentBytes: total, receivedBytes: received, ms: round(ms),
        ...rates(2 * total, ms) // bytes moved in both directions
      }
      if (errors.length) out.errors = [...new Set(errors)].slice(0, 5)
      if (okCount !== streams) {
        const e = new Error(`echo: ${okCount}/${streams} streams ok (${mismatched} mismatched, ${errors.length} errors${errors.length ? ': ' + errors[0] : ''})`)
        e.details = out
        throw e
      }
      return out
    } finally { t.done() }
  },

  async bulk ({ peer, bytes = 64 * MiB, protocol = opts.bulkProtocol, timeoutMs = 600_000 }) {
    const conn = await connectionTo(peer)
    if (bulkSource == null) bulkSource = new Uint8Array(randomBytes(4 * MiB))
    const t = withTimeout(timeoutMs, 'bulk')
    try {
      const stream = await conn.newStream(protocol, { signal: t.signal, maxOutboundStreams: opts.maxStreams })
      const onAbort = () => { try { stream.abort(t.signal.reason ?? new Error('aborted')) } catch {} }
      t.signal.addEventListener('abort', onAbort)
      let ignored = 0
      stream.addEventListener('message', (evt) => { ignored += evt.data.byteLength })
      const ended = remoteEnded(stream)
      const t0 = performance.now()
      await writeAll(stream, bulkSource, bytes, 256 * 1024)
      await stream.close({ signal: t.signal })
      const tFlushed = performance.now()
      await ended
      const ms = performance.now() - t0
      t.signal.removeEventListener('abort', onAbort)
      return { bytes, ms: round(ms), flushMs: round(tFlushed - t0), ...rates(bytes, ms), unexpectedBytesBack: ignored }
    } finally { t.done() }
  },

  async hangup ({ peer }) {
    await node.hangUp(peerOf(peer))
    return {}
  },

  async info () {
    return { peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map(a => a.toString()), protocols: node.getProtocols().sort() }
  },

  // ---- kad-dht (options.dht)
  async dht_put ({ key, value, valueHex, timeoutMs = 60_000 }) {
    const dht = needDht()
    const t = withTimeout(timeoutMs, 'dht_put')
    try {
      const peers = new Set()
      for await (const e of dht.put(te.encode(String(key)), valueHex != null ? fromHex(valueHex) : te.encode(String(value ?? '')), { signal: t.signal })) {
        if (e.name === 'PEER_RESPONSE') peers.add(e.from.toString())
      }
      return { responses: peers.size, peers: [...peers] }
    } finally { t.done() }
  },
  async dht_get ({ key, timeoutMs = 60_000 }) {
    const dht = needDht()
    const t = withTimeout(timeoutMs, 'dht_get')
    try {
      for await (const e of dht.get(te.encode(String(key)), { signal: t.signal })) {
        if (e.name === 'VALUE') return { value: td.decode(e.value), valueHex: hex(e.value), from: e.from.toString() }
      }
      throw new Error('not found')
    } finally { t.done() }
  },
  async dht_provide ({ cid, timeoutMs = 60_000 }) {
    const dht = needDht()
    const t = withTimeout(timeoutMs, 'dht_provide')
    try {
      const peers = new Set()
      for await (const e of dht.provide(CID.parse(String(cid)), { signal: t.signal })) {
        if (e.name === 'PEER_RESPONSE') peers.add(e.from.toString())
      }
      return { responses: peers.size, peers: [...peers] }
    } finally { t.done() }
  },
  async dht_find_providers ({ cid, max = 20, timeoutMs = 60_000 }) {
    const dht = needDht()
    const t = withTimeout(timeoutMs, 'dht_find_providers')
    const found = new Map()
    try {
      for await (const e of dht.findProviders(CID.parse(String(cid)), { signal: t.signal })) {
        if (e.name === 'PROVIDER') {
          for (const p of e.providers) found.set(p.id.toString(), [...new Set(p.multiaddrs.map(a => a.toString()))])
          if (found.size >= max) break
        }
      }
    } finally { t.done() }
    return { providers: [...found].map(([peer, addrs]) => ({ peer, addrs })) }
  },
  async dht_find_peer ({ peer, timeoutMs = 60_000 }) {
    const dht = needDht()
    const t = withTimeout(timeoutMs, 'dht_find_peer')
    try {
      for await (const e of dht.findPeer(peerOf(peer), { signal: t.signal })) {
        if (e.name === 'FINAL_PEER') return { peer: e.peer.id.toString(), addrs: [...new Set(e.peer.multiaddrs.map(a => a.toString()))] }
      }
      throw new Error('not found')
    } finally { t.done() }
  },
  async dht_closest ({ key, keyHex, timeoutMs = 60_000 }) {
    const dht = needDht()
    const t = withTimeout(timeoutMs, 'dht_closest')
    const peers = new Set()
    try {
      for await (const e of dht.getClosestPeers(keyHex != null ? fromHex(keyHex) : te.encode(String(key)), { signal: t.signal })) {
        if (e.name === 'FINAL_PEER') peers.add(e.peer.id.toString())
      }
    } finally { t.done() }
    return { peers: [...peers] }
  },
  // A Lester signed DHT value (src/dht/kad_validate.h) made with this node's key: the
  // canonical MessagePack map {exp, key, pk, seq, sig, ts, value} (keys sorted), signed
  // with Ed25519 over the same map without "sig".
  async lester_record ({ key, value, valueHex, seq, tsMs, expMs }) {
    const now = Date.now()
    const fields = {
      exp: BigInt(expMs ?? now + 3_600_000),
      key: te.encode(String(key)),
      pk: privateKey.publicKey.raw,
      seq: BigInt(seq ?? now),
      ts: BigInt(tsMs ?? now),
      value: valueHex != null ? fromHex(valueHex) : te.encode(String(value ?? ''))
    }
    const unsigned = mpMap(fields)
    const sig = await privateKey.sign(unsigned)
    return { valueHex: hex(mpMap({ ...fields, sig })) }
  },
  async dht_mode ({ mode }) {
    const dht = needDht()
    if (mode != null) await dht.setMode(mode)
    return { mode: dht.getMode() }
  },
  // CIDv1 raw/sha2-256 of `data` (utf8) or `dataHex`, for provide/find tests
  async cid ({ data, dataHex }) {
    const bytes = dataHex != null ? fromHex(dataHex) : te.encode(String(data ?? ''))
    return { cid: CID.create(1, raw.code, await sha256.digest(bytes)).toString() }
  },

  // ---- gossipsub (options.gossipsub)
  async subscribe ({ topic }) { needPubsub().subscribe(String(topic)); return {} },
  async unsubscribe ({ topic }) { needPubsub().unsubscribe(String(topic)); return {} },
  async publish ({ topic, data, dataHex }) {
    const r = await needPubsub().publish(String(topic), dataHex != null ? fromHex(dataHex) : te.encode(String(data ?? '')))
    return { recipients: r.recipients.map(p => p.toString()) }
  },
  async topic_peers ({ topic }) {
    const ps = needPubsub()
    return { subscribers: ps.getSubscribers(String(topic)).map(p => p.toString()), peers: ps.getPeers().map(p => p.toString()), topics: ps.getTopics() }
  },
  async mesh_peers ({ topic }) {
    const ps = needPubsub()
    return { mesh: typeof ps.getMeshPeers === 'function' ? ps.getMeshPeers(String(topic)).map(String) : null }
  }
}

function needDht () {
  if (node.services.dht == null) throw new Error('kad-dht is not enabled (start option "dht")')
  return node.services.dht
}
function needPubsub () {
  if (node.services.pubsub == null) throw new Error('gossipsub is not enabled (start option "gossipsub")')
  return node.services.pubsub
}

let stopping = false
async function stop (code = 0) {
  if (stopping) return
  stopping = true
  const killer = setTimeout(() => { log('stop timed out, exiting'); process.exit(code) }, 5_000)
  killer.unref()
  try { await node.stop() } catch (err) { log('stop:', errorText(err)) }
  process.exit(code)
}

async function handleLine (line) {
  line = line.trim()
  if (line === '') return
  let msg
  try {
    msg = JSON.parse(line)
  } catch (err) {
    emit({ id: null, ok: false, error: `bad JSON: ${err.message}` })
    return
  }
  const id = msg?.id ?? null
  const cmd = msg?.cmd ?? msg?.command ?? msg?.op
  if (cmd === 'stop') {
    emit({ id, ok: true })
    await stop(0)
    return
  }
  const fn = Object.hasOwn(commands, cmd) ? commands[cmd] : null
  if (fn == null) {
    emit({ id, ok: false, error: `unknown command: ${cmd}` })
    return
  }
  try {
    const result = await fn(msg)
    emit({ id, ok: true, ...result })
  } catch (err) {
    log(`command ${cmd} (id ${id}) failed:`, err?.stack ?? err)
    emit({ id, ok: false, error: errorText(err), ...(err?.details != null ? { details: err.details } : {}) })
  }
}

// ---------------------------------------------------------------- main

try {
  await node.start()
} catch (err) {
  fatalOrLog('start failed', err)
}

process.on('SIGTERM', () => stop(0))
process.on('SIGINT', () => stop(0))

started = true
emit({
  event: 'ready',
  peerId: node.peerId.toString(),
  addrs: node.getMultiaddrs().map(a => a.toString()),
  protocols: node.getProtocols().sort()
})

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity })
rl.on('line', (line) => { handleLine(line).catch(err => log('handleLine:', err?.stack ?? err)) })
rl.on('close', () => { log('stdin closed, stopping'); stop(0) })

// ---- canonical MessagePack for lester_record (uint, bin and fixstr keys only)
function mpUint (v) {
  if (v < 128n) return [Number(v)]
  if (v < 256n) return [0xcc, Number(v)]
  if (v < 65536n) return [0xcd, Number(v >> 8n), Number(v & 255n)]
  const bytes = v < 4294967296n ? 4 : 8
  const out = [bytes === 4 ? 0xce : 0xcf]
  for (let i = bytes - 1; i >= 0; i--) out.push(Number((v >> BigInt(8 * i)) & 255n))
  return out
}
function mpBin (b) {
  const h = b.length < 256 ? [0xc4, b.length] : [0xc5, b.length >> 8, b.length & 255]
  return [...h, ...b]
}
function mpMap (obj) {
  const keys = Object.keys(obj).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  const out = [0x80 | keys.length]
  for (const k of keys) {
    out.push(0xa0 | k.length, ...te.encode(k))
    const v = obj[k]
    out.push(...(typeof v === 'bigint' ? mpUint(v) : mpBin(v)))
  }
  return Uint8Array.from(out)
}
