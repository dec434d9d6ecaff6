/* Fuzz the strict dag-pb decoder: anything it accepts must re-encode (links first)
 * to bytes that decode to the same node; when the input already had Links before
 * Data, the re-encoding must be byte-identical (one canonical form). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "content/dagpb/dagpb.h"
#include "lib/err/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
same_node(const dagpb_node_t *a, const dagpb_node_t *b)
{
    if (a->has_data != b->has_data || a->data_len != b->data_len || a->n_links != b->n_links)
        return false;
    if (a->data_len && memcmp(a->data, b->data, a->data_len) != 0)
        return false;
    for (size_t i = 0; i < a->n_links; i++) {
        const dagpb_link_t *x = &a->links[i], *y = &b->links[i];
        if (!cid_equal(&x->cid, &y->cid) || x->has_name != y->has_name ||
            x->has_tsize != y->has_tsize || x->tsize != y->tsize || x->name_len != y->name_len ||
            (x->name_len && memcmp(x->name, y->name, x->name_len) != 0))
            return false;
    }
    return true;
}

static bool
is_sorted(const dagpb_node_t *n)
{
    for (size_t i = 1; i < n->n_links; i++)
        if (dagpb_link_cmp(&n->links[i - 1], &n->links[i]) > 0)
            return false;
    return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dagpb_node_t node, again;
    buf_t out = BUF_INIT(BUF_UNLIMITED);

    if (dagpb_decode(data, size, &node) != 0)
        return 0;
    if (is_sorted(&node)) {
        if (dagpb_encode(&node, &out) != 0 || out.len != dagpb_encoded_len(&node))
            abort();
        if (dagpb_decode(out.data, out.len, &again) != 0 || !same_node(&node, &again))
            abort();
        bool data_last = !node.has_data || node.n_links == 0 ||
                         (size >= node.data_len && node.data + node.data_len == data + size);
        if (data_last && (out.len != size || memcmp(out.data, data, size) != 0))
            abort();
        dagpb_node_clear(&again);
    } else if (dagpb_encode(&node, &out) != LS_EINVAL) {
        abort();
    }
    dagpb_node_clear(&node);
    buf_free(&out);
    return 0;
}
