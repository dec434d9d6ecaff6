#include "lib/err/err.h"

#include <string.h>

const char *
ls_strerror(int code)
{
    switch (code) {
    case LS_OK: return "success";
    case LS_ETOOBIG: return "input larger than allowed";
    case LS_EBADSIG: return "signature does not verify";
    case LS_ENONCANON: return "encoding is not canonical";
    case LS_EPASSPHRASE: return "wrong or missing passphrase";
    case LS_ELOCKED: return "locked by another process";
    case LS_ECONFIG: return "invalid configuration";
    case LS_EPEERID: return "remote peer did not prove the expected identity";
    case LS_EEXPIRED: return "expired";
    case LS_ECLOSED: return "closed";
    case LS_ELIMIT: return "resource limit reached";
    case LS_ESTALE: return "older than the value already held";
    case LS_ECORRUPT: return "data is corrupt";
    case LS_ENOTRUNNING: return "the daemon is not running";
    case LS_ECHANGED: return "the file changed while it was being added";
    case LS_EAGAIN: return "incomplete input";
    case LS_EINVAL: return "malformed input";
    case LS_EPROTO: return "protocol error";
    default: break;
    }
    if (code < 0 && code > LS_EBASE)
        return strerror(-code);
    return "unknown error";
}
