// The Gantt chart of a run: one lane per stage (device), a box per
// micro-batch coloured by device, the bottleneck stage highlighted, and the
// measured bubble next to the ideal (p-1)/(m+p-1) in the header.
#pragma once

#include "ui/run/timeline_model.h"

#include <QWidget>

namespace sb::ui {

class TimelineView : public QWidget
{
    Q_OBJECT
public:
    explicit TimelineView(TimelineModel *model, QWidget *parent = nullptr);
    QSize sizeHint() const override { return {800, 220}; }
    QSize minimumSizeHint() const override { return {300, 120}; }

protected:
    void paintEvent(QPaintEvent *event) override;

private:
    TimelineModel *m_model;
};

} // namespace sb::ui
