#include "ui/common/user_message.h"

#include <QCoreApplication>

namespace sb::ui {

QString userMessage(const QString &action, const Error &error)
{
    const QString detail = QString::fromStdString(error.message);
    switch (error.code) {
    case ErrorCode::Cancelled:
        return QCoreApplication::translate("sb", "%1 was cancelled.").arg(action);
    case ErrorCode::Unsupported:
        return QCoreApplication::translate("sb", "%1 is not supported: %2").arg(action, detail);
    case ErrorCode::Internal:
        return QCoreApplication::translate("sb", "%1 failed (internal error, please report): %2")
            .arg(action, detail);
    default:
        return QCoreApplication::translate("sb", "%1 failed: %2").arg(action, detail);
    }
}

} // namespace sb::ui
