/* unixfs_hamt — listing HAMT-sharded directories; see unixfs_hamt.h. */
#include "content/unixfs/unixfs_hamt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"

#define WRITE_FANOUT_READ 256 /* the fanout whose buckets unixfs_hamt_bucket() gives */

typedef struct hamt_walk_t {
    const unixfs_source_t *src;
    unixfs_dirent_fn fn;
    void *fctx;
    size_t nodes;
} hamt_walk_t;

/* Hex digits of fanout - 1: the width of every bucket prefix (go-unixfs, ipfs-unixfs). */
static size_t
prefix_len(uint64_t fanout)
{
    size_t n = 1;
    for (uint64_t v = fanout - 1; v >= 16; v >>= 4)
        n++;
    return n;
}

static int
shard_prefix(const unixfs_data_t *ud, size_t *pad)
{
    if (ud->type != UNIXFS_HAMT_SHARD || !ud->has_fanout || ud->fanout < 2 ||
        ud->fanout > UNIXFS_HAMT_MAX_FANOUT || (ud->fanout & (ud->fanout - 1)) != 0 ||
        !ud->has_hash_type)
        return LS_EPROTO;
    if (ud->hash_type != UNIXFS_HAMT_MURMUR3)
        return LS_ENOTSUP;
    *pad = prefix_len(ud->fanout);
    return 0;
}

/* The first `pad` bytes are upper-case hex naming a bucket below `fanout`. */
static bool
bucket_ok(const uint8_t *name, size_t pad, uint64_t fanout)
{
    uint64_t v = 0;
    for (size_t i = 0; i < pad; i++) {
        uint8_t c = name[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return false;
        v = v * 16 + (uint64_t)d;
    }
    return v < fanout;
}

static bool
entry_ok(const uint8_t *name, size_t len)
{
    if (memchr(name, '/', len) || memchr(name, '\0', len))
        return false;
    return !(len == 1 && name[0] == '.') && !(len == 2 && name[0] == '.' && name[1] == '.');
}

static int
links_ok(const dagpb_node_t *pb, size_t pad, uint64_t fanout)
{
    for (size_t i = 0; i < pb->n_links; i++) {
        const dagpb_link_t *l = &pb->links[i];
        if (!l->has_name || l->name_len < pad || !bucket_ok(l->name, pad, fanout) ||
            !entry_ok(l->name + pad, l->name_len - pad))
            return LS_EPROTO;
    }
    return 0;
}

static int walk_shard(hamt_walk_t *w, const dagpb_node_t *pb, const unixfs_data_t *ud, int depth);

static int
walk_sub(hamt_walk_t *w, const cid_t *cid, int depth)
{
    if (depth > UNIXFS_MAX_DEPTH || ++w->nodes > UNIXFS_HAMT_MAX_NODES)
        return LS_ELIMIT;
    if (cid->codec != CID_CODEC_DAG_PB)
        return LS_EPROTO;
    buf_t block = BUF_INIT(DAGPB_MAX_BLOCK);
    dagpb_node_t pb;
    unixfs_data_t ud;
    memset(&ud, 0, sizeof ud);
    int rc = unixfs_get_block(w->src, cid, &block);
    if (rc == 0 && dagpb_decode(block.data, block.len, &pb) < 0)
        rc = LS_EPROTO;
    else if (rc == 0) {
        if (!pb.has_data || unixfs_data_decode(pb.data, pb.data_len, &ud) < 0)
            rc = LS_EPROTO;
        else
            rc = walk_shard(w, &pb, &ud, depth);
        unixfs_data_clear(&ud);
        dagpb_node_clear(&pb);
    }
    buf_free(&block);
    return rc;
}

static int
walk_shard(hamt_walk_t *w, const dagpb_node_t *pb, const unixfs_data_t *ud, int depth)
{
    size_t pad;
    int rc = shard_prefix(ud, &pad);
    if (rc == 0)
        rc = links_ok(pb, pad, ud->fanout);
    for (size_t i = 0; rc == 0 && i < pb->n_links; i++) {
        const dagpb_link_t *l = &pb->links[i];
        if (l->name_len == pad) {
            rc = walk_sub(w, &l->cid, depth + 1);
            continue;
        }
        char *name = ls_strndup((const char *)l->name + pad, l->name_len - pad);
        rc = w->fn(w->fctx, name, &l->cid, l->has_tsize ? l->tsize : 0);
        free(name);
    }
    return rc;
}

int
unixfs_hamt_ls(const dagpb_node_t *pb, const unixfs_data_t *ud, const unixfs_source_t *src,
               unixfs_dirent_fn fn, void *fctx)
{
    hamt_walk_t w = {.src = src, .fn = fn, .fctx = fctx, .nodes = 1};
    return walk_shard(&w, pb, ud, 0);
}

/* ---- finding one name ---- */

/* A loaded sub-shard. */
typedef struct shard_t {
    buf_t block;
    dagpb_node_t pb;
    unixfs_data_t ud;
    bool loaded;
} shard_t;

static void
shard_clear(shard_t *sh)
{
    if (sh->loaded) {
        unixfs_data_clear(&sh->ud);
        dagpb_node_clear(&sh->pb);
    }
    buf_free(&sh->block);
    sh->loaded = false;
}

static int
shard_load(const unixfs_source_t *src, const cid_t *cid, shard_t *sh)
{
    shard_clear(sh);
    buf_init(&sh->block, DAGPB_MAX_BLOCK);
    memset(&sh->ud, 0, sizeof sh->ud);
    if (cid->codec != CID_CODEC_DAG_PB)
        return LS_EPROTO;
    int rc = unixfs_get_block(src, cid, &sh->block);
    if (rc < 0)
        return rc;
    if (dagpb_decode(sh->block.data, sh->block.len, &sh->pb) < 0)
        return LS_EPROTO;
    if (!sh->pb.has_data || unixfs_data_decode(sh->pb.data, sh->pb.data_len, &sh->ud) < 0) {
        dagpb_node_clear(&sh->pb);
        return LS_EPROTO;
    }
    sh->loaded = true;
    return 0;
}

/* In one shard: the link of `name`'s bucket at `level`. 1: the entry (`*out`);
 * 2: a sub-shard (`*out`); 0: none. */
static int
shard_pick(const dagpb_node_t *pb, const char *name, size_t len, unsigned level, cid_t *out)
{
    char pre[3];
    snprintf(pre, sizeof pre, "%02X", unixfs_hamt_bucket(name, len, level));
    for (size_t i = 0; i < pb->n_links; i++) {
        const dagpb_link_t *l = &pb->links[i];
        if (memcmp(l->name, pre, 2) != 0)
            continue;
        if (l->name_len == 2 || (l->name_len == 2 + len && memcmp(l->name + 2, name, len) == 0)) {
            *out = l->cid;
            return l->name_len == 2 ? 2 : 1;
        }
    }
    return 0;
}

int
unixfs_hamt_find(const dagpb_node_t *pb, const unixfs_data_t *ud, const unixfs_source_t *src,
                 const char *name, cid_t *out)
{
    shard_t sh = {0};
    size_t len = strlen(name), pad;
    int rc = 0;
    for (unsigned level = 0; rc == 0; level++) {
        if (level > UNIXFS_MAX_DEPTH) {
            rc = LS_ELIMIT;
            break;
        }
        if ((rc = shard_prefix(ud, &pad)) < 0 || (rc = links_ok(pb, pad, ud->fanout)) < 0)
            break;
        if (ud->fanout != WRITE_FANOUT_READ) {
            rc = LS_ENOTSUP; /* the caller lists the directory instead */
            break;
        }
        cid_t next;
        rc = shard_pick(pb, name, len, level, &next);
        if (rc == 1)
            *out = next;
        if (rc != 2)
            break;
        if ((rc = shard_load(src, &next, &sh)) == 0) {
            pb = &sh.pb;
            ud = &sh.ud;
        }
    }
    shard_clear(&sh);
    return rc;
}

/* ---- writing ---- */

#define WRITE_FANOUT 256

static uint64_t
rotl64(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static uint64_t
fmix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    return k ^ (k >> 33);
}

static uint64_t
le64(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

/* h1 of MurmurHash3_x64_128 with seed 0 (the reference algorithm; h2 only feeds h1). */
static uint64_t
murmur3_h1(const uint8_t *p, size_t len)
{
    const uint64_t c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL;
    uint64_t h1 = 0, h2 = 0, k1, k2;
    size_t blocks = len / 16, tail = len % 16;
    for (size_t i = 0; i < blocks; i++) {
        k1 = le64(p + 16 * i, 8) * c1;
        h1 ^= rotl64(k1, 31) * c2;
        h1 = (rotl64(h1, 27) + h2) * 5 + 0x52dce729;
        k2 = le64(p + 16 * i + 8, 8) * c2;
        h2 ^= rotl64(k2, 33) * c1;
        h2 = (rotl64(h2, 31) + h1) * 5 + 0x38495ab5;
    }
    const uint8_t *t = p + blocks * 16;
    if (tail > 8) {
        k2 = le64(t + 8, tail - 8) * c2;
        h2 ^= rotl64(k2, 33) * c1;
    }
    if (tail > 0) {
        k1 = le64(t, LS_MIN(tail, (size_t)8)) * c1;
        h1 ^= rotl64(k1, 31) * c2;
    }
    h1 ^= len;
    h2 ^= len;
    h1 += h2;
    h2 += h1;
    h1 = fmix64(h1);
    h2 = fmix64(h2);
    return h1 + h2;
}

unsigned
unixfs_hamt_bucket(const char *name, size_t len, unsigned level)
{
    unsigned round = level / 8;
    uint64_t h1;
    if (round == 0) {
        h1 = murmur3_h1((const uint8_t *)name, len);
    } else { /* hamt-sharding's InfiniteHash: rehash name || depth for 64 more bits */
        uint8_t *p = ls_malloc(len + 1);
        memcpy(p, name, len);
        p[len] = (uint8_t)round;
        h1 = murmur3_h1(p, len + 1);
        free(p);
    }
    return (unsigned)(h1 >> (56 - 8 * (level % 8))) & 0xff;
}

/* The occupied buckets as a big-endian integer without leading zero bytes. */
static size_t
bitfield(const size_t count[WRITE_FANOUT], uint8_t out[WRITE_FANOUT / 8])
{
    size_t top = 0;
    memset(out, 0, WRITE_FANOUT / 8);
    for (size_t i = 0; i < WRITE_FANOUT; i++)
        if (count[i]) {
            out[WRITE_FANOUT / 8 - 1 - i / 8] |= (uint8_t)(1u << (i % 8));
            top = i;
        }
    size_t n = top / 8 + 1;
    memmove(out, out + WRITE_FANOUT / 8 - n, n);
    return n;
}

static int write_shard(const unixfs_hamt_entry_t **set, size_t n, unsigned level, unixfs_put_fn put,
                       void *ctx, unixfs_result_t *out);

/* Encode and put one shard node of `links` with the buckets in `count`. */
static int
put_shard(dagpb_link_t *links, size_t n_links, const size_t count[WRITE_FANOUT], unixfs_put_fn put,
          void *ctx, unixfs_result_t *out)
{
    uint8_t bits[WRITE_FANOUT / 8];
    size_t bits_len = bitfield(count, bits);
    unixfs_data_t ud = {.type = UNIXFS_HAMT_SHARD,
                        .data = bits,
                        .data_len = bits_len,
                        .has_data = true,
                        .hash_type = UNIXFS_HAMT_MURMUR3,
                        .has_hash_type = true,
                        .fanout = WRITE_FANOUT,
                        .has_fanout = true};
    buf_t data = BUF_INIT(DAGPB_MAX_BLOCK), block = BUF_INIT(DAGPB_MAX_BLOCK);
    int rc = unixfs_data_encode(&ud, &data);
    dagpb_node_t node = {.links = links,
                         .n_links = n_links,
                         .data = data.data,
                         .data_len = data.len,
                         .has_data = true};
    if (rc == 0)
        rc = dagpb_encode(&node, &block);
    if (rc == 0) {
        uint64_t tsize = block.len;
        for (size_t i = 0; i < n_links; i++)
            tsize += links[i].tsize;
        cid_v1_sha256(&out->cid, CID_CODEC_DAG_PB, block.data, block.len);
        out->tsize = tsize;
        out->filesize = 0;
        rc = put(ctx, &out->cid, block.data, block.len);
    }
    buf_free(&data);
    buf_free(&block);
    return rc;
}

/* Group `set` by bucket at `level` (a stable counting sort) into `sorted`. */
static void
group(const unixfs_hamt_entry_t **set, size_t n, unsigned level, size_t count[WRITE_FANOUT],
      const unixfs_hamt_entry_t **sorted)
{
    unsigned *b = ls_malloc(n * sizeof *b);
    size_t start[WRITE_FANOUT];
    memset(count, 0, WRITE_FANOUT * sizeof *count);
    for (size_t i = 0; i < n; i++)
        count[b[i] = unixfs_hamt_bucket(set[i]->name, set[i]->name_len, level)]++;
    for (size_t i = 0, at = 0; i < WRITE_FANOUT; at += count[i], i++)
        start[i] = at;
    for (size_t i = 0; i < n; i++)
        sorted[start[b[i]]++] = set[i];
    free(b);
}

static int
write_shard(const unixfs_hamt_entry_t **set, size_t n, unsigned level, unixfs_put_fn put, void *ctx,
            unixfs_result_t *out)
{
    if (level > UNIXFS_MAX_DEPTH)
        return LS_ELIMIT;
    size_t count[WRITE_FANOUT], n_links = 0;
    const unixfs_hamt_entry_t **sorted = ls_malloc(n * sizeof *sorted);
    group(set, n, level, count, sorted);
    dagpb_link_t *links = ls_calloc(n, sizeof *links);
    char **names = ls_calloc(n, sizeof *names);
    int rc = 0;
    for (size_t slot = 0, at = 0; rc == 0 && slot < WRITE_FANOUT; at += count[slot], slot++) {
        if (!count[slot])
            continue;
        const unixfs_hamt_entry_t *e = sorted[at];
        unixfs_result_t sub = e->child;
        bool leaf = count[slot] == 1;
        if (!leaf)
            rc = write_shard(sorted + at, count[slot], level + 1, put, ctx, &sub);
        size_t len = 2 + (leaf ? e->name_len : 0), k = n_links++;
        names[k] = ls_malloc(len + 1);
        snprintf(names[k], 3, "%02X", (unsigned)slot);
        if (leaf)
            memcpy(names[k] + 2, e->name, e->name_len);
        links[k] = (dagpb_link_t){.cid = sub.cid,
                                  .name = (const uint8_t *)names[k],
                                  .name_len = len,
                                  .has_name = true,
                                  .tsize = sub.tsize,
                                  .has_tsize = true};
    }
    if (rc == 0)
        rc = put_shard(links, n_links, count, put, ctx, out);
    for (size_t i = 0; i < n_links; i++)
        free(names[i]);
    free(names);
    free(links);
    free(sorted);
    return rc;
}

int
unixfs_hamt_write(const unixfs_hamt_entry_t *e, size_t n, unixfs_put_fn put, void *ctx,
                  unixfs_result_t *out)
{
    const unixfs_hamt_entry_t **set = ls_malloc((n ? n : 1) * sizeof *set);
    for (size_t i = 0; i < n; i++)
        set[i] = &e[i];
    int rc = write_shard(set, n, 0, put, ctx, out);
    free(set);
    return rc;
}
