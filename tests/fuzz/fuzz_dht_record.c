/* fuzz_dht_record — the Lester signed-value and provider-metadata checks
 * (kad_lester_value_check, kad_provider_meta_check) and the lester selector on
 * arbitrary bytes. Properties: no crash, leak or sanitizer report; a value that
 * passes the check also passes the validator and selecting between it and itself
 * is stable. Random bytes almost never carry a valid signature, so the corpus seeds
 * (tests/fuzz/corpus/dht_record) are real signed values to mutate. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dht/kad_validate.h"
#include "lib/buf/buf.h"
#include "lib/err/err.h"
#include "lib/record/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW 1800000000000ull
#define FUZZ_KEY "/lester/fuzz"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *key = (const uint8_t *)FUZZ_KEY;
    size_t klen = sizeof FUZZ_KEY - 1;
    kad_lester_info_t info;
    buf_t payload = BUF_INIT(KAD_VALUE_MAX);
    peer_id_t prov;
    record_t *meta = NULL;

    int rc = kad_lester_value_check(NULL, FUZZ_NOW, key, klen, data, size, &info, &payload);
    if (rc == 0) {
        const kad_validator_t *v = kad_validator_lester();
        kadmsg_bytes_t two[2] = {{data, size}, {data, size}};
        if (v->validate(v->ctx, FUZZ_NOW, key, klen, data, size) != 0 ||
            v->select(v->ctx, key, klen, two, 2) != 0 ||
            v->may_replace(v->ctx, data, size, data, size) != LS_ESTALE)
            abort();
        peer_id_from_ed25519(&prov, info.pk);
        if (kad_provider_meta_check(FUZZ_NOW, key, klen, &prov, data, size, &meta) == 0)
            record_free(meta);
    }
    buf_free(&payload);
    /* metadata claims to be by the key inside it: take the provider from there */
    uint8_t pk[32] = {0};
    record_t *r = NULL;
    const uint8_t *p;
    size_t plen;
    if (record_decode(data, size, KAD_META_MAX, &r) == 0 &&
        record_get_bin(r, "pk", &p, &plen) == 0 && plen == 32)
        memcpy(pk, p, 32);
    record_free(r);
    peer_id_from_ed25519(&prov, pk);
    if (kad_provider_meta_check(FUZZ_NOW, key, klen, &prov, data, size, &meta) == 0)
        record_free(meta);
    const kad_validator_t *pkv = kad_validator_pk();
    (void)pkv->validate(pkv->ctx, FUZZ_NOW, data, size, data, size);
    return 0;
}
