// Strips the "funding" entries (web addresses of package authors) from
// package-lock.json so the committed lock file names no host at all. Registry
// addresses ("resolved") are already left out by .npmrc
// (omit-lockfile-registry-resolved=true). `npm ci` does not need either.
// Run after any change of dependencies: npm run relock
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const path = fileURLToPath(new URL('../package-lock.json', import.meta.url))
const lock = JSON.parse(readFileSync(path, 'utf8'))
let n = 0
for (const pkg of Object.values(lock.packages ?? {})) {
  if ('funding' in pkg) { delete pkg.funding; n++ }
  if ('resolved' in pkg) { delete pkg.resolved; n++ }
}
writeFileSync(path, JSON.stringify(lock, null, 2) + '\n')
// "bin" maps name packages' own scripts (cli.js, bin/semver.js): file names, not hosts
const scanned = JSON.stringify(lock, (key, value) => key === 'bin' ? undefined : value)
const left = scanned.match(/[a-z0-9-]+\.(com|org|net|io|dev|js)\b/gi) ?? []
process.stderr.write(`clean-lock: removed ${n} entries; host-like strings left: ${left.length ? left.join(', ') : 'none'}\n`)
if (left.length) process.exit(1)
