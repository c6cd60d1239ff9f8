#include "ui/common/stall_probe.h"

#include <algorithm>

namespace sb::ui {

StallProbe::StallProbe(QObject *parent, int intervalMs) : QObject(parent)
{
    m_timer.setInterval(intervalMs);
    m_timer.setTimerType(Qt::PreciseTimer);
    connect(&m_timer, &QTimer::timeout, this, &StallProbe::tick);
}

void StallProbe::start()
{
    m_worstGapMs = 0;
    m_samples = 0;
    m_clock.start();
    m_lastNs = 0;
    m_timer.start();
}

void StallProbe::stop()
{
    if (m_timer.isActive())
        tick();
    m_timer.stop();
}

void StallProbe::tick()
{
    const qint64 now = m_clock.nsecsElapsed();
    m_worstGapMs = std::max(m_worstGapMs, double(now - m_lastNs) / 1e6);
    m_lastNs = now;
    ++m_samples;
}

} // namespace sb::ui
