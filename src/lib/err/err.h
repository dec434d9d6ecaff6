/* err — Lester's error codes.
 *
 * 0 is success, a positive value a count, a negative value an error: -errno for
 * system errors, and Lester's own codes (below LS_EBASE) for what errno cannot say.
 * ls_strerror() names every code. Predicates return bool instead. */
#ifndef LS_LIB_ERR_H
#define LS_LIB_ERR_H

#include <errno.h>

enum {
    LS_OK = 0,
    /* system codes Lester uses with a protocol meaning */
    LS_EINVAL = -EINVAL,       /* malformed input */
    LS_EAGAIN = -EAGAIN,       /* input is a valid prefix: need more bytes */
    LS_ENOMEM = -ENOMEM,
    LS_ENOENT = -ENOENT,       /* no such thing */
    LS_EEXIST = -EEXIST,       /* already exists */
    LS_EACCES = -EACCES,       /* not allowed */
    LS_EIO = -EIO,
    LS_EPROTO = -EPROTO,       /* the peer broke the protocol */
    LS_ETIMEDOUT = -ETIMEDOUT,
    LS_ECONNRESET = -ECONNRESET,
    LS_ENOTSUP = -ENOTSUP,     /* valid but not supported (codec, key type, ...) */
    LS_ERANGE = -ERANGE,       /* a number out of range */

    /* Lester's own codes */
    LS_EBASE = -1000,
    LS_ETOOBIG = -1001,        /* larger than the limit for this kind of input */
    LS_EBADSIG = -1002,        /* signature does not verify */
    LS_ENONCANON = -1003,      /* valid encoding but not the canonical one */
    LS_EPASSPHRASE = -1004,    /* wrong passphrase, or one needed and not given */
    LS_ELOCKED = -1005,        /* another process holds the lock */
    LS_ECONFIG = -1006,        /* invalid configuration */
    LS_EPEERID = -1007,        /* remote did not prove the expected identity */
    LS_EEXPIRED = -1008,       /* record or message past its expiry */
    LS_ECLOSED = -1009,        /* the stream/connection/object is closed */
    LS_ELIMIT = -1010,         /* a resource limit was reached (streams, peers, rate) */
    LS_ESTALE = -1011,         /* older than what we hold (sequence numbers) */
    LS_ECORRUPT = -1012,       /* data on disk is damaged */
    LS_ENOTRUNNING = -1013,    /* the daemon is not running */
    LS_ECHANGED = -1014,       /* a file changed while it was being read (add) */
    LS_ELAST = -1015
};

/** A short English description of `code` (a negative error, or 0). Never NULL;
 *  the string is static. */
const char *ls_strerror(int code);

#endif
