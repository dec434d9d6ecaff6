// jsonlines.mjs — what the JSON-lines harnesses (helia.mjs, helia_http.mjs) share:
// Promise.withResolvers for Node versions without it (helia calls it), console output
// moved to stderr (stdout carries only the protocol), and the command loop: one JSON
// command per stdin line, answered on stdout with its "id" and ok, or ok: false and
// the error.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new this((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}

const { createInterface } = await import('node:readline')

export const emit = (o) => process.stdout.write(JSON.stringify(o) + '\n')

// A logger to stderr tagged with `name`, which console.* use from now on.
export function stderrLog (name) {
  const log = (...a) => { process.stderr.write(`[${name}] ${a.join(' ')}\n`) }
  console.log = console.info = console.debug = log
  console.warn = (...a) => log('WARN', ...a)
  return log
}

// Print the `ready` event, then answer each command line with commands[cmd](msg).
export function serve (commands, ready, log) {
  emit({ event: 'ready', ...ready })
  createInterface({ input: process.stdin }).on('line', async (line) => {
    let msg
    try { msg = JSON.parse(line) } catch { return }
    const fn = commands[msg.cmd]
    try {
      if (!fn) throw new Error('unknown command ' + msg.cmd)
      emit({ id: msg.id, ok: true, ...(await fn(msg)) })
    } catch (err) {
      log(msg.cmd, 'failed:', err?.stack ?? err)
      emit({ id: msg.id, ok: false, error: String(err?.message ?? err) })
    }
  })
}

// Write the UnixFS file `cid` (a CID object) read through `ufs` (@helia/unixfs) to the
// path `out`: {bytes, ms}.
export async function catToFile (ufs, cid, out, timeoutMs) {
  const fs = await import('node:fs')
  const t0 = performance.now()
  const fd = fs.openSync(out, 'w')
  let bytes = 0
  try {
    const signal = AbortSignal.timeout(timeoutMs ?? 300000)
    for await (const buf of ufs.cat(cid, { signal })) {
      fs.writeSync(fd, buf)
      bytes += buf.length
    }
  } finally {
    fs.closeSync(fd)
  }
  return { bytes, ms: performance.now() - t0 }
}
