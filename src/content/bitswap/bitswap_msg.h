/* bitswap_msg — the Bitswap wire message (ipfs/specs BITSWAP.md, "Wire Format"),
 * a strict hand-written protobuf codec for 1.0.0, 1.1.0 and 1.2.0.
 *
 *   message Message {
 *     message Wantlist {
 *       enum WantType { Block = 0; Have = 1; }
 *       message Entry { bytes block = 1;         // CID bytes
 *                       int32 priority = 2; bool cancel = 3;
 *                       WantType wantType = 4; bool sendDontHave = 5; }  // 4, 5: 1.2.0
 *       repeated Entry entries = 1; bool full = 2; }
 *     message Block { bytes prefix = 1; bytes data = 2; }                 // 1.1.0+
 *     enum BlockPresenceType { Have = 0; DontHave = 1; }
 *     message BlockPresence { bytes cid = 1; BlockPresenceType type = 2; } // 1.2.0
 *     Wantlist wantlist = 1;
 *     repeated bytes blocks = 2;           // 1.0.0: raw block data, CIDv0 implied
 *     repeated Block payload = 3;          // 1.1.0+
 *     repeated BlockPresence blockPresences = 4;
 *     int32 pendingBytes = 5; }
 *
 * On a stream every message is preceded by its length as an unsigned varint
 * (bitswap_msg_frame_decode); go and helia accept up to 4 MiB per message.
 *
 * Decoding is zero-copy for block data (bitswap_block_t.data points into the input,
 * which must outlive the decoded message); CIDs are decoded into cid_t values.
 * Protobuf rules kept: fields in any order, the last scalar wins, a repeated
 * Wantlist merges, unknown fields of wire types 0, 1, 2 and 5 are skipped. Refused
 * (LS_EINVAL): groups, truncation, lengths past the end, over-long varints, CIDs
 * that do not parse or do not fill their field, an entry or presence without a
 * CID, a payload Block without a valid prefix, enum values outside the spec.
 * Refused (LS_ETOOBIG): a message over BITSWAP_MSG_MAX_SIZE, more than
 * BITSWAP_MSG_MAX_ENTRIES entries, BITSWAP_MSG_MAX_BLOCKS blocks or
 * BITSWAP_MSG_MAX_PRESENCES presences, or one block over BITSWAP_MAX_BLOCK_SIZE.
 * Counts are checked before anything is allocated. */
#ifndef LS_CONTENT_BITSWAP_MSG_H
#define LS_CONTENT_BITSWAP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf/buf.h"
#include "lib/cid/cid.h"

#define BITSWAP_PROTO_100 "/ipfs/bitswap/1.0.0"
#define BITSWAP_PROTO_110 "/ipfs/bitswap/1.1.0"
#define BITSWAP_PROTO_120 "/ipfs/bitswap/1.2.0"
#define BITSWAP_PROTO_LEGACY "/ipfs/bitswap" /* the 1.0.0 wire format */

/** Largest message accepted or produced, without its length prefix (go, helia). */
#ifndef BITSWAP_MSG_MAX_SIZE
#define BITSWAP_MSG_MAX_SIZE (4u << 20)
#endif
/** Largest block carried (the IPFS block size limit is 2 MiB; 1 MiB recommended). */
#ifndef BITSWAP_MAX_BLOCK_SIZE
#define BITSWAP_MAX_BLOCK_SIZE (2u << 20)
#endif
#ifndef BITSWAP_MSG_MAX_ENTRIES
#define BITSWAP_MSG_MAX_ENTRIES 8192
#endif
#ifndef BITSWAP_MSG_MAX_BLOCKS
#define BITSWAP_MSG_MAX_BLOCKS 4096
#endif
#ifndef BITSWAP_MSG_MAX_PRESENCES
#define BITSWAP_MSG_MAX_PRESENCES 8192
#endif

/** Wire protocol versions, ordered so that a comparison tells the features. */
typedef enum bitswap_version_t {
    BITSWAP_V100 = 100, /* blocks field, no want-have, no presences */
    BITSWAP_V110 = 110, /* payload with CID prefixes */
    BITSWAP_V120 = 120, /* want-have, HAVE / DONT_HAVE */
} bitswap_version_t;

/** The version of protocol ID `proto` (NUL-terminated), or 0 if not Bitswap. */
int bitswap_version_of(const char *proto);

typedef enum bitswap_want_type_t {
    BITSWAP_WANT_BLOCK = 0,
    BITSWAP_WANT_HAVE = 1,
} bitswap_want_type_t;

typedef enum bitswap_presence_type_t {
    BITSWAP_HAVE = 0,
    BITSWAP_DONT_HAVE = 1,
} bitswap_presence_type_t;

/** A CID prefix: everything of a CID but the digest. */
typedef struct bitswap_prefix_t {
    int version;
    uint64_t codec;
    uint64_t mh_code;
    uint64_t mh_len;
} bitswap_prefix_t;

typedef struct bitswap_entry_t {
    cid_t cid;
    int32_t priority;
    bool cancel;
    uint8_t want_type; /* bitswap_want_type_t */
    bool send_dont_have;
} bitswap_entry_t;

/** A received block; `data` is borrowed from the input. `has_prefix` is false for
 *  the 1.0.0 blocks field. */
typedef struct bitswap_block_t {
    bool has_prefix;
    bitswap_prefix_t prefix;
    const uint8_t *data;
    size_t len;
} bitswap_block_t;

typedef struct bitswap_presence_t {
    cid_t cid;
    uint8_t type; /* bitswap_presence_type_t */
} bitswap_presence_t;

/** A decoded message. Arrays are owned (bitswap_msg_clear); blocks borrow. */
typedef struct bitswap_msg_t {
    bool full;
    bitswap_entry_t *entries;
    size_t nentries;
    bitswap_block_t *blocks; /* blocks and payload, in wire order */
    size_t nblocks;
    bitswap_presence_t *presences;
    size_t npresences;
    int32_t pending_bytes;
} bitswap_msg_t;

/** Decode `p[0..len)` into `*out` (any previous content is not freed: clear it
 *  first). 0 or an error as in the file comment; on error `*out` is empty. */
int bitswap_msg_decode(const uint8_t *p, size_t len, bitswap_msg_t *out);

/** Free the arrays of `m` and zero it. */
void bitswap_msg_clear(bitswap_msg_t *m);

/** Split one length-prefixed message off the front of a stream buffer: on success
 *  `*body` points into `p` and the return value is the bytes consumed (prefix and
 *  body). LS_EAGAIN if more bytes are needed; LS_ETOOBIG if the announced length is
 *  over `max` (0 means BITSWAP_MSG_MAX_SIZE); LS_EINVAL for a bad varint. */
int bitswap_msg_frame_decode(const uint8_t *p, size_t len, size_t max, const uint8_t **body,
                             size_t *body_len);

/** Longest binary CID bitswap_cid_encode() writes. */
#define BITSWAP_CID_MAX (4 * 9 + MULTIHASH_MAX_DIGEST)

/** Write the binary form of `cid` (as cid_to_bytes) to `out` without allocating;
 *  returns its length, or 0 if `cid` is not representable. */
size_t bitswap_cid_encode(const cid_t *cid, uint8_t out[static BITSWAP_CID_MAX]);

/* ---- CID prefixes ---- */

/** Append the prefix of `cid` (version, codec, multihash code and length, as
 *  varints) to `out`. 0; LS_EINVAL for an unrepresentable CID; LS_ETOOBIG. */
int bitswap_prefix_encode(const cid_t *cid, buf_t *out);

/** Decode a prefix that fills `p[0..len)` exactly. 0; LS_EINVAL if malformed, a
 *  version other than 0 or 1, a v0 prefix that is not dag-pb sha2-256/32, or a
 *  digest length over MULTIHASH_MAX_DIGEST. */
int bitswap_prefix_decode(const uint8_t *p, size_t len, bitswap_prefix_t *out);

/** Compute the CID of `data` under `prefix` (the hash is computed here, so the
 *  result always matches the bytes). 0; LS_ENOTSUP for a hash Lester cannot
 *  compute (only sha2-256/32 and identity); LS_EINVAL if an identity digest length
 *  does not match the data. */
int bitswap_prefix_cid(const bitswap_prefix_t *prefix, const uint8_t *data, size_t len, cid_t *out);

/* ---- encoding ---- */

/** Builds one message in canonical field order for a peer speaking `version`:
 *  1.0.0 puts blocks in field 2, later versions in payload; want-have entries,
 *  sendDontHave and presences exist only in 1.2.0. Default values are omitted, as
 *  go and helia do. bitswap_writer_size() is exact, so callers can batch to a size. */
typedef struct bitswap_writer_t {
    int version;
    bool full;
    buf_t wantlist; /* encoded Entry fields */
    buf_t blocks;   /* encoded field 2 or 3 */
    buf_t presences;
    size_t nentries, nblocks, npresences;
    size_t head;     /* bytes kept free at the start of `blocks` for the length prefix */
    size_t open_at;  /* bitswap_writer_block_begin(): where the open block starts */
    size_t open_end; /* ... and where its data must end; 0: no block open */
} bitswap_writer_t;

/** Room for the varint length prefix of a framed message. */
#define BITSWAP_FRAME_HEAD 8

void bitswap_writer_init(bitswap_writer_t *w, int version);
/** As bitswap_writer_init(), for a writer whose message is finished in place by
 *  bitswap_writer_finish_frame(): `blocks` starts with BITSWAP_FRAME_HEAD bytes of
 *  room for the length prefix and presences are appended after the blocks, so the
 *  framed message is built where the blocks were written (no copy). Such a writer
 *  takes no wants (LS_EINVAL): it is for serving. */
void bitswap_writer_init_framed(bitswap_writer_t *w, int version);
/** Release the buffers; the writer can be initialised again. */
void bitswap_writer_free(bitswap_writer_t *w);
/** Empty it for reuse (keeps the version and allocations). */
void bitswap_writer_reset(bitswap_writer_t *w);
/** True if nothing was added. */
bool bitswap_writer_is_empty(const bitswap_writer_t *w);
/** Bytes bitswap_writer_finish() would produce now. */
size_t bitswap_writer_size(const bitswap_writer_t *w);

/** Add a want (or, with `cancel`, a cancel) for `cid`. 0; LS_ENOTSUP for a
 *  want-have or sendDontHave to a peer before 1.2.0; LS_EINVAL for a bad CID. */
int bitswap_writer_want(bitswap_writer_t *w, const cid_t *cid, int32_t priority, int want_type,
                        bool send_dont_have, bool cancel);
/** Add block `data` of `cid` (its prefix for 1.1.0+). 0; LS_ETOOBIG past
 *  BITSWAP_MAX_BLOCK_SIZE; LS_EINVAL for a bad CID. */
int bitswap_writer_block(bitswap_writer_t *w, const cid_t *cid, const uint8_t *data, size_t len);
/** As bitswap_writer_block() with an explicit prefix (ignored by 1.0.0). */
int bitswap_writer_block_prefix(bitswap_writer_t *w, const bitswap_prefix_t *prefix,
                                const uint8_t *data, size_t len);
/** Start a block of `cid` whose `len` bytes the caller appends to w->blocks itself
 *  (e.g. a store read straight into it), then calls bitswap_writer_block_end().
 *  0; LS_ETOOBIG past BITSWAP_MAX_BLOCK_SIZE or the buffer's maximum; LS_EINVAL for
 *  a bad CID or a block already open. Nothing else may be added until the end. */
int bitswap_writer_block_begin(bitswap_writer_t *w, const cid_t *cid, size_t len);
/** Close the block opened by bitswap_writer_block_begin(). With `ok` and exactly
 *  `len` bytes appended it counts: 0. Otherwise the block is removed (headers and
 *  whatever was appended): LS_EINVAL. */
int bitswap_writer_block_end(bitswap_writer_t *w, bool ok);
/** Add a HAVE or DONT_HAVE for `cid`. 0; LS_ENOTSUP before 1.2.0. */
int bitswap_writer_presence(bitswap_writer_t *w, const cid_t *cid, int type);
/** Append the message to `out` and reset the writer. 0 or LS_ETOOBIG (the message
 *  would be over BITSWAP_MSG_MAX_SIZE or `out` is full; then nothing is written
 *  and the writer is unchanged). */
int bitswap_writer_finish(bitswap_writer_t *w, buf_t *out);
/** Finish a writer made by bitswap_writer_init_framed() in place: the framed message
 *  (varint length, then the same bytes bitswap_writer_finish() would give) is
 *  w->blocks.data[*start .. w->blocks.len). The caller copies or takes w->blocks
 *  (it may swap in another buffer of the same maximum), then calls
 *  bitswap_writer_reset(). 0; LS_EINVAL if the writer is not framed or has a block
 *  open; LS_ETOOBIG over BITSWAP_MSG_MAX_SIZE (the writer is unchanged then). */
int bitswap_writer_finish_frame(bitswap_writer_t *w, size_t *start);

/** Encode a decoded message again for `version` (what cannot be said in that
 *  version is dropped). 0 or an error of the writer. For tests and the fuzzer. */
int bitswap_msg_encode(const bitswap_msg_t *m, int version, buf_t *out);

#endif
