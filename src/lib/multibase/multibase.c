/* multibase — base58btc, base32 and base16 codecs; see multibase.h.
 * base32 follows RFC 4648 §6 without padding; base58btc is the Bitcoin alphabet,
 * one '1' per leading zero byte. */
#include "lib/multibase/multibase.h"

#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "lib/mem/mem.h"

typedef enum letter_case { CASE_LOWER, CASE_UPPER, CASE_ANY } letter_case_t;

static const char B58_ALPHABET[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
static const char B32_LOWER[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char B32_UPPER[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
static const char HEX_LOWER[] = "0123456789abcdef";
static const char HEX_UPPER[] = "0123456789ABCDEF";

/* ---- base58btc ---- */

static int
b58_value(char c)
{
    const char *hit = memchr(B58_ALPHABET, c, 58);

    return hit ? (int)(hit - B58_ALPHABET) : -1;
}

int
base58btc_encode(const uint8_t *p, size_t len, buf_t *out)
{
    size_t zeros = 0, used = 0;

    if (len > MULTIBASE_BASE58_MAX)
        return LS_ETOOBIG;
    while (zeros < len && p[zeros] == 0)
        zeros++;
    /* log(256)/log(58) < 1.38: digits needed for the remaining bytes */
    size_t size = (len - zeros) * 138 / 100 + 1;
    uint8_t *digits = ls_calloc(size, 1);
    for (size_t i = zeros; i < len; i++) {
        uint32_t carry = p[i];
        size_t j = 0;
        for (; (carry || j < used) && j < size; j++) {
            carry += 256u * digits[size - 1 - j];
            digits[size - 1 - j] = (uint8_t)(carry % 58);
            carry /= 58;
        }
        used = j;
    }
    int rc = LS_ETOOBIG;
    char *text = (char *)buf_extend(out, zeros + used);
    if (text) {
        for (size_t i = 0; i < zeros; i++)
            text[i] = '1';
        for (size_t i = 0; i < used; i++)
            text[zeros + i] = B58_ALPHABET[digits[size - used + i]];
        rc = 0;
    }
    free(digits);
    return rc;
}

int
base58btc_decode(const char *s, size_t len, buf_t *out)
{
    size_t zeros = 0, used = 0;
    int rc = LS_EINVAL;

    if (len > MULTIBASE_BASE58_MAX)
        return LS_ETOOBIG;
    while (zeros < len && s[zeros] == '1')
        zeros++;
    /* log(58)/log(256) < 0.733: bytes needed for the remaining digits */
    size_t size = (len - zeros) * 733 / 1000 + 1;
    uint8_t *bytes = ls_calloc(size, 1);
    for (size_t i = zeros; i < len; i++) {
        int v = b58_value(s[i]);
        if (v < 0)
            goto out;
        uint32_t carry = (uint32_t)v;
        size_t j = 0;
        for (; (carry || j < used) && j < size; j++) {
            carry += 58u * bytes[size - 1 - j];
            bytes[size - 1 - j] = (uint8_t)carry;
            carry >>= 8;
        }
        used = j;
    }
    rc = LS_ETOOBIG;
    uint8_t *dst = buf_extend(out, zeros + used);
    if (dst) {
        for (size_t i = 0; i < zeros; i++)
            dst[i] = 0;
        for (size_t i = 0; i < used; i++)
            dst[zeros + i] = bytes[size - used + i];
        rc = 0;
    }
out:
    free(bytes);
    return rc;
}

/* ---- base32 ---- */

static int
b32_value(char c, letter_case_t lc)
{
    if (c >= 'a' && c <= 'z' && lc != CASE_UPPER)
        return c - 'a';
    if (c >= 'A' && c <= 'Z' && lc != CASE_LOWER)
        return c - 'A';
    if (c >= '2' && c <= '7')
        return c - '2' + 26;
    return -1;
}

static int
b32_encode_case(const uint8_t *p, size_t len, buf_t *out, const char *alphabet)
{
    if (len > SIZE_MAX / 8)
        return LS_ETOOBIG;
    size_t nchars = (len * 8 + 4) / 5;
    char *text = (char *)buf_extend(out, nchars);
    if (!text)
        return LS_ETOOBIG;
    uint32_t acc = 0;
    unsigned nbits = 0;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8) | p[i];
        nbits += 8;
        while (nbits >= 5) {
            nbits -= 5;
            text[n++] = alphabet[(acc >> nbits) & 31];
        }
        acc &= (1u << nbits) - 1;
    }
    if (nbits > 0)
        text[n++] = alphabet[(acc << (5 - nbits)) & 31];
    return 0;
}

static int
b32_decode_case(const char *s, size_t len, buf_t *out, letter_case_t lc)
{
    size_t rem = len % 8;

    /* 1, 3 or 6 trailing characters cannot come from whole bytes */
    if (rem == 1 || rem == 3 || rem == 6)
        return LS_EINVAL;
    size_t old = out->len;
    uint8_t *dst = buf_extend(out, len / 8 * 5 + rem * 5 / 8);
    if (!dst)
        return LS_ETOOBIG;
    uint32_t acc = 0;
    unsigned nbits = 0;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b32_value(s[i], lc);
        if (v < 0)
            goto bad;
        acc = (acc << 5) | (uint32_t)v;
        nbits += 5;
        if (nbits >= 8) {
            nbits -= 8;
            dst[n++] = (uint8_t)(acc >> nbits);
        }
        acc &= (1u << nbits) - 1;
    }
    if (acc != 0) /* unused low bits must be zero, or two texts give one value */
        goto bad;
    return 0;
bad:
    buf_truncate(out, old);
    return LS_EINVAL;
}

int
base32_encode(const uint8_t *p, size_t len, buf_t *out)
{
    return b32_encode_case(p, len, out, B32_LOWER);
}

int
base32_decode(const char *s, size_t len, buf_t *out)
{
    return b32_decode_case(s, len, out, CASE_ANY);
}

/* ---- base16 ---- */

static int
hex_value(char c, letter_case_t lc)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f' && lc != CASE_UPPER)
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F' && lc != CASE_LOWER)
        return c - 'A' + 10;
    return -1;
}

static int
hex_encode_case(const uint8_t *p, size_t len, buf_t *out, const char *digits)
{
    if (len > SIZE_MAX / 2)
        return LS_ETOOBIG;
    char *text = (char *)buf_extend(out, len * 2);
    if (!text)
        return LS_ETOOBIG;
    for (size_t i = 0; i < len; i++) {
        text[2 * i] = digits[p[i] >> 4];
        text[2 * i + 1] = digits[p[i] & 15];
    }
    return 0;
}

static int
hex_decode_case(const char *s, size_t len, buf_t *out, letter_case_t lc)
{
    if (len % 2)
        return LS_EINVAL;
    size_t old = out->len;
    uint8_t *dst = buf_extend(out, len / 2);
    if (!dst)
        return LS_ETOOBIG;
    for (size_t i = 0; i < len / 2; i++) {
        int hi = hex_value(s[2 * i], lc), lo = hex_value(s[2 * i + 1], lc);
        if (hi < 0 || lo < 0) {
            buf_truncate(out, old);
            return LS_EINVAL;
        }
        dst[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int
base16_encode(const uint8_t *p, size_t len, buf_t *out)
{
    return hex_encode_case(p, len, out, HEX_LOWER);
}

int
base16_decode(const char *s, size_t len, buf_t *out)
{
    return hex_decode_case(s, len, out, CASE_ANY);
}

/* ---- multibase ---- */

int
multibase_encode(multibase_t base, const uint8_t *p, size_t len, buf_t *out)
{
    size_t old = out->len;
    int rc;

    switch (base) {
    case MULTIBASE_BASE16:
    case MULTIBASE_BASE16_UPPER:
    case MULTIBASE_BASE32:
    case MULTIBASE_BASE32_UPPER:
    case MULTIBASE_BASE58BTC:
        break;
    default:
        return LS_ENOTSUP;
    }
    if ((rc = buf_append_byte(out, (uint8_t)base)) < 0)
        return rc;
    switch (base) {
    case MULTIBASE_BASE16:
        rc = hex_encode_case(p, len, out, HEX_LOWER);
        break;
    case MULTIBASE_BASE16_UPPER:
        rc = hex_encode_case(p, len, out, HEX_UPPER);
        break;
    case MULTIBASE_BASE32:
        rc = b32_encode_case(p, len, out, B32_LOWER);
        break;
    case MULTIBASE_BASE32_UPPER:
        rc = b32_encode_case(p, len, out, B32_UPPER);
        break;
    default:
        rc = base58btc_encode(p, len, out);
        break;
    }
    if (rc < 0)
        buf_truncate(out, old);
    return rc;
}

int
multibase_decode(const char *s, size_t len, buf_t *out, multibase_t *which)
{
    int rc;

    if (len == 0)
        return LS_EINVAL;
    switch (s[0]) {
    case MULTIBASE_BASE16:
        rc = hex_decode_case(s + 1, len - 1, out, CASE_LOWER);
        break;
    case MULTIBASE_BASE16_UPPER:
        rc = hex_decode_case(s + 1, len - 1, out, CASE_UPPER);
        break;
    case MULTIBASE_BASE32:
        rc = b32_decode_case(s + 1, len - 1, out, CASE_LOWER);
        break;
    case MULTIBASE_BASE32_UPPER:
        rc = b32_decode_case(s + 1, len - 1, out, CASE_UPPER);
        break;
    case MULTIBASE_BASE58BTC:
        rc = base58btc_decode(s + 1, len - 1, out);
        break;
    default:
        return LS_ENOTSUP;
    }
    if (rc == 0 && which)
        *which = (multibase_t)s[0];
    return rc;
}
