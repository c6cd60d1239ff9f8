// Measures how long the GUI thread goes without servicing its event loop: a
// QTimer fires every `interval` ms and records the worst gap between firings
// beyond the interval. Started around runs to report the worst stall.
#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>

namespace sb::ui {

class StallProbe : public QObject
{
    Q_OBJECT
public:
    explicit StallProbe(QObject *parent = nullptr, int intervalMs = 10);

    void start();
    void stop();
    bool isRunning() const { return m_timer.isActive(); }
    // Worst observed gap between timer firings, in ms (the stall a user feels).
    double worstGapMs() const { return m_worstGapMs; }
    int samples() const { return m_samples; }

private:
    void tick();

    QTimer m_timer;
    QElapsedTimer m_clock;
    qint64 m_lastNs = 0;
    double m_worstGapMs = 0;
    int m_samples = 0;
};

} // namespace sb::ui
