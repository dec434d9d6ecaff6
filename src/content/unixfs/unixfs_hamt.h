/* unixfs_hamt — reading HAMT-sharded directories (ipfs/specs UNIXFS.md, "HAMTDirectory"),
 * as kubo and helia write large directories. Internal to content/unixfs.
 *
 * A shard is a dag-pb node whose Data is {Type HAMTShard, Data: occupancy bitfield,
 * hashType 0x22 (murmur3-x64-64), fanout F (a power of two)}. Every link name starts
 * with the bucket index as P upper-case hex digits (P = hex digits of F - 1: 2 for
 * the usual 256); a link whose name is exactly those P digits points at a sub-shard,
 * any other link is an entry whose name is the rest. Reading needs no hashing: the
 * entries are the union of the leaves of the shard tree, listed here depth first in
 * link order. The bitfield is not needed to read and is not checked.
 *
 * Writing builds what ipfs-unixfs-importer (hamt-sharding, fanout 256) builds, so the
 * CIDs are equal: the bucket of a name at level L is byte L % 8 of the big-endian h1 of
 * murmur3-x64-128(name) (seed 0), then of murmur3(name || byte L / 8) past 8 levels; a
 * bucket holding one name is a link "XX" + name, one holding several is a sub-shard
 * "XX" built the same way one level down; links in bucket order; Data {HAMTShard,
 * bitfield: the occupied buckets as a big-endian integer without leading zero bytes,
 * hashType 0x22, fanout 256}; Tsize as for flat directories. */
#ifndef LS_CONTENT_UNIXFS_HAMT_H
#define LS_CONTENT_UNIXFS_HAMT_H

#include "content/dagpb/dagpb.h"
#include "content/unixfs/unixfs.h"

/** Murmur3-x64-64, the only hash function UnixFS shards use. */
#define UNIXFS_HAMT_MURMUR3 0x22
/** Largest fanout read (kubo and helia use 256). */
#define UNIXFS_HAMT_MAX_FANOUT 4096
/** Most shard nodes one listing fetches: a DAG that links one sub-shard from many
 *  buckets would otherwise be walked an exponential number of times. */
#define UNIXFS_HAMT_MAX_NODES (1u << 20)

/** Call `fn` for every entry of the sharded directory whose root shard is the decoded
 *  `pb`/`ud` (borrowed), fetching sub-shards through `src`. 0; LS_EPROTO for a link
 *  name without a valid bucket prefix, an entry name that is "." or ".." or holds '/'
 *  or NUL, a missing or bad fanout, or a sub-shard that is not a HAMT shard;
 *  LS_ENOTSUP for a hash function other than murmur3; LS_ELIMIT past
 *  UNIXFS_MAX_DEPTH levels or UNIXFS_HAMT_MAX_NODES nodes; the getter's or `fn`'s
 *  error. A shard's links are all checked before `fn` sees any entry of it. */
int unixfs_hamt_ls(const dagpb_node_t *pb, const unixfs_data_t *ud, const unixfs_source_t *src,
                   unixfs_dirent_fn fn, void *fctx);

/** Find `name` (NUL-terminated) in the sharded directory whose root shard is the
 *  decoded `pb`/`ud` (borrowed), reading only the sub-shards on the name's hash path
 *  (fanout 256, as kubo and helia write): 1 and `*out` the entry's CID; 0 if the
 *  directory has no such entry; LS_ENOTSUP for another fanout or hash (list it
 *  instead); errors as unixfs_hamt_ls(). */
int unixfs_hamt_find(const dagpb_node_t *pb, const unixfs_data_t *ud, const unixfs_source_t *src,
                     const char *name, cid_t *out);

/** One directory entry to shard (all borrowed). */
typedef struct unixfs_hamt_entry_t {
    const char *name;
    size_t name_len;
    unixfs_result_t child;
} unixfs_hamt_entry_t;

/** Build the shard tree of `n` entries (unique names), put every shard, set `*out` to
 *  the root. 0, put's error, LS_ETOOBIG, or LS_ELIMIT past UNIXFS_MAX_DEPTH levels. */
int unixfs_hamt_write(const unixfs_hamt_entry_t *e, size_t n, unixfs_put_fn put, void *ctx,
                      unixfs_result_t *out);

/** The bucket (0..255) of `name` at `level` of a fanout-256 shard tree. */
unsigned unixfs_hamt_bucket(const char *name, size_t len, unsigned level);

#endif
