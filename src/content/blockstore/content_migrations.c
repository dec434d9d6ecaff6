#include "content/blockstore/content_migrations.h"

#include "lib/mem/mem.h"

/* Blocks are keyed by an integer rowid; the multihash is a UNIQUE index beside it
 * (ANCHORS.md: random 32-byte keys as the table key insert ~20x slower). pin_refs is
 * the materialised mark set of every pin: (pin, block) pairs, one per distinct block
 * of the pin's DAG, so GC and "is this pinned" are index lookups, not DAG walks. */
const db_migration_t content_migrations[] = {
    { 400, "blockstore index and pins",
      "CREATE TABLE blocks ("
      "  id INTEGER PRIMARY KEY,"
      "  mh BLOB NOT NULL UNIQUE,"          /* binary multihash: the file's key */
      "  codec INTEGER NOT NULL,"           /* codec of the CID it was put with */
      "  size INTEGER NOT NULL,"            /* bytes */
      "  added_at INTEGER NOT NULL,"        /* unix ms */
      "  present INTEGER NOT NULL DEFAULT 1);" /* 0: pinned but file lost (corrupt) */
      "CREATE TABLE pins ("
      "  id INTEGER PRIMARY KEY,"
      "  cid BLOB NOT NULL UNIQUE,"         /* binary CID */
      "  recursive INTEGER NOT NULL,"
      "  created_at INTEGER NOT NULL);"
      "CREATE TABLE pin_refs ("
      "  pin_id INTEGER NOT NULL REFERENCES pins(id) ON DELETE CASCADE,"
      "  block_id INTEGER NOT NULL REFERENCES blocks(id) ON DELETE CASCADE,"
      "  PRIMARY KEY (pin_id, block_id)) WITHOUT ROWID;"
      "CREATE INDEX pin_refs_block ON pin_refs(block_id);"
      "CREATE TABLE blockstore_state ("
      "  key TEXT PRIMARY KEY,"
      "  value INTEGER NOT NULL) WITHOUT ROWID;" },
    /* Pack files (blockstore.h): a block's location is (pack, off); NULL pack is a
     * file of the flatfs layout, so stores from before keep working unchanged.
     * packs.size is the length up to which every record is indexed or garbage
     * (repair scans from there); dead marks a pack a compaction has emptied and
     * is about to unlink. */
    { 401, "blockstore pack files",
      "ALTER TABLE blocks ADD COLUMN pack INTEGER;"
      "ALTER TABLE blocks ADD COLUMN off INTEGER;"
      "CREATE INDEX blocks_pack ON blocks(pack) WHERE pack IS NOT NULL;"
      "CREATE TABLE packs ("
      "  id INTEGER PRIMARY KEY,"
      "  size INTEGER NOT NULL,"
      "  dead INTEGER NOT NULL DEFAULT 0);" },
};
const size_t content_migrations_len = LS_ARRAY_LEN(content_migrations);
