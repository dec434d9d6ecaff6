/* Fuzz multiaddr decoding in both forms. Bytes that parse must print, re-parse to
 * the same bytes and print the same text; text that parses likewise. Also runs the
 * transport helpers on everything accepted. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "lib/multiaddr/multiaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
exercise_helpers(const multiaddr_t *ma)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    peer_id_t id;
    uint64_t code;
    const uint8_t *v;
    size_t vlen;

    for (size_t i = 0; i < multiaddr_component_count(ma); i++)
        if (multiaddr_component(ma, i, &code, &v, &vlen) != 0)
            abort();
    if (multiaddr_to_sockaddr(ma, &ss, &sl) == 0) {
        multiaddr_t *back = multiaddr_from_sockaddr_tcp((struct sockaddr *)&ss);
        if (!back)
            abort();
        multiaddr_free(back);
    }
    (void)multiaddr_is_loopback(ma);
    (void)multiaddr_is_private(ma);
    multiaddr_t *bare = multiaddr_without_peer_id(ma);
    /* re-adding the id gives the original back, unless what remains also ends in
     * /p2p (then the ids conflict and NULL is the documented answer) */
    peer_id_t inner;
    if (multiaddr_get_peer_id(ma, &id) && bare && !multiaddr_get_peer_id(bare, &inner)) {
        multiaddr_t *with = multiaddr_with_peer_id(bare, &id);
        if (!with || !multiaddr_equal(with, ma))
            abort();
        multiaddr_free(with);
    }
    multiaddr_free(bare);
}

/* `ma` printed and re-parsed must give the same bytes and the same text. */
static void
check_round_trip(const multiaddr_t *ma)
{
    char *s1 = multiaddr_to_str(ma), *s2;
    multiaddr_t *again = NULL;

    if (multiaddr_parse(s1, &again) != 0 || !multiaddr_equal(ma, again))
        abort();
    s2 = multiaddr_to_str(again);
    if (strcmp(s1, s2) != 0)
        abort();
    free(s1);
    free(s2);
    multiaddr_free(again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    multiaddr_t *ma = NULL;
    char *s;

    if (multiaddr_from_bytes(data, size, &ma) == 0) {
        check_round_trip(ma);
        exercise_helpers(ma);
        multiaddr_free(ma);
    }
    s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    if (multiaddr_parse(s, &ma) == 0) {
        check_round_trip(ma);
        exercise_helpers(ma);
        multiaddr_free(ma);
    }
    free(s);
    return 0;
}
