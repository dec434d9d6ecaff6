// cid.mjs — root CID of a file or directory as helia's importer computes it with
// kubo's parameters (INTEROP.md): CIDv1, raw leaves, fixed 262144-byte chunks,
// balanced layout with at most 174 links per node, single leaf reduced to itself.
//
//   node js/cid.mjs PATH [CHUNK_SIZE [MAX_LINKS [SHARD_SPLIT_THRESHOLD_BYTES]]]
//                                                   prints the root CID on stdout
//
// A directory is imported recursively (files and empty directories; symlinks are
// skipped), named by its base name as `ipfs add -r` does.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function () {
    let resolve, reject
    const promise = new Promise((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}

const { importer } = await import('ipfs-unixfs-importer')
const { fixedSize } = await import('ipfs-unixfs-importer/chunker')
const { balanced } = await import('ipfs-unixfs-importer/layout')
const { BlackHoleBlockstore } = await import('blockstore-core/black-hole')
const fs = await import('node:fs')
const pathMod = await import('node:path')

const target = process.argv[2]
if (!target) {
  process.stderr.write('usage: node cid.mjs PATH [CHUNK_SIZE [MAX_LINKS]]\n')
  process.exit(2)
}
const chunkSize = Number(process.argv[3] ?? 262144)
const maxChildrenPerNode = Number(process.argv[4] ?? 174)
const shardSplitThresholdBytes = Number(process.argv[5] ?? 262144)

// Walk `dir`, yielding import candidates whose paths start with `prefix`.
function * walk (dir, prefix) {
  const entries = fs.readdirSync(dir, { withFileTypes: true })
  yield { path: prefix }
  for (const e of entries) {
    const full = pathMod.join(dir, e.name)
    const rel = prefix + '/' + e.name
    if (e.isDirectory()) {
      yield * walk(full, rel)
    } else if (e.isFile()) {
      yield { path: rel, content: fs.createReadStream(full) }
    }
  }
}

const options = {
  cidVersion: 1,
  rawLeaves: true,
  reduceSingleLeafToSelf: true,
  chunker: fixedSize({ chunkSize }),
  layout: balanced({ maxChildrenPerNode }),
  shardSplitThresholdBytes
}

const isDir = fs.statSync(target).isDirectory()
const name = pathMod.basename(pathMod.resolve(target))
const source = isDir ? walk(target, name) : [{ content: fs.createReadStream(target) }]
let root
for await (const entry of importer(source, new BlackHoleBlockstore(), options)) {
  if (!isDir || entry.path === name) root = entry
}
process.stdout.write(root.cid.toString() + '\n')
