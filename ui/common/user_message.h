// The GUI boundary: core errors become readable, translatable messages.
#pragma once

#include "core/common/result.h"

#include <QString>

namespace sb::ui {

// "Cannot import model: model.onnx: node 'x' ..." with the error's kind.
QString userMessage(const QString &action, const Error &error);

} // namespace sb::ui
