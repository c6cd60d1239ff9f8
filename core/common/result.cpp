#include "core/common/result.h"

namespace sb {

const char *errorCodeName(ErrorCode code)
{
    switch (code) {
    case ErrorCode::InvalidInput:
        return "invalid input";
    case ErrorCode::Unsupported:
        return "unsupported";
    case ErrorCode::NotFound:
        return "not found";
    case ErrorCode::Conflict:
        return "conflict";
    case ErrorCode::Io:
        return "i/o error";
    case ErrorCode::Runtime:
        return "runtime error";
    case ErrorCode::Cancelled:
        return "cancelled";
    case ErrorCode::Internal:
        return "internal error";
    }
    return "error";
}

} // namespace sb
