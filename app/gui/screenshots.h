// `shardbench --screenshots DIR`: drives the main window through the
// acceptance walk with the demo model and data (open the decoder, move a block
// to the second device, run, evaluate the classifier on the demo CSVs, sign a
// checklist item, build the report) and saves each page as DIR/NN-page.png.
// Works with -platform offscreen. Returns the process exit code.
#pragma once

#include <QString>

namespace sb::ui {

int renderScreenshots(const QString &directory);

// Runs the event loop until `done()` or the timeout; false on timeout.
bool waitFor(const std::function<bool()> &done, int timeoutMs);

} // namespace sb::ui
