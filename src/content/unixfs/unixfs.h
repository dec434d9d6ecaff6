/* unixfs — UnixFS v1 files and directories over dag-pb (ipfs/specs UNIXFS.md).
 *
 * Importing builds exactly the DAG kubo (`--cid-version=1 --raw-leaves
 * --chunker=size-262144`) and ipfs-unixfs-importer (cidVersion 1, rawLeaves,
 * fixedSize 262144, balanced({maxChildrenPerNode: 174}), reduceSingleLeafToSelf)
 * build, so the root CIDs are equal:
 *   - every chunk is a raw leaf (codec 0x55), CIDv1 sha2-256;
 *   - a file of one chunk (including the empty file: one empty chunk) is that leaf;
 *   - otherwise leaves are grouped in order into parents of at most max_links links,
 *     those parents again, until one node remains ("balanced" layout). A parent is a
 *     dag-pb node with links {Hash, Name "", Tsize} and Data {Type File, filesize,
 *     blocksizes (each child's file bytes)};
 *   - Tsize of a link is the cumulative size of the subgraph: raw leaf = its length,
 *     dag-pb node = its block length + the Tsizes of its links.
 * A directory is a dag-pb node with Data {Type Directory} and one named link per
 * entry, sorted by name bytes. A directory ipfs-unixfs-importer would shard (its
 * links-bytes estimate — name bytes + CID bytes of the entries that count, see
 * unixfs_dir_add_subdir() — over shard_threshold, 262144 by default: about 5,000
 * entries with short names) is written as a HAMT shard tree exactly as that importer
 * writes it (unixfs_hamt.h); sharded directories from kubo and helia are read too.
 * Modes and mtimes are not written.
 *
 * Blocks leave through a put callback (the caller stores them); reading goes
 * through a get callback, and every block got is checked against its CID. */
#ifndef LS_CONTENT_UNIXFS_H
#define LS_CONTENT_UNIXFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "content/crypt/crypt.h"
#include "content/unixfs/unixfs_data.h"
#include "lib/buf/buf.h"
#include "lib/cid/cid.h"
#include "lib/mem/mem.h"

#define UNIXFS_DEFAULT_MAX_LINKS 174
/** Largest max_links accepted (a parent of 8192 CIDv1 links is ~430 KiB). */
#define UNIXFS_MAX_LINKS 8192
/** Deepest DAG built or read; a balanced DAG of 174 links per node and 256 KiB
 *  chunks is 4 levels deep for 240 TB. */
#define UNIXFS_MAX_DEPTH 32
/** ipfs-unixfs-importer's shardSplitThresholdBytes (links-bytes estimate). */
#define UNIXFS_SHARD_THRESHOLD 262144

/** Import parameters; zero fields take kubo's values. */
typedef struct unixfs_params_t {
    size_t chunk_size;      /* 0: 262144; at most CHUNKER_MAX_SIZE */
    size_t max_links;       /* 0: 174; 2..UNIXFS_MAX_LINKS */
    size_t shard_threshold; /* 0: UNIXFS_SHARD_THRESHOLD; directories whose estimate
                               passes it are HAMT-sharded (helia's shardSplitThresholdBytes) */
} unixfs_params_t;

/** The root of an imported file or directory. */
typedef struct unixfs_result_t {
    cid_t cid;
    uint64_t tsize;    /* cumulative size: what a parent directory's link says */
    uint64_t filesize; /* file bytes (0 for a directory) */
} unixfs_result_t;

/** Receives one block to store: `block[0..len)` is borrowed for the call and may
 *  point into the caller's own fed bytes. Return 0 or a negative code that aborts
 *  the import and is returned by the importing call. */
typedef int (*unixfs_put_fn)(void *ctx, const cid_t *cid, const uint8_t *block, size_t len);

/* ---- files (unixfs_file.c) ---- */

typedef struct unixfs_file_t unixfs_file_t;

/** A streaming file importer. `params` may be NULL (defaults). Returns NULL only
 *  for invalid params; `put` and `ctx` are kept until unixfs_file_free(). */
unixfs_file_t *unixfs_file_new(const unixfs_params_t *params, unixfs_put_fn put, void *ctx);
void unixfs_file_free_(unixfs_file_t *f); /* NULL is a no-op */
#define unixfs_file_free(f) FREE_AND_NULL(unixfs_file_t, unixfs_file_free_, (f))

/** Feed the next `len` bytes of the file (borrowed; whole chunks are hashed and
 *  handed to put without copying). 0, or put's error / LS_ETOOBIG; after an error
 *  every later call returns the same error. */
int unixfs_file_write(unixfs_file_t *f, const uint8_t *p, size_t len);

/** End of file: put the remaining leaf and parents, set `*out` to the root.
 *  0 or the first error; LS_EINVAL if already finished. */
int unixfs_file_finish(unixfs_file_t *f, unixfs_result_t *out);

/* ---- directories (unixfs_dir.c) ---- */

typedef struct unixfs_dir_t unixfs_dir_t;

/** An empty directory under construction. Never NULL. */
unixfs_dir_t *unixfs_dir_new(void);
void unixfs_dir_free_(unixfs_dir_t *d); /* NULL is a no-op */
#define unixfs_dir_free(d) FREE_AND_NULL(unixfs_dir_t, unixfs_dir_free_, (d))

/** Shard the directory when its estimate passes `bytes` (0: UNIXFS_SHARD_THRESHOLD). */
void unixfs_dir_set_shard_threshold(unixfs_dir_t *d, size_t bytes);

/** Add entry `name` (copied; UTF-8 bytes, not empty, no '/', not "." or "..")
 *  pointing at `child`; it counts towards the sharding estimate. 0; LS_EINVAL for a
 *  bad name; LS_EEXIST if the name is already there. */
int unixfs_dir_add(unixfs_dir_t *d, const char *name, const unixfs_result_t *child);

/** unixfs_dir_add() for a directory imported in the same run. ipfs-unixfs-importer
 *  decides to shard while it builds the tree, when a subdirectory with entries has no
 *  CID yet, so only an `empty` subdirectory counts towards its parent's estimate; the
 *  same rule gives the same CIDs. */
int unixfs_dir_add_subdir(unixfs_dir_t *d, const char *name, const unixfs_result_t *child,
                          bool empty);

/** Entries added so far. */
size_t unixfs_dir_count(const unixfs_dir_t *d);

/** Encode the directory node (or, past the threshold, its HAMT shards), put it, set
 *  `*out`. 0, put's error or LS_ETOOBIG. */
int unixfs_dir_finish(unixfs_dir_t *d, unixfs_put_fn put, void *ctx, unixfs_result_t *out);

/** Import a regular file or, recursively, a directory from the local file system
 *  (`lester add [-r]`). Entries other than regular files and directories
 *  (symlinks, sockets, ...) are skipped; hidden files are included. 0; -errno
 *  from the file system; LS_ELIMIT past UNIXFS_MAX_DEPTH nested directories;
 *  LS_ECHANGED if a file's size or mtime changed while it was read, or the bytes
 *  read were not its size (no CID for bytes the file never held at once); or
 *  put's error. Directories are sharded past params->shard_threshold. */
int unixfs_add_path(const char *path, const unixfs_params_t *params, unixfs_put_fn put, void *ctx,
                    unixfs_result_t *out);

/** unixfs_add_path() with every regular file's bytes encrypted under `key` (borrowed;
 *  content/crypt) before they are chunked (`lester add -r --encrypt`): each file is an
 *  ordinary UnixFS file holding an LSENC stream. Names and the tree's shape stay
 *  visible. `key` NULL is unixfs_add_path(). Errors as unixfs_add_path(). */
int unixfs_add_path_encrypted(const char *path, const unixfs_params_t *params,
                              const crypt_key_t *key, unixfs_put_fn put, void *ctx,
                              unixfs_result_t *out);

/* ---- importing a tree a slice at a time (unixfs_tree.c) ---- */

typedef struct unixfs_tree_t unixfs_tree_t;

/** An import of a file or directory tree with these parameters (borrowed, like
 *  `key`, which may be NULL: see unixfs_add_path_encrypted()). Never NULL. */
unixfs_tree_t *unixfs_tree_new(const unixfs_params_t *params, const crypt_key_t *key,
                               unixfs_put_fn put, void *ctx);
/** Open the top `path` (a symlink there is followed). 0, -errno, or LS_EINVAL for
 *  neither a regular file nor a directory. */
int unixfs_tree_open(unixfs_tree_t *t, const char *path);
/** Import on, reading at most about `budget` bytes of file content (each directory
 *  entry counts some too). 0: call again; 1: done, `*out` is the root; or the
 *  error, sticky (as unixfs_add_path()). The same CIDs as unixfs_add_path(). */
int unixfs_tree_step(unixfs_tree_t *t, size_t budget, unixfs_result_t *out);
/** File bytes read and files finished so far. */
void unixfs_tree_progress(const unixfs_tree_t *t, uint64_t *bytes, uint64_t *files);
void unixfs_tree_free_(unixfs_tree_t *t); /* NULL is a no-op */
#define unixfs_tree_free(t) FREE_AND_NULL(unixfs_tree_t, unixfs_tree_free_, (t))

/* ---- reading (unixfs_read.c) ---- */

/** Fetch a block: append its bytes to `out` (empty on entry, maximum set by the
 *  reader). 0, LS_ENOENT if not available, or another negative code. The reader
 *  checks the bytes against `cid` itself. */
typedef int (*unixfs_get_fn)(void *ctx, const cid_t *cid, buf_t *out);

/** Receives file bytes in order, borrowed for the call. 0 or an error that stops
 *  the read and is returned. */
typedef int (*unixfs_write_fn)(void *ctx, const uint8_t *p, size_t len);

/** Receives one directory entry, borrowed for the call (name is NUL-terminated). */
typedef int (*unixfs_dirent_fn)(void *ctx, const char *name, const cid_t *cid, uint64_t tsize);

/** Where the reader gets blocks from. */
typedef struct unixfs_source_t {
    unixfs_get_fn get;
    void *ctx;
    /* true if `get` returns only bytes it checked against the CID (the blockstore
     * does): the reader then does not hash them a second time */
    bool verified;
} unixfs_source_t;

/** What a root is. */
typedef struct unixfs_stat_t {
    unixfs_type_t type; /* UNIXFS_FILE for raw leaves too; UNIXFS_DIRECTORY for a HAMT
                           shard too */
    uint64_t filesize;  /* file bytes; 0 for directories */
    size_t n_links;     /* entries of a directory (links of the root shard of a HAMT
                           one), children of a file node */
} unixfs_stat_t;

/** Stat the node at `root` (one block fetched). 0; LS_ECORRUPT if the block does
 *  not match its CID; LS_EPROTO if it is not valid dag-pb/UnixFS; LS_ENOTSUP for
 *  codecs other than raw and dag-pb or a hash other than sha2-256/identity; or
 *  the getter's error. */
int unixfs_stat(const cid_t *root, const unixfs_source_t *src, unixfs_stat_t *out);

/** Write bytes [offset, offset + length) of the file at `root` to `write`, in
 *  order (length UINT64_MAX: to the end; a range past the end is cut short).
 *  Subtrees wholly outside the range are skipped by their blocksizes and never
 *  fetched. Every block is verified; a node whose size disagrees with its parent's
 *  blocksizes is LS_EPROTO. -EISDIR for a directory; other errors as
 *  unixfs_stat(), LS_ELIMIT past UNIXFS_MAX_DEPTH, or write's error. */
int unixfs_cat(const cid_t *root, uint64_t offset, uint64_t length, const unixfs_source_t *src,
               unixfs_write_fn write, void *wctx);

/** unixfs_lookup()'s answer when the directory was read and holds no such name
 *  (LS_ENOENT from it means a block was not available). */
#define UNIXFS_NO_ENTRY 1

/** The entry `name` (NUL-terminated) of the directory at `dir`: 0 and `*out`, its
 *  first entry of that name; UNIXFS_NO_ENTRY if it has none; -ENOTDIR if `dir` is not
 *  a directory; other errors as unixfs_ls(). A HAMT-sharded directory is read only
 *  along the name's hash path (a few shards however large it is), not listed. */
int unixfs_lookup(const cid_t *dir, const unixfs_source_t *src, const char *name, cid_t *out);

/** Call `fn` for each entry of the directory at `root`, in link order. Names that
 *  are empty, "." or "..", or contain '/' or NUL make the directory LS_EPROTO
 *  (before `fn` is called at all). A HAMT-sharded directory is walked shard by shard
 *  (errors of unixfs_hamt_ls(): there the check is per shard). -ENOTDIR if not a
 *  directory; other errors as unixfs_stat(). */
int unixfs_ls(const cid_t *root, const unixfs_source_t *src, unixfs_dirent_fn fn, void *fctx);

/** Fetch the block `cid` through `src` into `out` (cleared first) and verify it.
 *  0, LS_ECORRUPT, LS_ENOTSUP, LS_ETOOBIG (> DAGPB_MAX_BLOCK) or the getter's
 *  error. Useful to Bitswap and the gateway as well. */
int unixfs_get_block(const unixfs_source_t *src, const cid_t *cid, buf_t *out);

#endif
