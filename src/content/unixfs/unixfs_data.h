/* unixfs_data — the UnixFS `Data` protobuf carried in a dag-pb node's Data field
 * (ipfs/specs UNIXFS.md, "Data Format"):
 *
 *   message Data { required DataType Type = 1; optional bytes Data = 2;
 *     optional uint64 filesize = 3; repeated uint64 blocksizes = 4;
 *     optional uint64 hashType = 5; optional uint64 fanout = 6;
 *     optional uint32 mode = 7; optional UnixTime mtime = 8; }
 *   message UnixTime { required int64 Seconds = 1; optional fixed32 FractionalNanoseconds = 2; }
 *
 * Decoding takes fields in any order (protobuf rules) but rejects a repeated
 * singular field, a wrong wire type, a missing Type, a Type outside the enum and
 * non-minimal varints; unknown fields are skipped. blocksizes may be packed or not.
 * Encoding writes fields in field-number order, blocksizes unpacked, as go-unixfs
 * and ipfs-unixfs do, so Lester's blocks hash like theirs. */
#ifndef LS_CONTENT_UNIXFS_DATA_H
#define LS_CONTENT_UNIXFS_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf/buf.h"

typedef enum unixfs_type_t {
    UNIXFS_RAW = 0,
    UNIXFS_DIRECTORY = 1,
    UNIXFS_FILE = 2,
    UNIXFS_METADATA = 3,
    UNIXFS_SYMLINK = 4,
    UNIXFS_HAMT_SHARD = 5,
} unixfs_type_t;

/** A decoded Data message. After unixfs_data_decode(), `data` points into the
 *  decoded bytes (borrowed) and `blocksizes` is owned (unixfs_data_clear()). To
 *  encode, fill it by hand; `blocksizes` is then borrowed. */
typedef struct unixfs_data_t {
    unixfs_type_t type;
    const uint8_t *data;
    size_t data_len;
    uint64_t filesize;
    uint64_t *blocksizes;
    size_t n_blocksizes;
    uint64_t hash_type;
    uint64_t fanout;
    uint32_t mode;
    int64_t mtime_secs;
    uint32_t mtime_nsecs;
    bool has_data, has_filesize, has_hash_type, has_fanout, has_mode, has_mtime, has_mtime_nsecs;
} unixfs_data_t;

/** Decode `p[0..len)` into `*out` (overwritten). 0; LS_EINVAL if malformed (see
 *  above); LS_ETOOBIG if len > DAGPB_MAX_BLOCK. On error `*out` is empty. */
int unixfs_data_decode(const uint8_t *p, size_t len, unixfs_data_t *out);

/** Free what unixfs_data_decode() allocated; `*d` is zeroed. */
void unixfs_data_clear(unixfs_data_t *d);

/** Append the encoding of `d` to `out`. 0 or LS_ETOOBIG (then `out` is unchanged). */
int unixfs_data_encode(const unixfs_data_t *d, buf_t *out);

#endif
